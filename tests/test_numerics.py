"""Numeric canaries for real: real settings on this machine change real bits.

What changes bits here (shared/drift-rules.md): OPENBLAS_NUM_THREADS 1 vs 2 and
OPENBLAS_CORETYPE on numpy's GEMM, NPY_DISABLE_CPU_FEATURES=X86_V3 on float32
transcendental functions, the thread count on torch's reductions. No digest is
written here by hand: every expectation compares two real runs.
"""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
import venv
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from envcheck.drift import diff
from envcheck.evidence import ulps
from envcheck.explain import explain
from envcheck.model import Fingerprint
from envcheck.probe.cpu import collect_cpu
from envcheck.probe.numerics import generator, run_child
from envcheck.render import ReportFormat
from envcheck.render.explain import render_text as render_report_explain
from envcheck.render.report import RenderOptions, render_report
from envcheck.rules import Severity

from conftest import run_envcheck

# Settings this machine's environment may already carry: every run states them.
CONTROLLED = {"OPENBLAS_CORETYPE": None, "OPENBLAS_NUM_THREADS": None, "OMP_NUM_THREADS": None,
              "NPY_DISABLE_CPU_FEATURES": None, "MKL_NUM_THREADS": None, "MKL_CBWR": None,
              "ONEDNN_MAX_CPU_ISA": None, "ATEN_CPU_CAPABILITY": None}
NUMPY_BLAS = ["numpy.matmul_float32", "numpy.matmul_float64", "numpy.dot_float64",
              "numpy.sum_float32"]
NUMPY_SIMD = ["numpy.exp_float32", "numpy.log_float32", "numpy.sin_float32",
              "numpy.tanh_float32"]


def measure(only: list[str] | None = None, flags: bool = False, python: str = sys.executable,
            **settings: str | None) -> dict[str, Any]:
    section = run_child(python, 300, env={**CONTROLLED, **settings}, only=only, flags=flags)
    assert section["errors"] == [], section["errors"]
    return section


def digests(section: dict[str, Any]) -> dict[str, str]:
    return {name: record["digest"] for name, record in section["canaries"].items()}


def fingerprint(section: dict[str, Any]) -> Fingerprint:
    return Fingerprint.from_dict({"schema": 1, "packages": {}, "errors": [], "meta": {},
                                  "numerics": section})


