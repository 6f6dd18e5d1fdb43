"""``snapshot --python``: the probe in another interpreter, with the caches that make it fast.

The package cache serves other interpreters as it serves this one (the parent
names a file keyed by the target, the probe there reads and updates it), and
the compiled probe is kept per interpreter version, as .pyc files are. Each
test uses a real virtual environment and checks results, never timings.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import venv
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

from envcheck import __version__, probe, remote
from envcheck.model import Fingerprint
from envcheck.paths import package_cache_file
from envcheck.probe.packages import file_url_path

from conftest import find_python, run_envcheck, uv_path
from distbuild import make_dist


def test_the_parent_knows_the_probe_marker_without_importing_the_probe() -> None:
    assert remote.OUTPUT_MARKER == probe.OUTPUT_MARKER
    script = ("import sys, envcheck.remote\n"
              "print(sorted(m for m in sys.modules if m.startswith('envcheck.probe')))\n")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[]"


@pytest.fixture
def target(tmp_path: Path) -> tuple[Path, Path]:
    """A real venv without pip (fast to make), and its site-packages."""
    root = tmp_path / "venv"
    venv.EnvBuilder(with_pip=False).create(root)
    version = f"python{sys.version_info[0]}.{sys.version_info[1]}"
    site = root / "lib" / version / "site-packages"
    make_dist(site, "alpha", "1.0")
    return root / "bin" / "python", site


def _snapshot(python: Path, home: Path, *extra: str) -> dict[str, object]:
    result = run_envcheck("snapshot", "--no-save", "--python", str(python), "-o", "-", *extra,
                          env={"ENVCHECK_HOME": str(home)})
    assert result.returncode == 0, result.stderr
    document: dict[str, object] = json.loads(result.stdout)
    return document


def _versions(document: dict[str, object]) -> dict[str, str]:
    packages = document["packages"]
    assert isinstance(packages, dict)
    return {name: facts["version"] for name, facts in packages.items()}


def test_other_interpreters_get_a_package_cache_that_follows_changes(
        target: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    python, site = target
    home = tmp_path / "home"
    first = _snapshot(python, home)
    assert _versions(first) == {"alpha": "1.0"}
    monkeypatch.setenv("ENVCHECK_HOME", str(home))
    cache = Path(package_cache_file(str(python)))
    assert cache.parent == home / "cache"
    assert "alpha-1.0.dist-info" in cache.read_text()
    assert cache != Path(package_cache_file())  # not this interpreter's cache
    # Served from the cache, the same fingerprint.
    again = _snapshot(python, home)
    assert again["id"] == first["id"]
    # A package installed since, and one upgraded in place, are seen.
    make_dist(site, "beta", "2.0")
    (site / "alpha-1.0.dist-info" / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: alpha\nVersion: 1.1\n")
    changed = _snapshot(python, home)
    assert _versions(changed) == {"alpha": "1.1", "beta": "2.0"}
    # --no-cache reads everything and agrees.
    assert _versions(_snapshot(python, home, "--no-cache")) == _versions(changed)


def test_the_compiled_probe_is_kept_per_interpreter_and_survives_damage(
        target: tuple[Path, Path], tmp_path: Path, python38: str) -> None:
    python, _ = target
    home = tmp_path / "home"
    first = _snapshot(python, home)
    tag = sys.implementation.cache_tag
    compiled = sorted((home / "cache").glob(f"probe-{tag}-*.marshal"))
    assert len(compiled) == 1
    compiled[0].write_bytes(b"\x00not marshal data")
    for memo in (home / "cache").glob("memo-*.json"):  # else the child is not even started
        memo.unlink()
    assert _versions(_snapshot(python, home)) == _versions(first)
    assert compiled[0].read_bytes() != b"\x00not marshal data"  # rewritten
    older = _snapshot(Path(python38), home)
    assert str(older["python"]["version"]).startswith("3.8.")  # type: ignore[index]
    assert len(list((home / "cache").glob("probe-cpython-38-*.marshal"))) == 1


def test_nowhere_to_keep_caches_is_no_error(target: tuple[Path, Path], tmp_path: Path) -> None:
    python, _ = target
    home = tmp_path / "not-a-directory"
    home.write_text("")  # the caches under it cannot be created
    assert _versions(_snapshot(python, home)) == {"alpha": "1.0"}


def _target_python(kind: str, tmp_path: Path) -> Path:
    """An interpreter of each kind ``--python`` supports: pyenv's CPython 3.8 to 3.13, the
    system's python3, and a venv made by uv, each with one distribution added."""
    if kind == "system":
        python = Path("/usr/bin/python3")
        if not python.exists():
            pytest.skip("no system python3 on this machine")
        return python
    if kind == "uv":
        uv = uv_path()
        root = tmp_path / "uv-venv"
        subprocess.run([uv, "venv", "-q", "--python", sys.executable, str(root)], check=True)
        version = f"python{sys.version_info[0]}.{sys.version_info[1]}"
        make_dist(root / "lib" / version / "site-packages", "alpha", "1.0")
        return root / "bin" / "python"
    found = find_python(kind)
    if found is None:
        pytest.skip(f"no Python {kind} on this machine")
    root = tmp_path / "venv"
    subprocess.run([found, "-m", "venv", "--without-pip", str(root)], check=True)
    make_dist(root / "lib" / f"python{kind}" / "site-packages", "alpha", "1.0")
    return root / "bin" / "python"


