"""``verify`` on Debian's own Python: a python3-* package's files against dpkg's md5sums.

A real .deb, built here by ``dpkg-deb`` the way Debian's tools leave a Python
package: its extension module stripped after the wheel's RECORD was written,
its script moved from where RECORD puts it into /usr/bin, and md5sums written
as ``dh_md5sums`` does. The real ``dpkg -i`` installs it into the bookworm test
image, whose Debian ``python3`` then runs verify. Against RECORD this package
would show a "modified" .so and a "missing" script; against dpkg's records it is
clean, and an edit made in the container afterwards is reported as modified. A
second package carries its distribution with egg-info metadata, as Debian's
setuptools builds do: without RECORD, it is checked against md5sums too.
"""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from test_docker import BOOKWORM, LABELS, ROOT, _no_container_left, engine  # noqa: F401

PACKAGE = "python3-envcheck-debdemo"
OLD_PACKAGE = "python3-envcheck-debold"
SITE = "usr/lib/python3/dist-packages"
INFO = f"{SITE}/debdemo-1.0.dist-info"
UNSTRIPPED = b"\x7fELF" + b"\x01" * 4000 + b".debug_info" * 50
STRIPPED = b"\x7fELF" + b"\x01" * 4000
FILES = {
    f"{SITE}/debdemo/__init__.py": b"VERSION = '1.0'\n",
    f"{SITE}/debdemo/core.py": b"def answer() -> int:\n    return 42\n",
    f"{SITE}/debdemo/_speedups.cpython-311-x86_64-linux-gnu.so": STRIPPED,
    f"{INFO}/METADATA": b"Metadata-Version: 2.1\nName: debdemo\nVersion: 1.0\n",
    f"{INFO}/WHEEL": b"Wheel-Version: 1.0\nGenerator: bdist_wheel\nRoot-Is-Purelib: false\n",
    f"{INFO}/top_level.txt": b"debdemo\n",
    "usr/bin/debdemo": b"#!/usr/bin/python3\nfrom debdemo.core import answer\nprint(answer())\n",
    f"usr/share/doc/{PACKAGE}/copyright": b"Public domain.\n",
}
OLD_FILES = {
    f"{SITE}/debold/__init__.py": b"OLD = True\n",
    f"{SITE}/debold-0.9.egg-info/PKG-INFO": b"Metadata-Version: 1.1\nName: debold\nVersion: 0.9\n",
    f"{SITE}/debold-0.9.egg-info/top_level.txt": b"debold\n",
}
# Run in the container by Debian's python3, with envcheck's source mounted read-only.
VERIFY = """
import json, sys
sys.path.insert(0, "/envcheck/src")
from envcheck.verify import verify
report = verify([p for p in sys.path[1:] if p], packages=["debdemo", "debold"])
print(json.dumps(report.to_dict()))
"""


def _record_line(path: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{path},sha256={digest},{len(data)}"


def _build_deb(directory: Path) -> Path:
    root = directory / "pkg"
    _tree(root, FILES)
    (root / "usr/bin/debdemo").chmod(0o755)
    # The wheel's RECORD, as pybuild leaves it: written before dh_strip, the script
    # where the wheel put it (Debian's packaging moved it to /usr/bin).
    record = [_record_line(p[len(SITE) + 1:], d) for p, d in FILES.items()
              if p.startswith(SITE) and not p.endswith(".so")]
    record.append(_record_line("debdemo/_speedups.cpython-311-x86_64-linux-gnu.so", UNSTRIPPED))
    record.append(_record_line("../../../bin/debdemo-tool", b"#!python\n"))
    record.append("debdemo-1.0.dist-info/RECORD,,")
    (root / INFO / "RECORD").write_text("\n".join(record) + "\n")
    return _package(root, PACKAGE, directory)


def _build_old_deb(directory: Path) -> Path:
    root = directory / "old"
    _tree(root, OLD_FILES)
    return _package(root, OLD_PACKAGE, directory)


def _tree(root: Path, files: dict[str, bytes]) -> None:
    for path, data in files.items():
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)


