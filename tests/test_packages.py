"""The probe's package reader, over real dist-info and egg-info trees on disk."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from envcheck.probe._common import Errors
from envcheck.probe.packages import (
    PackageCache,
    collect_packages,
    load_cache,
    record_digest,
    save_cache,
)

from conftest import uv_path
from distbuild import build_wheel, make_dist, make_egg_info


def _collect(*paths: Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    errors = Errors()
    packages = collect_packages([str(p) for p in paths], errors)
    return packages, errors.entries


def test_first_copy_wins_and_later_copies_are_shadowed(tmp_path: Path) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    make_dist(first, "Foo.Bar", "1.0")
    make_dist(second, "foo_bar", "2.0", files={"foo_bar/__init__.py": b"# other build\n"})
    packages, errors = _collect(first, second)
    assert errors == []
    foo = packages["foo-bar"]
    assert foo["name"] == "Foo.Bar"
    assert foo["version"] == "1.0"
    assert foo["location"] == str(first)
    assert foo["shadowed"] == [{
        "version": "2.0", "location": str(second),
        "record_digest": record_digest(str(second / "foo_bar-2.0.dist-info"))[0],
    }]


def test_installer_requested_wheel_tags_and_local_label(tmp_path: Path) -> None:
    make_dist(tmp_path, "torch", "2.13.0+cpu", installer="uv", requested=False,
              tags=("cp311-cp311-manylinux_2_28_x86_64",))
    torch = _collect(tmp_path)[0]["torch"]
    assert torch["version"] == "2.13.0+cpu"
    assert torch["installer"] == "uv"
    assert torch["requested"] is False
    assert torch["wheel"] == {"tags": ["cp311-cp311-manylinux_2_28_x86_64"],
                              "root_is_purelib": True, "build": None}
    assert torch["format"] == "dist-info"


def test_record_digest_ignores_installer_but_sees_a_different_build(tmp_path: Path) -> None:
    files = {"pkg/__init__.py": b"x = 1\n", "pkg/_native.so": b"\x7fELF build A"}
    a = make_dist(tmp_path / "a", "pkg", "1.0", files=files, installer="pip",
                  scripts={"pkg-cli": b"#!/a/bin/python\n"})
    b = make_dist(tmp_path / "b", "pkg", "1.0", files=files, installer="uv", requested=False,
                  scripts={"pkg-cli": b"#!/elsewhere/bin/python3\n"},
                  direct_url={"url": "file:///wheels/pkg-1.0.whl", "archive_info": {}})
    c = make_dist(tmp_path / "c", "pkg", "1.0",
                  files={**files, "pkg/_native.so": b"\x7fELF build B"})
    digest_a, digest_b, digest_c = (record_digest(str(p))[0] for p in (a, b, c))
    assert digest_a == digest_b
    assert digest_a != digest_c
    assert digest_a.startswith("sha256:") and len(digest_a) == 7 + 64


def test_direct_url_editable_vcs_archive_and_credentials_removed(tmp_path: Path) -> None:
    make_dist(tmp_path, "editable-thing", "0.1",
              direct_url={"url": "file:///home/me/src/thing", "dir_info": {"editable": True}})
    make_dist(tmp_path, "from-git", "1.2", direct_url={
        "url": "https://alice:s3cret@git.example.org/team/repo.git",
        "vcs_info": {"vcs": "git", "commit_id": "0123abcd", "requested_revision": "main"}})
    make_dist(tmp_path, "from-archive", "3.0", direct_url={
        "url": "https://user:pw@files.example.org/a.whl",
        "archive_info": {"hashes": {"sha256": "ab" * 32}}})
    packages = _collect(tmp_path)[0]
    assert packages["editable-thing"]["direct_url"] == {
        "url": "file:///home/me/src/thing", "editable": True}
    git = packages["from-git"]["direct_url"]
    assert git["url"] == "https://git.example.org/team/repo.git"
    assert (git["vcs"], git["commit_id"], git["requested_revision"]) == ("git", "0123abcd", "main")
    archive = packages["from-archive"]["direct_url"]
    assert archive == {"url": "https://files.example.org/a.whl",
                       "archive_hashes": {"sha256": "ab" * 32}}
    assert "s3cret" not in repr(packages) and "pw@" not in repr(packages)


def test_crlf_metadata_and_wheel_files(tmp_path: Path) -> None:
    info = make_dist(tmp_path, "crlf", "1.0", tags=("py2-none-any", "py3-none-any"))
    for name in ("METADATA", "WHEEL"):
        path = info / name
        path.write_bytes(path.read_bytes().replace(b"\n", b"\r\n"))
    crlf = _collect(tmp_path)[0]["crlf"]
    assert (crlf["name"], crlf["version"]) == ("crlf", "1.0")
    assert crlf["wheel"]["tags"] == ["py2-none-any", "py3-none-any"]


def test_egg_info_folder_file_and_egg_link(tmp_path: Path) -> None:
    site = tmp_path / "site"
    make_egg_info(site, "old-style", "0.9")
    make_egg_info(site, "single-file", "0.1", as_file=True)
    project = tmp_path / "project"
    make_egg_info(project, "linked-dev", "0.0.1")
    (site / "linked-dev.egg-link").write_text(f"{project}\n.\n")
    packages, errors = _collect(site)
    assert errors == []
    assert packages["old-style"]["version"] == "0.9"
    assert packages["old-style"]["format"] == "egg-info"
    assert packages["single-file"]["version"] == "0.1"
    linked = packages["linked-dev"]
    assert linked["format"] == "egg-info+egg-link"
    assert linked["direct_url"] == {"url": project.as_uri(), "editable": True}
    assert linked["location"] == str(project)


def test_broken_metadata_leftovers_and_bad_bytes_become_errors(tmp_path: Path) -> None:
    make_dist(tmp_path, "good", "1.0")
    broken = make_dist(tmp_path, "broken", "1.0")
    (broken / "METADATA").unlink()
    nameless = make_dist(tmp_path, "nameless", "1.0")
    (nameless / "METADATA").write_text("Metadata-Version: 2.1\nVersion: 1.0\n")
    make_dist(tmp_path, "torch", "2.13.0", dir_name="~orch-2.13.0.dist-info")
    latin = make_dist(tmp_path, "latin", "1.0")
    (latin / "METADATA").write_bytes(b"Metadata-Version: 2.1\nName: latin\nVersion: 1.0\n"
                                     b"Summary: caf\xe9\n\n\xff\xfe body")
    record_dir = make_dist(tmp_path, "bad-record", "1.0")
    (record_dir / "RECORD").unlink()
    (record_dir / "RECORD").mkdir()  # unreadable as a file, even for root
    packages, errors = _collect(tmp_path)
    assert sorted(packages) == ["bad-record", "good", "latin"]
    assert packages["bad-record"]["record_digest"] is None
    messages = "\n".join(e["message"] for e in errors)
    assert "broken-1.0.dist-info: no metadata file" in messages
    assert "nameless-1.0.dist-info: metadata has no Name or Version" in messages
    assert "~orch-2.13.0.dist-info: not a valid distribution" in messages
    assert "bad_record-1.0.dist-info: RECORD unreadable (Is a directory)" in messages
    assert all(e["section"] == "packages" for e in errors)


def test_unreadable_and_odd_sys_path_entries(tmp_path: Path) -> None:
    loop = tmp_path / "loop"
    os.symlink(loop, loop)  # ELOOP: listing fails even for root
    a_file = tmp_path / "python311.zip"
    a_file.write_bytes(b"PK")
    make_dist(tmp_path / "site", "ok", "1")
    packages, errors = _collect(loop, a_file, tmp_path / "missing", tmp_path / "site")
    assert list(packages) == ["ok"]
    assert len(errors) == 1
    assert errors[0]["message"].startswith(f"cannot list sys.path entry {loop}")


def test_empty_entry_is_the_stdin_working_directory_and_skipped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_dist(tmp_path, "in-cwd", "1")
    monkeypatch.chdir(tmp_path)
    assert collect_packages(["", str(tmp_path)], Errors()).keys() == {"in-cwd"}


def test_cache_reuses_unchanged_folders_and_sees_changes(tmp_path: Path) -> None:
    site, later = tmp_path / "site", tmp_path / "later"
    for i in range(5):
        make_dist(site, f"pkg{i}", "1.0")
    make_dist(later, "pkg0", "0.9")  # a shadowed copy: must not accumulate in the cache
    cache_file = str(tmp_path / "cache" / "packages.json")
    cold = PackageCache()
    first = collect_packages([str(site), str(later)], Errors(), cold)
    save_cache(cold, cache_file)
    for _ in range(2):
        warm = load_cache(cache_file)
        assert collect_packages([str(site), str(later)], Errors(), warm) == first
        assert warm.hits == 6 and not warm.changed
        save_cache(warm, cache_file)
    assert len(first["pkg0"]["shadowed"]) == 1
    # A reinstall replaces the folder: new inode, new RECORD, picked up at once.
    shutil.rmtree(site / "pkg3-1.0.dist-info")
    make_dist(site, "pkg3", "1.0", files={"pkg3/__init__.py": b"# rebuilt\n"})
    # An in-place edit of METADATA changes its size and mtime.
    metadata = site / "pkg1-1.0.dist-info" / "METADATA"
    metadata.write_text(metadata.read_text().replace("Version: 1.0", "Version: 1.0.post1"))
    again = load_cache(cache_file)
    packages = collect_packages([str(site)], Errors(), again)
    assert packages == collect_packages([str(site)], Errors())
    assert packages["pkg1"]["version"] == "1.0.post1"
    assert packages["pkg3"]["record_digest"] != first["pkg3"]["record_digest"]
    assert again.hits == 3 and again.changed


def test_a_broken_cache_file_is_ignored(tmp_path: Path) -> None:
    make_dist(tmp_path / "site", "ok", "1")
    broken = tmp_path / "cache.json"
    broken.write_bytes(b"\x00 not json")
    cache = load_cache(str(broken))
    assert list(collect_packages([str(tmp_path / "site")], Errors(), cache)) == ["ok"]
    save_cache(cache, str(broken))
    assert json.loads(broken.read_text())  # rewritten whole


def test_the_same_wheel_installed_by_pip_and_by_uv_is_the_same_build(tmp_path: Path) -> None:
    # uv leaves a uv_cache.json in the dist-info folder and writes RECORD with other
    # line endings and without bytecode lines: none of that is another build.
    uv = uv_path()
    wheel = build_wheel(tmp_path, "samebuild", "1.0",
                        files={"samebuild/__init__.py": b"x = 1\n",
                               "samebuild/sub/mod.py": b"y = 2\n"},
                        scripts={"samebuild-tool": b"#!python\nprint('hi')\n"})
    digests = []
    for installer in ("pip", "uv"):
        venv = tmp_path / installer
        subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
        python = str(venv / "bin" / "python")
        command = ([sys.executable, "-m", "pip", "--python", python, "install", "--no-deps"]
                   if installer == "pip" else [uv, "pip", "install", "--python", python])
        subprocess.run([*command, "--no-index", str(wheel)], check=True, capture_output=True)
        [info] = venv.glob("lib/python*/site-packages/samebuild-1.0.dist-info")
        assert (info / "INSTALLER").read_text().strip() == installer
        digests.append(record_digest(str(info))[0])
    assert digests[0] == digests[1]
