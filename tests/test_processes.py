"""One subprocess and signal policy (issue 13, findings 6, 8, 9 and 14).

Real children, real signals: a flooding probe, a probe that leaves a background
grandchild, SIGTERM/SIGHUP/SIGINT while a probe runs, Ctrl-C while click loads,
and a reader (``head``) that goes away.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from envcheck.processes import OutputTooLarge, ProcessTimeout, run_bounded

from conftest import DATA, run_envcheck


def _script(path: Path, body: str) -> Path:
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(0o755)
    return path


def _gone(pid: int, within: float = 10.0) -> bool:
    """Whether process ``pid`` has ended (a zombie counts: it runs nothing)."""
    end = time.monotonic() + within
    while time.monotonic() < end:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (FileNotFoundError, ProcessLookupError):
            return True
        if state in ("Z", "X"):
            return True
        time.sleep(0.05)
    return False


def _wait_for(path: Path, within: float = 30.0) -> str:
    end = time.monotonic() + within
    while time.monotonic() < end:
        if path.exists() and path.read_text().strip():
            return path.read_text().strip()
        time.sleep(0.05)
    raise AssertionError(f"{path} never appeared")


def test_stdout_is_capped() -> None:
    with pytest.raises(OutputTooLarge):
        run_bounded([sys.executable, "-c", "import sys\nwhile True: sys.stdout.write('x' * 65536)"],
                    stdout_limit=1 << 20, timeout=60)


def test_stderr_keeps_its_tail_and_the_error_is_one_short_line(tmp_path: Path) -> None:
    flood = _script(tmp_path / "python", "head -c 20000000 /dev/zero | tr '\\0' 'e' >&2\n"
                                         "echo; echo the real reason >&2; exit 1\n")
    finished = run_bounded([str(flood)], timeout=60)
    assert len(finished.stderr) <= 64 << 10
    assert finished.stderr.endswith(b"the real reason\n")
    result = run_envcheck("snapshot", "--python", str(flood), "--no-save")
    assert result.returncode == 3
    assert result.stderr.count("\n") == 1 and len(result.stderr) < 600
    assert "the real reason" in result.stderr


def test_a_flooding_probe_is_an_input_error_not_a_crash(tmp_path: Path) -> None:
    flood = _script(tmp_path / "python", "exec yes\n")
    result = run_envcheck("snapshot", "--python", str(flood), "--no-save")
    assert result.returncode == 3, result.stderr
    assert "wrote more than" in result.stderr and "Traceback" not in result.stderr


def test_timeout_kills_the_whole_process_group(tmp_path: Path) -> None:
    pidfile = tmp_path / "grandchild"
    slow = _script(tmp_path / "python", f"sleep 300 & echo $! > {pidfile}\nwait\n")
    with pytest.raises(ProcessTimeout):
        run_bounded([str(slow)], timeout=1)
    assert _gone(int(pidfile.read_text()))


def test_output_is_accepted_when_a_grandchild_holds_stdout(tmp_path: Path) -> None:
    pidfile = tmp_path / "grandchild"
    # A site hook or wrapper that starts a daemon which inherits stdout.
    wrapper = _script(tmp_path / "python",
                      f'sleep 300 & echo $! > {pidfile}\nexec {sys.executable} "$@"\n')
    result = run_envcheck("snapshot", "--python", str(wrapper), "--timeout", "60",
                          "-o", "-", "--no-save")
    assert result.returncode == 0, result.stderr
    assert '"packages"' in result.stdout
    assert _gone(int(pidfile.read_text()))


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT])
def test_a_signal_during_a_probe_kills_it_and_exits_128_plus_n(tmp_path: Path,
                                                               signum: int) -> None:
    pidfile = tmp_path / "grandchild"
    slow = _script(tmp_path / "python", f"sleep 300 & echo $! > {pidfile}\nwait\n")
    process = subprocess.Popen(
        [sys.executable, "-m", "envcheck", "snapshot", "--python", str(slow), "--no-save"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    grandchild = int(_wait_for(pidfile))
    process.send_signal(signum)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 128 + signum, stderr
    assert stderr.count("\n") == 1 and "Traceback" not in stderr
    assert _gone(grandchild)


def _interrupted_while_importing(module: str, interrupt: str) -> None:
    """``envcheck rules`` from the console script's first line, with ``interrupt`` run as
    ``module`` is about to be imported: one line and exit 130, no traceback."""
    program = (
        "import os, signal, sys\n"
        "class Interrupt:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        f"        if name == {module!r}:\n"
        f"            {interrupt}\n"
        "sys.meta_path.insert(0, Interrupt())\n"
        "from envcheck.entry import main\n"
        "sys.exit(main(['rules']))\n"
    )
    result = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True,
                            check=False, timeout=60)
    assert result.returncode == 130, result.stderr
    assert result.stderr == "envcheck: aborted\n"


def test_ctrl_c_while_the_commands_load_is_exit_130() -> None:
    """Ctrl-C during the import of click (the first ~0.3 s) is an ordinary abort."""
    _interrupted_while_importing("click", "raise KeyboardInterrupt")


def test_a_real_ctrl_c_while_the_console_module_loads_is_exit_130() -> None:
    """SIGINT itself (not a raised KeyboardInterrupt) during ``from envcheck.entry import
    main``, the console script's first line."""
    _interrupted_while_importing("envcheck.console", "os.kill(os.getpid(), signal.SIGINT)")