@pytest.mark.parametrize("kind", ["3.8", "3.9", "3.10", "3.11", "3.12", "3.13", "system", "uv"])
def test_every_kind_of_interpreter_gets_one_answer_cold_warm_and_whole(
        kind: str, tmp_path: Path) -> None:
    """The compiled probe and the package cache change nothing: a first run (the probe
    compiled from the sources it carries), a second (compiled probe and package cache
    read back), and the script run whole as ``python -`` (as the cluster integrations
    send it: the sources inline, no cache) give one fingerprint."""
    python = _target_python(kind, tmp_path)
    home = tmp_path / "home"
    cold = _snapshot(python, home)
    compiled = list((home / "cache").glob("probe-cpython-3*.marshal"))
    assert len(compiled) == 1
    written = compiled[0].stat()
    warm = _snapshot(python, home)
    assert compiled[0].stat().st_mtime_ns == written.st_mtime_ns  # read back, not rewritten
    whole = subprocess.run([str(python), "-", "--nvml-timeout", "1"], input=remote.probe_script(),
                           capture_output=True, text=True, check=False, timeout=300)
    inline = Fingerprint.from_probe(
        remote.parse_output(whole.returncode, whole.stdout, whole.stderr, kind), __version__)
    assert cold["id"] == warm["id"] == inline.id
    assert cold["errors"] == warm["errors"] == inline.errors
    if kind != "system":
        assert _versions(warm)["alpha"] == "1.0"
        assert str(warm["python"]["version"]).startswith(  # type: ignore[index]
            kind if kind[0].isdigit() else f"{sys.version_info[0]}.{sys.version_info[1]}.")


def test_the_bootstrap_compiles_the_script_without_its_sources(tmp_path: Path) -> None:
    """The 150 KiB of source literals between the markers cost the child 5 ms to compile:
    STDIN_BOOTSTRAP leaves them out, and the loader reads them only on a cache miss.
    Shown with sources that do not even compile: a warm code cache never needs them."""
    script = remote.probe_script()
    begin, end = script.index(remote.SOURCES_BEGIN), script.index(remote.SOURCES_END)
    assert end - begin > 100_000
    assert "\n" not in script[begin + len(remote.SOURCES_BEGIN):end]  # one line: markers safe
    home = tmp_path / "home"
    _snapshot(Path(sys.executable), home)  # compiles the probe and keeps it
    broken = script[:begin] + remote.SOURCES_BEGIN + "SOURCES = {not python" + script[end:]
    command = [sys.executable, "-c", remote.STDIN_BOOTSTRAP, "--nvml-timeout", "1"]
    warm = subprocess.run([*command, "--code-cache", str(home / "cache")], input=broken,
                          capture_output=True, text=True, check=False, timeout=300)
    document = remote.parse_output(warm.returncode, warm.stdout, warm.stderr, "warm")
    assert "envcheck" in document["packages"]
    cold = subprocess.run(command, input=broken, capture_output=True, text=True, check=False,
                          timeout=300)
    assert cold.returncode != 0 and "SyntaxError" in cold.stderr


@pytest.mark.parametrize("url", [
    "file:///home/u/project", "file:///srv/my%20project", "file:///a/b?x=1", "file:///a/b#frag",
    "file://host/share/p", "file:///a b", "file:///tab\there", "file:///caf\u00e9/p",
    "file:///a;b/c", "file://", "file:///",
])
def test_file_url_paths_read_as_urllib_reads_them(url: str) -> None:
    assert file_url_path(url) == unquote(urlsplit(url).path)


def _imports(command: list[str], env: dict[str, str], stdin: str | None = None) -> set[str]:
    result = subprocess.run([command[0], "-X", "importtime", *command[1:]], input=stdin,
                            capture_output=True, text=True, check=True, env=env, timeout=300)
    return {line.rsplit("|", 1)[-1].strip() for line in result.stderr.splitlines()
            if line.startswith("import time:")}


def test_parent_and_child_import_only_what_a_cached_snapshot_uses(
        target: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """What the --python path learned to leave out stays out: with the interpreter's last
    answer still valid (envcheck.memo) the parent starts no child and loads only the
    probe's machine sections, nor typing; the child, with its caches warm, loads neither
    OpenSSL (a cache miss needs it), urllib, typing nor subprocess."""
    python, _ = target
    home = tmp_path / "home"
    env = {**os.environ, "ENVCHECK_HOME": str(home)}
    _snapshot(python, home)  # caches filled, as by any first run
    parent = _imports([sys.executable, "-m", "envcheck", "snapshot", "--no-save", "--python",
                       str(python), "-o", os.devnull], env)
    assert "envcheck.remote" in parent and "envcheck.model" in parent
    assert {m for m in parent if m.startswith("envcheck.probe")} == {
        "envcheck.probe", "envcheck.probe._common", "envcheck.probe.cpu",
        "envcheck.probe.environ", "envcheck.probe.gpus", "envcheck.probe.system"}
    assert not parent & {"typing", "pathlib", "dataclasses", "inspect", "ast", "click",
                         "subprocess"}
    monkeypatch.setenv("ENVCHECK_HOME", str(home))
    cache = package_cache_file(str(python))
    child = _imports([str(python), "-c", remote.STDIN_BOOTSTRAP, "--nvml-timeout", "1",
                      "--cache", cache, "--code-cache", str(home / "cache")], env,
                     stdin=remote.probe_script())
    assert "envcheck_probe.packages" in child
    assert not child & {"hashlib", "_hashlib", "urllib.parse", "ipaddress", "typing",
                        "subprocess"}
