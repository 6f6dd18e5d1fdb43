"""``snapshot --python``: the probe in another interpreter, with the caches that make it fast.

The package cache serves other interpreters as it serves this one (the parent
names a file keyed by the target, the probe there reads and updates it), and
the compiled probe is kept per interpreter version, as .pyc files are. Each
test uses a real virtual environment and checks results, never timings.
"""

from __future__ import annotations

import json
import subprocess
import sys
import venv
from pathlib import Path

import pytest

from envcheck import probe, remote
from envcheck.paths import package_cache_file

from conftest import run_envcheck
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
