"""verify_ranks on real ranks: separate processes joined by torch.distributed (gloo) on localhost.

Each scenario starts a small worker script once per rank, as a launcher would, and
reads back what each rank saw (a report, a DriftError, a RankTimeoutError).
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

import envcheck
from envcheck import distributed
from envcheck.distributed import (
    NotInitializedError,
    RankTimeoutError,
    _arrive,
    _barrier_ranks,
    drift_summary,
    timeout_message,
    verify_ranks,
)
from envcheck.errors import UsageError
from envcheck.fleet import FleetReport, compare
from envcheck.model import Fingerprint
from envcheck.render.ranks import describe_ranks, drift_message, render_ranks
from training import free_port

from conftest import ROOT
from distbuild import make_dist

HOST = platform.node()
WALL_BOUND_S = 120.0  # generous: a bound on hanging, not a timing test

WORKER = r'''
import datetime, json, os, sys, time

import torch.distributed as dist

import envcheck.distributed as ed
import envcheck.render.ranks as er
from envcheck.errors import DriftError, UsageError

out, mode, verify_timeout = sys.argv[1], sys.argv[2], float(sys.argv[3])
rank = int(os.environ["RANK"])
dist.init_process_group("gloo", timeout=datetime.timedelta(seconds=90))
if mode == "absent" and rank == 2:
    time.sleep(600)  # joined the job, but never reaches the check (the test kills it)
result = {"rank": rank}
started = time.monotonic()
try:
    if mode == "numerics":
        # Real canaries, numpy's only (the full set imports every framework: slow).
        import envcheck
        from envcheck.model import Fingerprint
        from envcheck.probe.numerics import run_child
        data = envcheck.snapshot().data
        data["numerics"] = run_child(sys.executable, 120, only=["numpy.*"], flags=False)
        report = ed.verify_ranks(timeout=verify_timeout, numerics=True,
                                 fingerprint=Fingerprint.from_dict(data))
    else:
        report = ed.verify_ranks(timeout=verify_timeout)
except DriftError as exc:
    # The caller renders the comparison the error carries; the error says one line.
    result.update(outcome="drift", message=er.drift_message(exc.report), summary=str(exc),
                  report=exc.report.to_dict())
except ed.RankTimeoutError as exc:
    result.update(outcome="timeout", message=str(exc), missing=exc.missing)
else:
    result.update(outcome="ok", report=report.to_dict(), text=er.render_ranks(report))
result["seconds"] = round(time.monotonic() - started, 2)
if mode == "drift":
    # A subgroup of the two odd ranks; the others are not members and must say so.
    subgroup = dist.new_group([1, 2])
    try:
        sub = ed.verify_ranks(fail_on="never", group=subgroup, timeout=verify_timeout)
    except UsageError as exc:
        result["subgroup"] = {"outcome": "usage", "message": str(exc)}
    else:
        result["subgroup"] = {"outcome": "ok", "report": sub.to_dict()}
with open(out + ".tmp", "w") as handle:
    json.dump(result, handle)
os.replace(out + ".tmp", out)
if result["outcome"] != "timeout":
    dist.barrier()  # rank 0 holds the job's store: none leaves while another still needs it
    dist.destroy_process_group()
'''


@pytest.fixture(scope="module")
def gloo() -> None:
    dist = pytest.importorskip("torch.distributed")
    if not dist.is_available() or not dist.is_gloo_available():
        pytest.skip("this torch has no gloo backend")


def _base_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("TF_DETERMINISTIC_OPS", "PYTHONPATH", "RANK", "WORLD_SIZE",
                        "MASTER_ADDR", "MASTER_PORT", "LOCAL_RANK")}
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def run_ranks(tmp_path: Path, world: int, *, mode: str = "all", verify_timeout: float = 60.0,
              extra_env: Mapping[int, Mapping[str, str]] | None = None,
              finishing: tuple[int, ...] | None = None,
              python: str = sys.executable) -> dict[int, dict[str, Any]]:
    """Start ``world`` ranks; wait for the ``finishing`` ones; kill every process at the end."""
    worker = tmp_path / "worker.py"
    worker.write_text(WORKER)
    port = str(free_port())
    finishing = tuple(range(world)) if finishing is None else finishing
    procs: dict[int, subprocess.Popen[bytes]] = {}
    logs: dict[int, Path] = {}
    try:
        for rank in range(world):
            env = _base_env()
            env.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=port, WORLD_SIZE=str(world),
                       RANK=str(rank))
            env.update((extra_env or {}).get(rank, {}))
            logs[rank] = tmp_path / f"rank{rank}.log"
            with open(logs[rank], "wb") as log:
                procs[rank] = subprocess.Popen(
                    [python, str(worker), str(tmp_path / f"rank{rank}.json"), mode,
                     str(verify_timeout)],
                    env=env, stdout=log, stderr=subprocess.STDOUT, cwd=tmp_path)
        deadline = time.monotonic() + WALL_BOUND_S
        for rank in finishing:
            try:
                procs[rank].wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pytest.fail(f"rank {rank} still running after {WALL_BOUND_S:g} s:\n"
                            + logs[rank].read_text(errors="replace")[-3000:])
        results: dict[int, dict[str, Any]] = {}
        for rank in finishing:
            assert procs[rank].returncode == 0, logs[rank].read_text(errors="replace")[-3000:]
            results[rank] = json.loads((tmp_path / f"rank{rank}.json").read_text())
        return results
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.kill()
        for proc in procs.values():
            proc.wait(timeout=30)


# ---- real ranks -----------------------------------------------------------------------

def test_identical_ranks_pass_as_one_group(tmp_path: Path, gloo: None) -> None:
    # Each rank sees its own GPU, as launchers arrange: that is not drift.
    results = run_ranks(tmp_path, 3, extra_env={
        rank: {"CUDA_VISIBLE_DEVICES": str(rank)} for rank in range(3)})
    assert sorted(results) == [0, 1, 2]
    reports = [r["report"] for r in results.values()]
    assert all(r["outcome"] == "ok" for r in results.values()), results
    assert all(report == reports[0] for report in reports)  # the same verdict everywhere
    groups = reports[0]["groups"]
    assert len(groups) == 1
    assert groups[0]["members"] == [f"rank {r} ({HOST})" for r in range(3)]
    assert reports[0]["outliers"] == []
    assert results[0]["text"].startswith("envcheck: all 3 ranks share one environment")


def test_numerics_names_the_rank_that_computes_differently(tmp_path: Path,
                                                           gloo: None) -> None:
    # NPY_DISABLE_CPU_FEATURES is recorded (a rule judges the setting) and changes
    # numpy's float32 sin here (the canaries measure it): the rank's report carries both.
    results = run_ranks(tmp_path, 3, mode="numerics",
                        extra_env={1: {"NPY_DISABLE_CPU_FEATURES": "X86_V3"}})
    assert all(r["outcome"] == "drift" for r in results.values()), results
    report = results[0]["report"]
    assert [g["members"] for g in report["groups"]] == [
        [f"rank 0 ({HOST})", f"rank 2 ({HOST})"], [f"rank 1 ({HOST})"]]
    [outlier] = report["outliers"]
    assert "env.NPY_DISABLE_CPU_FEATURES" in {c["path"] for c in outlier["changes"]}
    measured = {c["path"] for c in outlier["changes"] if c["rule"] == "measured-difference"}
    assert "numerics.canaries.numpy.sin_float32" in measured
    assert f"rank 1 ({HOST})" in results[0]["message"].splitlines()[0]


def _venv_without_numpy(where: Path) -> str:
    """A real virtual environment holding this one's packages but numpy (torch does not
    need numpy; its object collectives do): each package linked, envcheck's source on
    the path."""
    import sysconfig
    import venv

    venv.create(where, with_pip=False)
    python = where / "bin" / "python"
    shared = where / "shared"
    shared.mkdir()
    for entry in Path(sysconfig.get_paths()["purelib"]).iterdir():
        if not entry.name.lower().startswith("numpy") and not entry.name.endswith(".pth"):
            (shared / entry.name).symlink_to(entry)
    site = subprocess.run([str(python), "-c", "import sysconfig; "
                           "print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()
    (Path(site) / "shared.pth").write_text(f"{shared}\n{ROOT / 'src'}\n")
    return str(python)


def test_ranks_without_numpy(tmp_path: Path, gloo: None) -> None:
    """torch's all_gather_object needs numpy; verify_ranks must not (issue 13, 15)."""
    python = _venv_without_numpy(tmp_path / "venv")
    no_numpy = subprocess.run([python, "-c", "import numpy"], capture_output=True, check=False)
    assert no_numpy.returncode != 0  # really without numpy
    results = run_ranks(tmp_path, 3, mode="drift", python=python,
                        extra_env={2: {"TF_DETERMINISTIC_OPS": "1"}})
    assert all(r["outcome"] == "drift" for r in results.values()), results
    assert all("rank 2" in r["message"] and "TF_DETERMINISTIC_OPS" in r["message"]
               for r in results.values())


