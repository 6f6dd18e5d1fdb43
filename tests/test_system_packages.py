"""System packages from dpkg's database, and the same judgement for Debian packages, conda
records and wheels of one library."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

from envcheck.drift import debian_upstream, diff
from envcheck.model import Fingerprint
from envcheck.probe.system_packages import (
    _INTERESTING,
    blas_alternatives,
    collect_system_packages,
    parse_dpkg_status,
)


def test_agrees_with_dpkg_query_on_this_machine() -> None:
    out = subprocess.run(["dpkg-query", "-W", "-f",
                          "${Package}\t${Version}\t${Architecture}\t${db:Status-Status}\n"],
                         capture_output=True, text=True, check=True).stdout
    expected = {}
    for line in out.splitlines():
        name, version, architecture, status = line.split("\t")
        if status == "installed" and _INTERESTING.match(name):
            expected[name] = {"version": version, "architecture": architecture,
                              "manager": "dpkg"}
    found = collect_system_packages()["packages"]
    assert found == expected
    assert "libgomp1" in found  # the compiler's OpenMP runtime: gcc is on every CI machine


def test_only_installed_packages_of_interest() -> None:
    status = (
        "Package: libopenblas0-pthread\nStatus: install ok installed\nPriority: optional\n"
        "Architecture: amd64\nMulti-Arch: same\nVersion: 0.3.21+ds-4\n"
        "Description: Optimized BLAS\n Package: libblas3 (a continuation line)\n\n"
        "Package: libblas3\nStatus: deinstall ok config-files\nArchitecture: amd64\n"
        "Version: 3.11.0-2\n\n"
        "Package: curl\nStatus: install ok installed\nArchitecture: amd64\nVersion: 7.88\n\n"
        "Package: libnccl2\nStatus: install ok installed\nArchitecture: amd64\n"
        "Version: 2.21.5-1+cuda12.4\n\n"
        "Package: libnccl2\nStatus: install ok installed\nArchitecture: arm64\n"
        "Version: 2.21.5-1+cuda12.4\n\n"
        # Debian's names for nvJitLink and NVBLAS, and its cuDNN installer (contrib)
        "Package: libnvjitlink12\nStatus: install ok installed\nArchitecture: amd64\n"
        "Version: 12.4.127~12.4.1-1\n\n"
        "Package: libnvblas12\nStatus: install ok installed\nArchitecture: amd64\n"
        "Version: 12.4.5.8~12.4.1-1\n\n"
        "Package: nvidia-cudnn\nStatus: install ok installed\nArchitecture: amd64\n"
        "Version: 8.9.2.26~cuda12+3\n"
    )
    assert parse_dpkg_status(status) == {
        "libnccl2": {"version": "2.21.5-1+cuda12.4", "architecture": "amd64", "manager": "dpkg"},
        "libnccl2:arm64": {"version": "2.21.5-1+cuda12.4", "architecture": "arm64",
                           "manager": "dpkg"},
        "libnvblas12": {"version": "12.4.5.8~12.4.1-1", "architecture": "amd64",
                        "manager": "dpkg"},
        "libnvjitlink12": {"version": "12.4.127~12.4.1-1", "architecture": "amd64",
                           "manager": "dpkg"},
        "libopenblas0-pthread": {"version": "0.3.21+ds-4", "architecture": "amd64",
                                 "manager": "dpkg"},
        "nvidia-cudnn": {"version": "8.9.2.26~cuda12+3", "architecture": "amd64",
                         "manager": "dpkg"},
    }


def test_blas_alternatives_follow_the_links(tmp_path: Path) -> None:
    (tmp_path / "libblas.so.3-x86_64-linux-gnu").symlink_to(
        "/usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3")
    (tmp_path / "liblapack.so.3-x86_64-linux-gnu").symlink_to(
        "/usr/lib/x86_64-linux-gnu/lapack/liblapack.so.3")
    (tmp_path / "editor").symlink_to("/usr/bin/vim.basic")
    assert blas_alternatives(str(tmp_path)) == {"libblas.so.3": "openblas-pthread",
                                                "liblapack.so.3": "lapack"}


@pytest.mark.parametrize(("version", "upstream"), [
    ("2.21.5-1+cuda12.4", "2.21.5"), ("1:9.1.0.70-1", "9.1.0.70"), ("3.11.0", "3.11.0"),
    ("0.3.21+ds-4", "0.3.21+ds"),
])
def test_debian_upstream_version(version: str, upstream: str) -> None:
    assert debian_upstream(version) == upstream


def _judge(section: str, name: str, before: str, after: str,
           gpus: int = 1) -> tuple[str, str]:
    def document(version: str) -> dict[str, Any]:
        entry: dict[str, Any] = {"version": version}
        body: dict[str, Any] = {"packages": {}, "system_packages": {"packages": {}}, "conda": {}}
        (body[section]["packages"] if section == "system_packages" else body[section])[name] = \
            entry
        return {"schema": 1, "errors": [], "gpus": [{"compute_capability": "9.0"}] * gpus,
                **body}

    report = diff(Fingerprint.from_dict(document(before)), Fingerprint.from_dict(document(after)))
    [change] = report.changes
    return change.severity.value, change.reason


@pytest.mark.parametrize(("gpus", "cuda", "nccl"), [(0, "benign", "benign"),
                                                    (1, "breaking", "benign"),
                                                    (2, "breaking", "risky")])
def test_one_library_judged_alike_as_wheel_conda_record_and_debian_package(
        gpus: int, cuda: str, nccl: str) -> None:
    cudnns = [_judge("packages", "nvidia-cudnn-cu12", "9.1.0.70", "9.2.1.18", gpus),
              _judge("conda", "cudnn", "9.1.0.70", "9.2.1.18", gpus),
              _judge("system_packages", "nvidia-cudnn", "8.9.2.26~cuda12+3", "9.2.1.18~cuda12+1",
                     gpus),
              _judge("system_packages", "libcudnn9-cuda-12", "9.1.0.70-1", "9.2.1.18-1", gpus)]
    assert {severity for severity, _ in cudnns} == {cuda}
    runtimes = [_judge("packages", "nvidia-cuda-runtime-cu12", "12.4.127", "12.6.77", gpus),
                _judge("conda", "cuda-version", "12.4", "12.6", gpus),
                _judge("conda", "cudatoolkit", "11.8.0", "12.1.0", gpus),
                _judge("system_packages", "cuda-cudart-12-4", "12.4.127-1", "12.6.77-1", gpus)]
    assert {severity for severity, _ in runtimes} == {cuda}
    if not gpus:  # a CPU-only job (no CUDA build either): no false alarm, one reason
        assert {reason for _, reason in cudnns + runtimes} == {
            "no GPU and no CUDA build of a framework on either side"}
    nccls = [_judge("packages", "nvidia-nccl-cu12", "2.21.5", "2.22.3", gpus),
             _judge("conda", "nccl", "2.21.5.1", "2.22.3.1", gpus),
             _judge("system_packages", "libnccl2", "2.21.5-1+cuda12.4", "2.22.3-1+cuda12.6",
                    gpus)]
    assert {severity for severity, _ in nccls} == {nccl}
    assert len({reason for _, reason in nccls}) == 1


@pytest.mark.parametrize("blob", [b"", b"\x00\x00\x00\x01", b"\x00\x00\xff\xff\x00\x00\x00\x10",
                                  # one NAME entry whose offset points past the data
                                  b"\x00\x00\x00\x01\x00\x00\x00\x04" + b"\x00\x00\x03\xe8"
                                  b"\x00\x00\x00\x06\x00\x00\x00\x10\x00\x00\x00\x01abcd"])
def test_a_damaged_rpm_database_is_an_error_and_dpkg_is_kept(tmp_path: Path, blob: bytes
                                                             ) -> None:
    import sqlite3

    from envcheck.probe._common import Errors

    database = tmp_path / "rpmdb.sqlite"
    with sqlite3.connect(database) as connection:
        connection.execute("CREATE TABLE Packages (hnum INTEGER PRIMARY KEY, blob BLOB)")
        connection.execute("INSERT INTO Packages (blob) VALUES (?)", (blob,))
    connection.close()
    errors = Errors()
    found = collect_system_packages(errors, rpmdb=str(database))
    assert "libgomp1" in found["packages"]  # dpkg's side, read before
    [error] = errors.entries
    assert error["section"] == "system_packages" and "BadHeader" in error["message"]


def _bdb(pages: list[bytes], page_size: int = 512, checksum: bool = False) -> bytes:
    """A Berkeley DB hash file's bytes (little-endian): the metadata page, then ``pages``."""
    import struct

    meta = bytearray(page_size)
    struct.pack_into("<IIIB B B", meta, 12, 0x061561, 9, page_size, 0, 8, 1 if checksum else 0)
    struct.pack_into("<I", meta, 32, len(pages))
    return bytes(meta) + b"".join(p.ljust(page_size, b"\0") for p in pages)