def _package(root: Path, package: str, directory: Path) -> Path:
    control = root / "DEBIAN"
    control.mkdir()
    (control / "control").write_text(
        f"Package: {package}\nVersion: 1.0-1\nArchitecture: all\nMaintainer: envcheck tests "
        "<tests@invalid>\nDepends: python3\nDescription: a Python package as Debian ships one\n"
        " Built by envcheck's tests.\n")
    # What dh_md5sums writes: every regular file outside DEBIAN/, path without the "/".
    sums = sorted(f"{hashlib.md5(p.read_bytes()).hexdigest()}  {p.relative_to(root)}"
                  for p in root.rglob("*") if p.is_file() and "DEBIAN" not in p.parts)
    (control / "md5sums").write_text("\n".join(sums) + "\n")
    deb = directory / f"{package}_1.0-1_all.deb"
    subprocess.run(["dpkg-deb", "--root-owner-group", "--build", str(root), str(deb)],
                   check=True, capture_output=True)
    return deb


def _run(client: Any, deb: Path, script: str) -> str:
    container = client.containers.run(
        BOOKWORM, ["sh", "-ec", script], detach=True, network_mode="none", labels=LABELS,
        volumes={str(deb.parent): {"bind": "/deb", "mode": "ro"},
                 str(ROOT / "src"): {"bind": "/envcheck/src", "mode": "ro"}})
    try:
        status = container.wait(timeout=120)
        logs: bytes = container.logs(stdout=True, stderr=True)
        assert status["StatusCode"] == 0, logs.decode(errors="replace")[-3000:]
        return logs.decode()
    finally:
        container.remove(force=True)


@pytest.mark.docker
def test_a_debian_package_is_checked_against_dpkgs_md5sums(engine: Any,  # noqa: F811
                                                            tmp_path: Path) -> None:
    if shutil.which("dpkg-deb") is None:
        pytest.skip("dpkg-deb is not installed here")
    deb, old = _build_deb(tmp_path), _build_old_deb(tmp_path)
    verify = f"python3 -c '{VERIFY}'"
    init = f"/{SITE}/debdemo/__init__.py"
    output = _run(engine, deb, f"""
dpkg -i /deb/{deb.name} /deb/{old.name} >/dev/null
test -f /var/lib/dpkg/info/{PACKAGE}.md5sums
{verify}
sed -i 's/1.0/2.0/' {init}
echo 'print("planted")' > /{SITE}/debdemo/planted.py
rm /usr/share/doc/{PACKAGE}/copyright
echo '# edited' >> /{SITE}/debold/__init__.py
{verify}
""")
    before, after = (json.loads(line) for line in output.splitlines() if line.startswith("{"))
    clean, clean_old = before["packages"]
    assert before["clean"] and clean["clean"] and clean_old["clean"], before["packages"]
    assert (clean["name"], clean_old["name"]) == ("debdemo", "debold")
    # The egg-info distribution: no RECORD, yet checked, file by file, against md5sums.
    assert clean_old["files_checked"] == len(OLD_FILES) and OLD_PACKAGE in clean_old["note"]
    # Every file dpkg recorded a digest for, the stripped .so and /usr/bin's script
    # among them; RECORD's unstripped hash and its script path are not consulted.
    assert clean["files_checked"] == len(FILES) + 1  # RECORD itself is a file of the .deb
    assert PACKAGE in clean["note"] and "md5sums" in clean["note"]
    changed, changed_old = after["packages"]
    original = base64.urlsafe_b64encode(hashlib.md5(FILES[init[1:]]).digest()).rstrip(b"=")
    edited = FILES[init[1:]].replace(b"1.0", b"2.0")
    assert changed["modified"] == [{
        "path": "debdemo/__init__.py",
        "expected": f"md5={original.decode()}",
        "actual": "md5=" + base64.urlsafe_b64encode(
            hashlib.md5(edited).digest()).rstrip(b"=").decode(),
        "expected_size": None,
        "size": len(edited),
    }]
    assert changed["missing"] == [f"/usr/share/doc/{PACKAGE}/copyright"]
    assert changed["added"] == ["debdemo/planted.py"]
    assert [m["path"] for m in changed_old["modified"]] == ["debold/__init__.py"]
    assert not after["clean"] and after["counts"]["modified"] == 2