def test_every_rank_raises_naming_the_differing_ranks(tmp_path: Path, gloo: None) -> None:
    site = tmp_path / "site"
    make_dist(site, "lightgbm", "4.5.0")  # a package the test environment lacks
    results = run_ranks(tmp_path, 4, mode="drift", extra_env={
        1: {"PYTHONPATH": str(site)},
        2: {"TF_DETERMINISTIC_OPS": "1"},
    })
    assert sorted(results) == [0, 1, 2, 3]
    assert all(r["outcome"] == "drift" for r in results.values()), results
    reports = [r["report"] for r in results.values()]
    messages = [r["message"] for r in results.values()]
    assert all(report == reports[0] for report in reports)
    assert all(message == messages[0] for message in messages)

    report = reports[0]
    assert report["baseline"]["member"] == f"rank 0 ({HOST})"
    assert [g["members"] for g in report["groups"]] == [
        [f"rank 0 ({HOST})", f"rank 3 ({HOST})"], [f"rank 1 ({HOST})"], [f"rank 2 ({HOST})"]]
    outliers = {o["members"][0]: o["changes"] for o in report["outliers"]}
    assert set(outliers) == {f"rank 1 ({HOST})", f"rank 2 ({HOST})"}
    [env_change] = outliers[f"rank 2 ({HOST})"]
    assert (env_change["path"], env_change["before"], env_change["after"],
            env_change["severity"]) == ("env.TF_DETERMINISTIC_OPS", None, "1", "breaking")
    [package_change] = outliers[f"rank 1 ({HOST})"]
    assert (package_change["path"], package_change["kind"], package_change["before"],
            package_change["after"]) == ("packages.lightgbm", "added", None, "4.5.0")

    headline = messages[0].splitlines()[0]
    assert headline.startswith(
        f"ranks 1, 2 ({HOST}) differ from the majority of 2 ranks (ranks 0, 3 ({HOST})): ")
    assert f"rank 2 ({HOST}): env.TF_DETERMINISTIC_OPS: (none) -> 1 [breaking]" in headline
    assert f"rank 1 ({HOST}): packages.lightgbm: (none) -> 4.5.0" in headline
    assert f"majority: ranks 0, 3 ({HOST})" in messages[0]
    summaries = {r["summary"] for r in results.values()}
    assert len(summaries) == 1
    [summary] = summaries
    assert summary.startswith("ranks 1, 2 of 4 differ from the majority (ranks 0, 3): ")
    assert "\n" not in summary and HOST not in summary

    # The job's process group still works after the DriftError, and groups are honoured:
    # between ranks 1 and 2 alone it is a tie, so the lowest rank is the baseline.
    for rank in (0, 3):
        assert results[rank]["subgroup"]["outcome"] == "usage"
        assert f"rank {rank} is not a member" in results[rank]["subgroup"]["message"]
    sub = results[1]["subgroup"]
    assert sub == results[2]["subgroup"]
    assert sub["outcome"] == "ok"
    assert sub["report"]["baseline"]["member"] == f"rank 1 ({HOST})"
    [outlier] = sub["report"]["outliers"]
    assert outlier["members"] == [f"rank 2 ({HOST})"]
    assert sorted((c["path"], c["before"], c["after"]) for c in outlier["changes"]) == [
        ("env.TF_DETERMINISTIC_OPS", None, "1"), ("packages.lightgbm", "4.5.0", None)]