def _hash_page(offsets: list[int], items: bytes = b"", page_size: int = 512) -> bytes:
    import struct

    page = bytearray(page_size)
    struct.pack_into("<H", page, 20, len(offsets))
    page[25] = 13  # P_HASH
    struct.pack_into(f"<{len(offsets)}H", page, 26, *offsets)
    page[page_size - len(items):] = items
    return bytes(page)


def _too_many_entries() -> bytes:
    import struct

    page = bytearray(512)
    struct.pack_into("<H", page, 20, 300)  # 300 two-byte offsets cannot fit in 512 bytes
    page[25] = 13
    return _bdb([bytes(page)])


def _overflow_to_itself() -> bytes:
    import struct

    # key "k" at 510; value: H_OFFPAGE to page 2 of 100 bytes, at 498.
    item = bytes([3, 0, 0, 0]) + struct.pack("<II", 2, 100)
    page = _hash_page([510, 498], item + bytes([1]) + b"k")
    overflow = bytearray(512)
    struct.pack_into("<IxxH", overflow, 16, 2, 10)  # next page: itself
    overflow[25] = 7
    return _bdb([page, bytes(overflow)])


@pytest.mark.parametrize(("content", "why"), [
    (b"\x00" * 100, "not a Berkeley DB hash database"),
    (_bdb([], checksum=True), "checksummed or encrypted"),
    (_bdb([_hash_page([4000, 3990])]), "outside the page"),
    (_too_many_entries(), "entries do not fit"),
    (_overflow_to_itself(), "overflow chain beyond the file or in a loop"),
])
def test_a_damaged_berkeley_db_is_an_error_and_dpkg_is_kept(tmp_path: Path, content: bytes,
                                                            why: str) -> None:
    """Hostile or damaged ``Packages`` files (the real format is read in test_docker.py,
    from a database the real rpm wrote): one error, never a hang or a crash."""
    from envcheck.probe._common import Errors

    database = tmp_path / "Packages"
    database.write_bytes(content)
    errors = Errors()
    found = collect_system_packages(errors, rpmdb=str(database))
    assert "libgomp1" in found["packages"]
    [error] = errors.entries
    assert error["section"] == "system_packages" and why in error["message"], error