@pytest.mark.parametrize("args", [
    # Text collapses many package changes into one line; --all lists every name.
    ["diff", "BIG_A", "BIG_B", "--all"], ["diff", "BIG_A", "BIG_B", "--format", "json"],
    ["compare", "BIG_A", "BIG_B", "--all"],
    ["check", "BIG_A", "--fail-on", "never", "--all"], ["snapshot", "-o", "-", "--no-save"],
])
def test_a_reader_that_goes_away_is_exit_141(tmp_path: Path, args: list[str]) -> None:
    """``envcheck ... | head -1``: the status a shell gives a process ended by SIGPIPE.

    Outputs larger than a pipe holds (Markdown is capped under 64 KiB, so it is not here).
    """
    import json

    document = json.loads((DATA / "fake-2xa100.json").read_text())
    for name, major in (("BIG_A", 1), ("BIG_B", 2)):
        document["packages"] = {f"p{i}": {"version": f"{major}.0.{i}"} for i in range(8000)}
        (tmp_path / f"{name}.json").write_text(json.dumps(document))
    argv = " ".join(str(tmp_path / f"{a}.json") if a.startswith("BIG_") else a for a in args)
    result = subprocess.run(
        ["bash", "-c", f"{sys.executable} -m envcheck {argv} | head -1 >/dev/null; "
                       "exit ${PIPESTATUS[0]}"],
        capture_output=True, text=True, check=False, timeout=120, env=dict(os.environ))
    assert result.returncode == 141, result.stderr
    assert "Traceback" not in result.stderr


# A numpy that hangs, first on the import path the canary child takes: it records its pid
# and that of a child of its own, then waits. Everything up to the canary child is real.
HANGING_NUMPY = """\
import os, subprocess, time
grandchild = subprocess.Popen(["sleep", "300"])
path = os.environ["ENVCHECK_TEST_PIDS"]
with open(path + ".tmp", "w") as handle:
    handle.write("%d %d" % (os.getpid(), grandchild.pid))
os.replace(path + ".tmp", path)
time.sleep(300)
"""


@pytest.fixture(scope="module")
def canary_base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fingerprint with one real canary (the base ``explain`` compares with)."""
    from envcheck.model import Fingerprint
    from envcheck.probe.numerics import run_child

    section = run_child(sys.executable, 300, only=["numpy.sum_float32"], flags=False)
    assert section["canaries"], section["errors"]
    path = tmp_path_factory.mktemp("canary-base") / "base.json"
    path.write_text(Fingerprint.from_dict({"schema": 1, "packages": {}, "errors": [],
                                           "meta": {}, "numerics": section}).to_json())
    return path


@pytest.mark.parametrize("how, signum", [
    ("snapshot", signal.SIGTERM),  # the canary child of envcheck's own process
    ("snapshot", signal.SIGINT),
    ("python", signal.SIGTERM),  # the canary child of a probe in another interpreter
    ("python", signal.SIGHUP),
    ("explain", signal.SIGTERM),  # explain's reruns, children of envcheck's process
])
def test_a_signal_while_canaries_run_ends_the_canary_child_and_what_it_started(
        tmp_path: Path, canary_base: Path, how: str, signum: int) -> None:
    fake = tmp_path / "site"
    (fake / "numpy").mkdir(parents=True)
    (fake / "numpy" / "__init__.py").write_text(HANGING_NUMPY)
    pids = tmp_path / "pids"
    output = tmp_path / "out.json"
    args = {"snapshot": ["snapshot", "--numerics", "--no-save", "-o", str(output)],
            "python": ["snapshot", "--python", sys.executable, "--numerics", "--no-save",
                       "-o", str(output)],
            "explain": ["explain", str(canary_base), "-o", str(output)]}[how]
    env = {**os.environ, "PYTHONPATH": str(fake), "ENVCHECK_TEST_PIDS": str(pids)}
    process = subprocess.Popen([sys.executable, "-m", "envcheck", *args], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        canary_child, grandchild = map(int, _wait_for(pids, within=120).split())
        process.send_signal(signum)
        _, stderr = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode == 128 + signum, stderr
    assert stderr.count("\n") == 1 and "Traceback" not in stderr, stderr
    assert _gone(canary_child) and _gone(grandchild)
    assert not output.exists() and not list(tmp_path.glob("*.tmp"))


def test_a_cluster_members_probe_that_hangs_is_ended_with_all_it_started(tmp_path: Path) -> None:
    """The task Dask and Ray run on a member: a timeout ends the probe's whole group there."""
    cloudpickle = pytest.importorskip("cloudpickle")
    from envcheck.integrations._remote import probe_task

    pidfile = tmp_path / "grandchild"
    script = ("import subprocess, time\n"
              "child = subprocess.Popen(['sleep', '300'])\n"
              f"open({str(pidfile)!r}, 'w').write(str(child.pid))\n"
              "time.sleep(300)\n")
    task = cloudpickle.loads(cloudpickle.dumps(probe_task()))  # as a worker receives it
    started = time.monotonic()
    returncode, _, stderr = task(script, 5.0, 3.0)
    assert (returncode, stderr) == (-1, "the probe did not finish within 3 s")
    assert time.monotonic() - started < 30
    assert _gone(int(pidfile.read_text()))