def test_a_rank_that_never_arrives_is_named_on_every_rank(tmp_path: Path, gloo: None) -> None:
    # Rank 2 joins the job (init_process_group needs every rank) but never calls verify_ranks.
    started = time.monotonic()
    results = run_ranks(tmp_path, 3, mode="absent", verify_timeout=5.0, finishing=(0, 1))
    assert time.monotonic() - started < WALL_BOUND_S
    for rank in (0, 1):
        assert results[rank]["outcome"] == "timeout", results[rank]
        assert results[rank]["missing"] == [2]
        assert results[rank]["message"] == (
            "rank 2 of 3 did not reach envcheck.distributed.verify_ranks within 5 s")


# ---- in one process ---------------------------------------------------------------------

def test_import_does_not_import_torch() -> None:
    code = ("import sys, envcheck.distributed; "
            "print(sorted(m for m in sys.modules if m == 'torch' or m.startswith('torch.')))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, check=True)
    assert done.stdout.strip() == "[]"


def test_needs_an_initialised_process_group(gloo: None) -> None:
    with pytest.raises(NotInitializedError, match=r"call torch\.distributed\.init_process_group"):
        verify_ranks()


def test_rejects_an_unknown_fail_on() -> None:
    with pytest.raises(UsageError, match="fail_on must be one of"):
        verify_ranks(fail_on="sometimes")


def test_without_monitored_barrier_waits_on_the_store_and_names_missing_ranks(
        gloo: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """Backends other than gloo (NCCL) have no monitored_barrier: arrival keys instead."""
    import torch.distributed as dist

    store = dist.HashStore()  # type: ignore[attr-defined]
    fake = SimpleNamespace(
        Backend=dist.Backend, get_backend=lambda group: "nccl",
        distributed_c10d=SimpleNamespace(_get_default_store=lambda: store))
    ranks = [0, 1, 2, 3]
    for rank in (0, 2):  # ranks 0 and 2 arrive (in this process, one after the other)
        monkeypatch.setattr(distributed, "_calls", {})  # as if each were its own process
        with pytest.raises(RankTimeoutError) as caught:
            _arrive(fake, None, ranks, rank, timeout=0.2)
    assert caught.value.missing == [1, 3]
    assert str(caught.value) == (
        "ranks 1, 3 of 4 did not reach envcheck.distributed.verify_ranks within 0.2 s")


def test_monitored_barrier_message_names_ranks() -> None:
    assert _barrier_ranks("[Rank 0]: Ranks 2, 5 failed to pass monitoredBarrier in 5000 ms") \
        == [2, 5]
    assert _barrier_ranks("Rank 1 successfully reached monitoredBarrier, but ...") == []
    assert timeout_message([], 8, 30.0, RuntimeError("Connection closed by peer\nmore")) == (
        "not every rank of 8 reached envcheck.distributed.verify_ranks within 30 s: "
        "Connection closed by peer")


# ---- text ---------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def live() -> Fingerprint:
    return envcheck.snapshot()


def _variant(base: Fingerprint, **env: str | None) -> Fingerprint:
    document = json.loads(base.to_json())
    document["env"] = {**document["env"], **env}
    return Fingerprint.from_dict(document)


def _fleet(members: list[tuple[int, str, Fingerprint]]) -> FleetReport:
    def loader(fingerprint: Fingerprint) -> Callable[[], Fingerprint]:
        return lambda: fingerprint

    return compare([(f"rank {rank} ({host})", loader(fp)) for rank, host, fp in members])


def test_rank_lists_stay_short_on_a_thousand_ranks() -> None:
    names = [f"rank {r} (host-{r // 500})" for r in range(1000) if r != 7]
    assert describe_ranks(names) == "ranks 0-6, 8-499 (host-0); 500-999 (host-1)"
    assert describe_ranks(["rank 4 (node\x1b[31m)"]) == "rank 4 (node\\x1b[31m)"
    many = [f"rank {r} (h{r})" for r in range(20)]
    assert describe_ranks(many, max_hosts=3) == "ranks 0 (h0); 1 (h1); 2 (h2); 17 more hosts"


def test_render_and_message_for_one_odd_host(live: Fingerprint) -> None:
    odd = _variant(live, TF_DETERMINISTIC_OPS="1", OMP_NUM_THREADS="3")
    members = [(r, "host-a", live) for r in range(4)] + [(4, "host-b", odd)]
    report = _fleet(members)
    message = drift_message(report)
    headline, _, rest = message.partition("\n")
    assert headline.startswith(
        "rank 4 (host-b) differs from the majority of 4 ranks (ranks 0-3 (host-a)): "
        "env.TF_DETERMINISTIC_OPS: (none) -> 1 [breaking]")
    assert rest + "\n" == render_ranks(report)
    # What verify_ranks raises with: one line of rank numbers and counts, no host names.
    assert drift_summary(report) == ("rank 4 of 5 differs from the majority (ranks 0-3): "
                                     "1 breaking, 1 risky, 0 benign; the comparison is the "
                                     "error's report")
    assert rest.startswith("envcheck: 5 ranks, 2 distinct environments\n"
                           "  majority: ranks 0-3 (host-a) [4 ranks, ")
    assert "  differs: rank 4 (host-b) [1 rank, " in rest
    assert "    env.TF_DETERMINISTIC_OPS: (none) -> 1 [breaking]\n" in rest
    same = _fleet([(r, "host-a", live) for r in range(2)])
    assert render_ranks(same) == (
        f"envcheck: all 2 ranks share one environment ({live.id[:12]})\n")