@pytest.fixture(scope="module")
def numpy_only_python(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A real venv whose only package is this environment's numpy (its files, linked), and
    no threadpoolctl: the canaries' own ctypes path to OpenBLAS."""
    root = tmp_path_factory.mktemp("numpy-venv")
    venv.EnvBuilder(with_pip=False).create(root / "env")
    packages = root / "packages"
    packages.mkdir()
    source = Path(np.__file__).parent.parent
    for entry in source.iterdir():
        if entry.name in ("numpy", "numpy.libs") or (entry.name.startswith("numpy-")
                                                      and entry.name.endswith(".dist-info")):
            (packages / entry.name).symlink_to(entry)
    site = next((root / "env" / "lib").glob("python3*/site-packages"))
    (site / "numpy-only.pth").write_text(f"{packages}\n")
    return str(root / "env" / "bin" / "python")


def test_generator_gives_the_same_integers_in_pure_python_and_numpy() -> None:
    for seed in (1, 2, 9):
        assert generator.ints(5000, seed) == generator.np_ints(5000, seed).tolist()
    values = generator.floats(3000, 4)
    assert np.array_equal(np.array(values, dtype=np.float64),
                          generator.np_floats(3000, 4, np.float64))


def test_ulps_count_representable_numbers_between_two_values() -> None:
    one = np.float32(1.0)
    after = np.nextafter(one, np.float32(2), dtype=np.float32)
    three_up = np.nextafter(np.nextafter(after, np.float32(2)), np.float32(2))
    assert ulps(float(one).hex(), float(three_up).hex(), "float32") == 3
    assert ulps(float(-after).hex(), float(after).hex(), "float32") == 2 * (
        struct.unpack("<I", struct.pack("<f", after))[0])
    assert ulps(1.0.hex(), float(np.nextafter(1.0, 2.0)).hex(), "float64") == 1


def test_the_same_environment_twice_gives_the_same_digests_and_flags() -> None:
    first = measure(only=NUMPY_BLAS + NUMPY_SIMD, flags=True)
    second = measure(only=NUMPY_BLAS + NUMPY_SIMD, flags=True)
    assert digests(first) == digests(second)
    assert set(digests(first)) == set(NUMPY_BLAS + NUMPY_SIMD)
    for record in first["canaries"].values():
        assert record["deterministic"] is True
        assert len(record["samples"]) == min(32, int(np.prod(record["shape"])))
    # thread_sensitive agrees with a run with OpenBLAS limited to one thread from the start.
    one = digests(measure(only=NUMPY_BLAS, OPENBLAS_NUM_THREADS="1"))
    for name in NUMPY_BLAS:
        assert first["canaries"][name]["thread_sensitive"] is (one[name] != digests(first)[name])
    assert any(first["canaries"][n]["thread_sensitive"] for n in NUMPY_BLAS)


def test_openblas_threads_are_a_breaking_measured_difference_with_its_causes() -> None:
    one = measure(only=NUMPY_BLAS, OPENBLAS_NUM_THREADS="1")
    two = measure(only=NUMPY_BLAS, OPENBLAS_NUM_THREADS="2")
    changed = {n for n in NUMPY_BLAS if digests(one)[n] != digests(two)[n]}
    assert "numpy.matmul_float64" in changed
    report = diff(fingerprint(one), fingerprint(two))
    measured = [c for c in report.changes if c.rule == "measured-difference"]
    assert {c.path for c in measured} == {f"numerics.canaries.{n}" for n in changed}
    assert all(c.severity is Severity.BREAKING for c in measured)
    assert all("numerics.settings.OPENBLAS_NUM_THREADS" in c.reason for c in measured)
    assert report.evidence is not None
    assert report.evidence.count("differs") == len(changed)
    assert report.evidence.count("identical") == len(NUMPY_BLAS) - len(changed)
    # The rule's judgement of the setting stays beside the measurement.
    setting = next(c for c in report.changes if c.path == "numerics.settings.OPENBLAS_NUM_THREADS")
    assert setting.severity is Severity.RISKY
    text = render_report(report, ReportFormat.TEXT, RenderOptions())
    assert f"{len(NUMPY_BLAS) - len(changed)} of {len(NUMPY_BLAS)} canaries bitwise identical" \
        in text
    for fmt in ReportFormat:
        rendered = render_report(report, fmt, RenderOptions())
        assert "numpy.matmul_float64" in rendered.replace("&#46;", ".").replace("&#95;", "_") \
            or (fmt is ReportFormat.GITHUB and "numpy.matmul_float64" in rendered)
        assert "canaries bitwise identical" in rendered.replace("&#32;", " ")


def test_openblas_core_type_changes_both_gemms_and_explain_names_it() -> None:
    base = measure(only=NUMPY_BLAS, OPENBLAS_CORETYPE="Sandybridge")
    here = measure(only=NUMPY_BLAS)
    assert digests(base)["numpy.matmul_float32"] != digests(here)["numpy.matmul_float32"]
    assert digests(base)["numpy.matmul_float64"] != digests(here)["numpy.matmul_float64"]

    def runner(python: str, timeout: float, env: Any = None, only: Any = None,
               flags: bool = True) -> dict[str, Any]:
        return run_child(python, timeout, env={**CONTROLLED, **(env or {})},
                         only=only or NUMPY_BLAS, flags=flags)

    answer = explain({"numerics": base}, "base.json", sys.executable, 300, runner=runner)
    causes = {c.name: c.cause for c in answer.canaries}
    assert causes["numpy.matmul_float32"] is not None
    assert causes["numpy.matmul_float32"].setting == "OPENBLAS_CORETYPE"
    assert causes["numpy.matmul_float32"].value == "Sandybridge"
    assert answer.fails("breaking") and not answer.fails("never")


def test_disabled_simd_features_change_transcendentals_and_explain_names_them() -> None:
    base = measure(only=NUMPY_SIMD, NPY_DISABLE_CPU_FEATURES="X86_V3")
    here = measure(only=NUMPY_SIMD)
    changed = [n for n in NUMPY_SIMD if digests(base)[n] != digests(here)[n]]
    assert changed == NUMPY_SIMD
    assert set(here["runtime"]["numpy"]["simd_dispatched"]) > set(
        base["runtime"]["numpy"]["simd_dispatched"])

    def runner(python: str, timeout: float, env: Any = None, only: Any = None,
               flags: bool = True) -> dict[str, Any]:
        return run_child(python, timeout, env={**CONTROLLED, **(env or {})},
                         only=only or NUMPY_SIMD, flags=flags)

    answer = explain({"numerics": base}, "base", sys.executable, 300, runner=runner)
    assert {c.cause.setting for c in answer.canaries if c.cause} == {"NPY_DISABLE_CPU_FEATURES"}
    assert all(c.cause for c in answer.canaries)


def _runner(names: list[str]) -> Any:
    def runner(python: str, timeout: float, env: Any = None, only: Any = None,
               flags: bool = True) -> dict[str, Any]:
        return run_child(python, timeout, env={**CONTROLLED, **(env or {})},
                         only=only or names, flags=flags)
    return runner


# An AVX2 CPU's flags as the probe records them (no AVX-512): what an AVX2 machine's
# fingerprint says about its CPU.
AVX2_CPU = {"flags": ["sse4_2", "avx", "avx2", "fma", "f16c"], "usable_cores": 2}


def test_explain_tries_settings_base_never_set_at_what_its_cpu_implies() -> None:
    """BASE ran on an AVX2 machine, which runs OpenBLAS's Haswell kernel and oneDNN's AVX2
    code with nothing set. Its bits are emulated here with those two settings; its
    fingerprint says what that machine's would: neither set, its CPU's flags, and no
    runtime as loaded (an older envcheck). This machine (AVX-512) must try both."""
    here_cpu = collect_cpu()
    assert "avx512f" in here_cpu["flags"], "the emulation needs a CPU above AVX2"
    names = ["numpy.matmul_float64", "torch.conv2d_float32"]
    base = measure(only=names, OPENBLAS_CORETYPE="Haswell", ONEDNN_MAX_CPU_ISA="AVX2")
    here = measure(only=names)
    assert all(digests(base)[n] != digests(here)[n] for n in names)
    base["settings"].update(OPENBLAS_CORETYPE=None, ONEDNN_MAX_CPU_ISA=None)
    del base["runtime"]
    answer = explain({"numerics": base, "cpu": AVX2_CPU}, "avx2", sys.executable, 300,
                     runner=_runner(names), here_cpu=here_cpu)
    causes = {c.name: c.cause for c in answer.canaries}
    assert causes["numpy.matmul_float64"] == ("OPENBLAS_CORETYPE", "Haswell", True)
    assert causes["torch.conv2d_float32"] == ("ONEDNN_MAX_CPU_ISA", "AVX2", True)
    # Each setting reran only the canaries of the frameworks that read it.
    assert not any(t.setting == "ATEN_CPU_CAPABILITY" for t in answer.tried)
    text = render_report_explain(answer)
    assert "cause found: ONEDNN_MAX_CPU_ISA=AVX2 reproduces avx2's bits (not recorded on avx2" \
        in text


def test_explain_tries_a_thread_count_and_mkl_cbwr_base_did_not_record() -> None:
    """A one-core BASE whose fingerprint lacks the runtime as loaded, and a BASE that ran
    with MKL_CBWR=COMPATIBLE from a fingerprint that does not record MKL_CBWR at all."""
    numpy_names, torch_names = ["numpy.matmul_float64"], ["torch.matmul_float32"]
    one_core = measure(only=numpy_names, OPENBLAS_NUM_THREADS="1")
    del one_core["settings"]["OPENBLAS_NUM_THREADS"], one_core["runtime"]
    answer = explain({"numerics": one_core, "cpu": {"usable_cores": 1}}, "one-core",
                     sys.executable, 300, runner=_runner(numpy_names), here_cpu={})
    assert answer.canaries and all(
        c.cause == ("OPENBLAS_NUM_THREADS", "1", True) for c in answer.canaries)
    compatible = measure(only=torch_names, MKL_CBWR="COMPATIBLE")
    assert digests(compatible) != digests(measure(only=torch_names))
    del compatible["settings"]["MKL_CBWR"]
    answer = explain({"numerics": compatible}, "cbwr", sys.executable, 300,
                     runner=_runner(torch_names), here_cpu={})
    assert [c.cause for c in answer.canaries] == [("MKL_CBWR", "COMPATIBLE", True)]


def test_torch_thread_count_changes_what_the_one_thread_flag_says() -> None:
    names = ["torch.sum_float32", "torch.linear_float32", "torch.matmul_float32",
             "torch.softmax_float32"]
    two = measure(only=names, flags=True, OMP_NUM_THREADS="2")
    one = measure(only=names, OMP_NUM_THREADS="1")
    assert two["runtime"]["torch"]["num_threads"] == 2
    assert one["runtime"]["torch"]["num_threads"] == 1
    sensitive = {n for n in names if two["canaries"][n]["thread_sensitive"]}
    assert sensitive == {n for n in names if digests(one)[n] != digests(two)[n]}
    assert sensitive  # the reduction splits over threads here


def test_tensorflow_onednn_switch_and_jax_canaries_run_for_real() -> None:
    names = ["tensorflow.matmul_float32", "tensorflow.conv2d_float32",
             "tensorflow.reduce_sum_float32", "tensorflow.stateless_normal", "jax.dot_float32",
             "jax.random_normal"]
    on = measure(only=names, TF_ENABLE_ONEDNN_OPTS="1")
    off = measure(only=names[:4], TF_ENABLE_ONEDNN_OPTS="0")
    assert on["runtime"]["tensorflow"]["onednn_enabled"] is True
    assert off["runtime"]["tensorflow"]["onednn_enabled"] is False
    assert set(digests(on)) == set(names)
    assert on["runtime"]["jax"]["backend"] == "cpu"
    report = diff(fingerprint(off), fingerprint(on))
    assert any(c.path == "numerics.runtime.tensorflow.onednn_enabled"
               and c.severity is Severity.BREAKING for c in report.changes)
    differing = {n for n in names[:4] if digests(on)[n] != digests(off)[n]}
    assert {c.path for c in report.changes if c.rule == "measured-difference"} == {
        f"numerics.canaries.{n}" for n in differing}


def test_a_canary_that_outlives_the_timeout_is_an_error_and_the_rest_is_kept() -> None:
    section = run_child(sys.executable, 2.0, env=CONTROLLED)
    kinds = [e["kind"] for e in section["errors"]]
    assert kinds == ["timeout"], section["errors"]
    assert "did not finish within 2 s" in section["errors"][0]["message"]
    assert "settings" in section and section["settings"]["OPENBLAS_CORETYPE"] is None


def test_numerics_is_not_part_of_id_and_numerics_id_is_recomputed() -> None:
    a = measure(only=["numpy.matmul_float64"], OPENBLAS_NUM_THREADS="1")
    b = measure(only=["numpy.matmul_float64"], OPENBLAS_NUM_THREADS="2")
    fa, fb = fingerprint(a), fingerprint(b)
    assert fa.id == fb.id
    assert fa.data["numerics_id"] != fb.data["numerics_id"]
    forged = dict(fa.data, numerics_id="0" * 64)
    assert Fingerprint.from_dict(forged).data["numerics_id"] == fa.data["numerics_id"]


def test_an_interpreter_without_frameworks_and_python38_measure_nothing_quietly(
        python38: str) -> None:
    section = run_child(python38, 120)
    assert section["canaries"] == {}
    assert section["errors"] == []
    assert "OPENBLAS_NUM_THREADS" in section["settings"]


def test_done_when_snapshot_diff_and_explain_through_the_cli(
        numpy_only_python: str, tmp_path: Path) -> None:
    """The issue's literal check, in a real venv that has numpy alone."""
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    for path, threads in ((a, "1"), (b, None)):
        # Every thread and kernel setting is controlled: an earlier test (a Ray driver,
        # say) may have left OMP_NUM_THREADS=1 in this process's environment.
        env = {k: v for k, v in os.environ.items() if k not in CONTROLLED}
        if threads:
            env["OPENBLAS_NUM_THREADS"] = threads
        done = subprocess.run([sys.executable, "-m", "envcheck", "snapshot", "--numerics",
                               "--python", numpy_only_python, "-o", str(path), "--no-save"],
                              capture_output=True, text=True, env=env, timeout=300, check=False)
        assert done.returncode == 0, done.stderr
    document = json.loads(a.read_text())
    assert "numpy.matmul_float64" in document["numerics"]["canaries"]
    # No threadpoolctl in that venv: OpenBLAS was found through ctypes.
    assert any(p.get("api") == "openblas" and p.get("num_threads") == 1
               for p in document["numerics"]["runtime"]["blas"])
    result = run_envcheck("diff", str(a), str(b), env={"NO_COLOR": "1"})
    assert result.returncode == 1, result.stderr
    breaking = result.stdout.split("RISKY")[0]
    assert "numerics.canaries.numpy.matmul_float64" in breaking
    assert "measured-difference" in breaking
    assert "canaries bitwise identical" in result.stdout
    env = {"OPENBLAS_NUM_THREADS": "2"}
    explained = run_envcheck("explain", str(a), "--python", numpy_only_python, env=env)
    assert explained.returncode == 1, explained.stderr
    assert "cause found: OPENBLAS_NUM_THREADS=1" in explained.stdout
    as_json = json.loads(run_envcheck("explain", str(a), "--python", numpy_only_python,
                                      "--format", "json", env=env).stdout)
    assert {c["cause"]["setting"] for c in as_json["canaries"]} == {"OPENBLAS_NUM_THREADS"}
    no_numerics = run_envcheck("explain", str(tmp_path / "missing.json"))
    assert no_numerics.returncode == 3 and no_numerics.stderr.count("\n") == 1


@pytest.fixture(scope="module")
def live_numerics(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Fingerprint]:
    """One full snapshot with every installed framework's canaries, taken by a fresh
    process: what it imported itself, and the fingerprint."""
    out = tmp_path_factory.mktemp("live") / "fp.json"
    code = ("import sys, envcheck\n"
            "fp = envcheck.snapshot(numerics=True, numerics_timeout=600)\n"
            f"open({str(out)!r}, 'w').write(fp.to_json())\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('numpy', 'torch', 'tensorflow', 'jax', 'threadpoolctl')))\n")
    env = dict(os.environ)
    env.pop("OPENBLAS_CORETYPE", None)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=env, timeout=900, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout.strip(), Fingerprint.from_dict(json.loads(out.read_text()))


def test_snapshot_with_numerics_imports_no_framework_in_envcheck_itself(
        live_numerics: tuple[str, Fingerprint]) -> None:
    imported, fp = live_numerics
    assert imported == "[]"
    canaries = fp.data["numerics"]["canaries"]
    for framework in ("numpy", "torch", "tensorflow", "jax"):
        assert any(name.startswith(framework + ".") for name in canaries), (framework, fp.errors)
    assert not [e for e in fp.errors if str(e.get("section")).startswith("numerics")]


def test_hostile_canary_names_are_escaped_in_markdown() -> None:
    section = measure(only=["numpy.dot_float64"])
    other = json.loads(json.dumps(section))
    record = other["canaries"].pop("numpy.dot_float64")
    other["canaries"]["<img src=x onerror=alert(1)>|@team"] = record
    report = diff(fingerprint(section), fingerprint(other))
    rendered = render_report(report, ReportFormat.MARKDOWN, RenderOptions())
    assert "<img" not in rendered and "@team" not in rendered
    assert "not measured" in rendered.lower().replace("&#32;", " ")


def test_audit_names_a_library_loaded_other_than_the_one_on_disk(
        live_numerics: tuple[str, Fingerprint]) -> None:
    from envcheck.audit import audit

    fp = live_numerics[1]  # the numpy it loads is the one its files describe
    assert not [c for c in audit(fp).findings if c.check == "audit-loaded-mismatch"]
    static = fp.data["frameworks"]["numpy"]["blas_version"]
    data = json.loads(fp.to_json())
    data["frameworks"]["numpy"]["blas_version"] = "0.3.20"  # as if another wheel's files
    [finding] = [c for c in audit(Fingerprint.from_dict(data)).findings
                 if c.check == "audit-loaded-mismatch"]
    assert (finding.path, finding.now, finding.suggested, finding.severity) == (
        "frameworks.numpy.blas_version", "0.3.20", static, Severity.BREAKING)
    from envcheck.render.snapshot_text import render_snapshot

    assert f"numerics id {fp.data['numerics_id'][:12]}" in render_snapshot(fp)


def test_diff_weighs_each_sides_files_against_the_library_it_loaded(
        live_numerics: tuple[str, Fingerprint]) -> None:
    """The same files but another library loaded (breaking), and other files but the same
    library loaded (risky: one side's files do not describe what it runs). No second
    OpenBLAS with numpy's soname exists here to be loaded for real, so one side's record is
    edited, as audit's test above edits the files' version."""
    import copy

    fp = live_numerics[1]
    data = json.loads(fp.to_json())
    static = data["frameworks"]["numpy"]["blas_version"]
    assert not [c for c in diff(fp, fp).changes if c.path.startswith("numerics.loaded.")]

    other_loaded = copy.deepcopy(data)
    pool = next(p for p in other_loaded["numerics"]["runtime"]["blas"]
                if "/numpy" in p["file"] and p["user_api"] == "blas")
    pool["version"] = "0.3.20"
    report = diff(fp, Fingerprint.from_dict(other_loaded))
    [change] = [c for c in report.changes
                if c.path == "numerics.loaded.frameworks.numpy.blas_version"]
    assert (change.rule, change.severity, change.before, change.after) == (
        "loaded-not-the-files", Severity.BREAKING, static, "0.3.20")
    assert f"the files say {static} on both sides" in change.reason

    other_files = copy.deepcopy(data)
    other_files["frameworks"]["numpy"]["blas_version"] = "0.3.20"
    report = diff(fp, Fingerprint.from_dict(other_files))
    [change] = [c for c in report.changes
                if c.path == "numerics.loaded.frameworks.numpy.blas_version"]
    assert (change.rule, change.severity, change.before, change.after) == (
        "files-not-loaded", Severity.RISKY, static, "0.3.20")
    assert f"but both sides loaded {static}" in change.reason
    for fmt in ReportFormat:  # every renderer shows it
        rendered = render_report(report, fmt, RenderOptions()).replace("&#46;", ".").replace(
            "&#95;", "_")
        assert "loaded.frameworks.numpy.blas_version" in rendered, fmt


GPU_CANARIES = ["torch.cuda.matmul_float32", "torch.cuda.bmm_float16", "torch.cuda.conv2d_float32"]


def test_gpu_canaries_are_selected_exactly_where_torch_sees_a_gpu() -> None:
    """Asked for by name, the GPU canaries run where torch sees a CUDA device and are left
    out quietly (no error, no ``gpu`` runtime) where it does not: this machine has none."""
    import torch

    section = measure(only=["torch.sum_float32", *GPU_CANARIES])
    gpu = torch.cuda.is_available()
    assert {n for n in section["canaries"] if n.startswith("torch.cuda.")} == (
        set(GPU_CANARIES) if gpu else set())
    assert ("gpu" in section["runtime"]) is gpu
    assert "torch.sum_float32" in section["canaries"]


def test_the_gpu_canaries_computations_run_on_the_cpu_here() -> None:
    """Without a GPU, the GPU canaries' own code runs on the CPU: their inputs, shapes,
    dtypes and the record ``measure`` makes of them. The code path up to the device, not a
    GPU's bits: nothing here is kept as a GPU result (tools/gpu_capture.sh does that)."""
    from envcheck.probe.numerics import gpu_torch
    from envcheck.probe.numerics.canary import measure as measure_canary

    found = gpu_torch.canaries("cpu")
    assert [name for name, _, _ in found] == GPU_CANARIES
    shapes = {"torch.cuda.matmul_float32": ([257, 251], "float32"),
              "torch.cuda.bmm_float16": ([8, 129, 127], "float16"),
              "torch.cuda.conv2d_float32": ([2, 24, 33, 35], "float32")}
    for name, compute, limiter in found:
        record = measure_canary(compute, limiter, flags=True)
        assert (record["shape"], record["dtype"]) == shapes[name]
        assert record["deterministic"] is True and record["thread_sensitive"] is None
        assert len(record["samples"]) == 32
        assert all(isinstance(float.fromhex(s["value"]), float) for s in record["samples"])


@pytest.mark.gpu
def test_gpu_canaries_on_a_real_gpu() -> None:
    """On a GPU: every GPU canary measured, run-to-run determinism recorded, the CUDA
    libraries torch loaded, and TF32 (allowed for cuBLAS by torch's override, on compute
    capability 8.0 and newer) making the float32 matmul compute other bits."""
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("no GPU on this machine")
    strict = measure(only=GPU_CANARIES, flags=True, NVIDIA_TF32_OVERRIDE="0",
                     TORCH_ALLOW_TF32_CUBLAS_OVERRIDE=None)
    assert set(strict["canaries"]) == set(GPU_CANARIES)
    assert all(isinstance(r["deterministic"], bool) for r in strict["canaries"].values())
    gpu = strict["runtime"]["gpu"]
    assert gpu["tf32_matmul_effective"] is False and gpu["cuda_runtime"] and gpu["devices"]
    if torch.cuda.get_device_capability(0) >= (8, 0):
        tf32 = measure(only=GPU_CANARIES, NVIDIA_TF32_OVERRIDE=None,
                       TORCH_ALLOW_TF32_CUBLAS_OVERRIDE="1")
        assert tf32["runtime"]["gpu"]["tf32_matmul_effective"] is True
        assert digests(tf32)["torch.cuda.matmul_float32"] != \
            digests(strict)["torch.cuda.matmul_float32"]


def test_explain_markdown_has_its_own_comment_marker() -> None:
    """``envcheck comment`` finds a comment by the report's first line: an explain posted
    to a pull request must not overwrite the diff's comment there (issue 13, finding 10)."""
    from envcheck.model.explanation import CanaryExplanation, Candidate, Explanation
    from envcheck.pr_comment import comment_marker
    from envcheck.render.explain import render_explanation

    explanation = Explanation("a.json", "0" * 64, "1" * 64, [CanaryExplanation(
        "numpy.dot_float64", "1 of 1 samples differ", Candidate("OPENBLAS_NUM_THREADS", "1"))],
        [Candidate("OPENBLAS_NUM_THREADS", "1")], 3, [])
    markdown = render_explanation(explanation, ReportFormat.MARKDOWN)
    assert markdown.startswith("<!-- envcheck-report:explain -->\n")
    assert comment_marker(markdown) == "<!-- envcheck-report:explain -->"
