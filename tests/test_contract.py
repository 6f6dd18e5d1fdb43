"""The lock contract over pinned records, against a real venv installed by pip.

Parsers of each lock format (requirements.txt, pylock.toml, uv.lock, conda files)
turn their files into ``Pin`` values; these tests hold the semantics they share.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import envcheck
from envcheck.contract import check_pins, vcs_parts
from envcheck.model import Fingerprint
from envcheck.model.pins import Pin, PinnedLock

from conftest import run_envcheck
from distbuild import build_wheel


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> tuple[Fingerprint, Path]:
    """A venv with pip's own tooling, two index-style installs and one direct archive."""
    root = tmp_path_factory.mktemp("contract")
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(root / "env")],
                   check=True)
    python = root / "env" / "bin" / "python"
    wheels = [build_wheel(root, "alpha", "1.2.0"), build_wheel(root, "beta", "2.0.1"),
              build_wheel(root, "pip", "24.0"), build_wheel(root, "extra-thing", "0.1")]
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "-q",
                    "--no-deps", "--no-index", *map(str, wheels)], check=True)
    (root / "direct").mkdir()
    direct = build_wheel(root / "direct", "gamma", "3.0")
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "-q",
                    "--no-deps", "--no-index", f"gamma @ {direct.as_uri()}"], check=True)
    out = root / "venv.json"
    result = run_envcheck("snapshot", "--python", str(python), "--no-save", "-o", str(out))
    assert result.returncode == 0, result.stderr
    return envcheck.load(str(out)), direct


def _lock(*pins: Pin) -> PinnedLock:
    return PinnedLock("requirements.txt", "requirements.txt", {p.name: p for p in pins})


def test_a_satisfied_lock_passes_and_lists_what_it_does_not_name(
        venv: tuple[Fingerprint, Path]) -> None:
    current, direct = venv
    report = check_pins(_lock(Pin("alpha", "1.2"), Pin("beta", "2.0.1"),
                              Pin("gamma", "3.0", url=direct.as_uri())), current)
    assert report.changes == [] and not report.fails("breaking")
    assert report.unlocked == ["extra-thing"]  # pip is tooling: not listed
    assert report.fails("breaking") is False
    strict = check_pins(_lock(Pin("alpha", "1.2.0")), current, strict=True)
    assert strict.fails("breaking") and not strict.fails("never")


@pytest.mark.parametrize("pin, path, severity", [
    (Pin("alpha", "1.2.1"), "packages.alpha.version", "benign"),  # a patch still breaks a pin
    (Pin("beta", "3.0"), "packages.beta.version", "risky"),
    (Pin("delta", "1.0"), "packages.delta", "risky"),  # pinned, not installed
    (Pin("gamma", "3.0", url="file:///elsewhere/gamma-3.0-py3-none-any.whl"),
     "packages.gamma.direct_url.url", "risky"),
    (Pin("pip", "23.0"), "packages.pip.version", "risky"),  # tooling the lock does pin
])
def test_every_broken_pin_fails_whatever_its_severity(
        venv: tuple[Fingerprint, Path], pin: Pin, path: str, severity: str) -> None:
    current, _ = venv
    report = check_pins(_lock(Pin("alpha", "1.2.0"), pin), current)
    assert [(c.path, c.severity.value) for c in report.changes] == [(path, severity)]
    assert report.fails("breaking") and report.fails("risky") and not report.fails("never")


def test_archive_hashes_of_a_direct_reference(venv: tuple[Fingerprint, Path]) -> None:
    current, direct = venv
    import hashlib

    digest = hashlib.sha256(direct.read_bytes()).hexdigest()
    good = Pin("gamma", "3.0", url=direct.as_uri(), hashes=frozenset({f"sha256:{digest}"}))
    assert check_pins(_lock(good), current).changes == []
    bad = good._replace(hashes=frozenset({"sha256:" + "0" * 64}))
    [change] = check_pins(_lock(bad), current).changes
    assert change.path == "packages.gamma.direct_url.archive_hashes"


def test_vcs_urls_split_into_repository_and_revision() -> None:
    assert vcs_parts("git+https://example.org/r.git@0123abc#egg=r") == (
        "https://example.org/r.git", "0123abc")
    assert vcs_parts("git+ssh://git@example.org/r.git") == ("ssh://git@example.org/r.git", None)
