"""One reader for every document from outside: limits, NaN, encodings and special files.

Each test reproduces a finding of issue #13 (3: deep nesting and NaN reaching
exit 70 or being accepted; 12: FIFOs hanging, /dev/zero and huge files read
without limit, non-UTF-8 requirements called "not JSON") through the command
or API a user would run.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

import envcheck
from envcheck.errors import InputError, TargetError
from envcheck.github import GitHubError
from envcheck.pr_comment import upsert_comment
from envcheck.probe import OUTPUT_MARKER
from envcheck.reader import MAX_BYTES, MAX_DEPTH, DocumentError, parse_json, read_bytes
from envcheck.remote import parse_output

from conftest import DATA, run_envcheck

BASE = DATA / "fake-2xa100.json"
DEEP = "[" * 100_000 + "]" * 100_000
# A valid fingerprint except that meta holds a value nested just past the limit,
# shallow enough for json to parse and deep enough to break any recursive walk.
MODERATE = MAX_DEPTH + 5


def _nested(depth: int) -> Any:
    value: Any = 0
    for _ in range(depth):
        value = [value]
    return value


def _hung_guard(*args: str, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    """run_envcheck with a short deadline: a hang fails the test instead of stalling CI."""
    env = dict(os.environ, **kwargs.pop("env", {}))
    return subprocess.run([sys.executable, "-m", "envcheck", *args], capture_output=True,
                          text=True, timeout=60, check=False, env=env, **kwargs)


def _one_line(result: subprocess.CompletedProcess[str], code: int, *needles: str) -> None:
    assert result.returncode == code, (result.returncode, result.stderr)
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "Traceback" not in result.stderr
    for needle in needles:
        assert needle in result.stderr, result.stderr


# ---- finding 3: nesting and NaN, wherever a document is read --------------------------

def test_deeply_nested_fingerprints_are_input_errors_not_crashes(tmp_path: Path) -> None:
    deep = tmp_path / "deep.json"
    deep.write_text(DEEP)
    _one_line(run_envcheck("diff", str(deep), str(deep)), 3, "not JSON", str(deep))
    moderate = tmp_path / "moderate.json"
    document = json.loads(BASE.read_text())
    document["meta"]["extra"] = _nested(MODERATE)
    moderate.write_text(json.dumps(document))
    for command in (("diff", str(BASE), str(moderate)), ("audit", str(moderate)),
                    ("compare", str(BASE), str(moderate))):
        _one_line(run_envcheck(*command), 3, "nested deeper than")
    with pytest.raises(InputError, match="nested deeper than"):
        envcheck.load(moderate)


def test_deep_stdin_is_refused(tmp_path: Path) -> None:
    _one_line(run_envcheck("diff", "-", str(BASE), stdin=DEEP), 3, "stdin: not JSON")


def test_nan_is_refused_by_diff_as_by_load(tmp_path: Path) -> None:
    nan = tmp_path / "nan.json"
    document = json.loads(BASE.read_text())
    document["cpu"]["usable_cores"] = "__nan__"
    nan.write_text(json.dumps(document).replace('"__nan__"', "NaN"))
    _one_line(run_envcheck("diff", str(nan), str(BASE)), 3, "NaN is not valid JSON")
    with pytest.raises(InputError, match="NaN is not valid JSON"):
        envcheck.load(nan)
    for constant in ("Infinity", "-Infinity"):
        with pytest.raises(DocumentError, match=f"{constant} is not valid JSON"):
            parse_json(f'{{"x": {constant}}}', "doc")


def test_deep_pylock_and_configuration(tmp_path: Path) -> None:
    pylock = tmp_path / "pylock.toml"
    pylock.write_text('lock-version = "1.0"\nx = ' + "[" * 5000 + "]" * 5000 + "\n")
    _one_line(run_envcheck("check", str(pylock)), 3, "not valid TOML (nested too deeply)")
    pylock.write_text('lock-version = "1.0"\nx = ' + "[" * MODERATE + "]" * MODERATE + "\n")
    _one_line(run_envcheck("check", str(pylock)), 3, "nested deeper than")
    config = tmp_path / "envcheck.toml"
    config.write_text("ignore = " + "[" * 5000 + "]" * 5000 + "\n")
    # A configuration that cannot be used stays a usage error (exit 2), as before.
    _one_line(run_envcheck("diff", str(BASE), str(BASE), "--config", str(config)), 2,
              "envcheck.toml: not valid TOML")


def test_deep_event_file_is_an_input_error(tmp_path: Path) -> None:
    event = tmp_path / "event.json"
    event.write_text(DEEP)
    body = tmp_path / "body.md"
    body.write_text("hello\n")
    result = run_envcheck("comment", str(body), "--repo", "octo/project",
                          env={"GITHUB_EVENT_PATH": str(event), "GITHUB_TOKEN": "t"})
    _one_line(result, 3, "event.json: not JSON (nested too deeply)")


def test_deep_probe_output_is_a_target_error() -> None:
    with pytest.raises(TargetError, match="probe's output: not JSON"):
        parse_output(0, OUTPUT_MARKER + DEEP, "", "--python x")
    with pytest.raises(TargetError, match="probe's output: nested deeper than"):
        parse_output(0, OUTPUT_MARKER + json.dumps({"meta": _nested(MODERATE)}), "", "x")


def test_deep_package_cache_is_ignored_not_fatal(tmp_path: Path) -> None:
    home = tmp_path / "home"
    first = run_envcheck("snapshot", "--no-save", "-o", str(tmp_path / "a.json"),
                         env={"ENVCHECK_HOME": str(home)})
    assert first.returncode == 0, first.stderr
    caches = [p for p in home.rglob("*") if p.is_file()]
    assert caches, "the snapshot kept no package cache"
    for cache in caches:
        cache.write_text(DEEP)
    again = run_envcheck("snapshot", "--no-save", "-o", str(tmp_path / "b.json"),
                         env={"ENVCHECK_HOME": str(home)})
    assert again.returncode == 0, again.stderr
    assert envcheck.load(tmp_path / "b.json").packages == envcheck.load(
        tmp_path / "a.json").packages


@pytest.fixture
def deep_api() -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            body = DEEP.encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_deep_api_answer_is_a_github_error(deep_api: str) -> None:
    with pytest.raises(GitHubError, match="the answer is not JSON envcheck reads"):
        upsert_comment("octo/project", 1, "body", "token", api_url=deep_api)


# ---- finding 12: special files, huge files, encodings ---------------------------------

def test_fifo_without_writer_does_not_hang(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo.json"
    os.mkfifo(fifo)
    _one_line(_hung_guard("diff", str(fifo), str(BASE)), 3, "not JSON")
    _one_line(_hung_guard("compare", str(fifo), str(BASE)), 3, "not JSON")
    _one_line(_hung_guard("check", str(fifo)), 3, "not JSON")
    # An empty configuration is an empty configuration: the diff runs.
    config = tmp_path / "envcheck.toml"
    os.mkfifo(config)
    same = _hung_guard("diff", str(BASE), str(BASE), "--config", str(config))
    assert same.returncode == 0, same.stderr
    # A -r include that is a FIFO adds nothing; the check of the other pins runs.
    include = tmp_path / "more.txt"
    os.mkfifo(include)
    requirements = tmp_path / "requirements.txt"
    requirements.write_text(f"-r {include.name}\nno-such-package-xyz==1.0\n")
    checked = _hung_guard("check", str(requirements), "--format", "json")
    assert checked.returncode == 1, checked.stderr
    assert "packages.no-such-package-xyz" in checked.stdout


def test_a_pipe_with_a_writer_is_read_to_its_end(tmp_path: Path) -> None:
    # What ``envcheck diff <(cat a.json) b.json`` hands over: a pipe whose writer is there.
    read_end, write_end = os.pipe()
    text = BASE.read_bytes()

    def write() -> None:
        with os.fdopen(write_end, "wb") as handle:
            handle.write(text)

    writer = threading.Thread(target=write)
    writer.start()
    try:
        assert read_bytes(f"/dev/fd/{read_end}") == text
    finally:
        writer.join()
        os.close(read_end)


def test_dev_zero_and_huge_files_are_refused_without_reading_them(tmp_path: Path) -> None:
    _one_line(_hung_guard("diff", "/dev/zero", str(BASE)), 3, "larger than 64 MiB")
    huge = tmp_path / "huge.json"
    with open(huge, "wb") as handle:
        handle.truncate(1024 ** 3)  # sparse: 1 GB that costs no disk
    script = ("import resource, subprocess, sys\n"
              "r = subprocess.run([sys.executable, '-m', 'envcheck', 'diff', sys.argv[1], "
              "sys.argv[2]], capture_output=True, text=True)\n"
              "print(r.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
              "sys.stderr.write(r.stderr)\n")
    result = subprocess.run([sys.executable, "-c", script, str(huge), str(BASE)],
                            capture_output=True, text=True, timeout=120, check=False)
    code, max_rss_kib = (int(x) for x in result.stdout.split())
    assert code == 3 and "larger than 64 MiB" in result.stderr, result.stderr
    assert max_rss_kib * 1024 < MAX_BYTES * 2  # far below the file's 1 GB (it took 2.1 GB)


def test_non_utf8_requirements_are_named_as_such(tmp_path: Path) -> None:
    requirements = tmp_path / "requirements.txt"
    requirements.write_bytes(b"caf\xe9==1.0\n")
    _one_line(run_envcheck("check", str(requirements)), 3, "not UTF-8 text")
    result = run_envcheck("check", str(requirements))
    assert "not JSON" not in result.stderr


def test_the_api_and_the_cli_read_the_same_documents(tmp_path: Path) -> None:
    report = tmp_path / "inspect.json"
    report.write_text(json.dumps({"version": "1", "pip_version": "24.0", "installed": [
        {"metadata": {"name": "Alpha", "version": "1.0"}, "installer": "pip"}]}))
    loaded = envcheck.load(report)
    assert {name: p["version"] for name, p in loaded.packages.items()} == {"alpha": "1.0"}
    assert loaded.data["meta"]["source"] == "pip inspect"
    cli = run_envcheck("diff", str(report), str(report), "--format", "json")
    assert cli.returncode == 0, cli.stderr
    assert json.loads(cli.stdout)["a"]["id"] == loaded.id
