"""Build real installed-distribution trees (dist-info, egg-info) for tests.

Files are written the way installers write them: METADATA headers, a WHEEL
file, and a RECORD whose hashes match the files on disk.
"""

from __future__ import annotations

import base64
import hashlib
import json
import zipfile
from pathlib import Path
from typing import Any


def _record_hash(data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"sha256={digest}"


def make_dist(
    site: Path,
    name: str,
    version: str,
    *,
    files: dict[str, bytes] | None = None,
    installer: str | None = "pip",
    requested: bool = True,
    tags: tuple[str, ...] = ("py3-none-any",),
    direct_url: dict[str, Any] | None = None,
    requires: tuple[str, ...] = (),
    dir_name: str | None = None,
    scripts: dict[str, bytes] | None = None,
) -> Path:
    """Install a fake-but-real distribution into ``site`` and return its .dist-info path."""
    site.mkdir(parents=True, exist_ok=True)
    info_name = dir_name or f"{name.replace('-', '_')}-{version}.dist-info"
    info = site / info_name
    info.mkdir()
    package_files = files if files is not None else {
        f"{name.replace('-', '_')}/__init__.py": f"__version__ = {version!r}\n".encode()
    }
    record: list[str] = []
    for rel, data in package_files.items():
        path = site / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        record.append(f"{rel},{_record_hash(data)},{len(data)}")
    for rel, data in (scripts or {}).items():
        record.append(f"../../../bin/{rel},{_record_hash(data)},{len(data)}")
    metadata = "Metadata-Version: 2.1\n" f"Name: {name}\n" f"Version: {version}\n"
    metadata += "".join(f"Requires-Dist: {r}\n" for r in requires)
    metadata += "\nA long description.\n"
    extra: dict[str, bytes] = {
        "METADATA": metadata.encode(),
        "WHEEL": ("Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\n"
                  + "".join(f"Tag: {t}\n" for t in tags)).encode(),
    }
    if installer is not None:
        extra["INSTALLER"] = f"{installer}\n".encode()
    if requested:
        extra["REQUESTED"] = b""
    if direct_url is not None:
        extra["direct_url.json"] = json.dumps(direct_url).encode()
    for rel, data in extra.items():
        (info / rel).write_bytes(data)
        record.append(f"{info_name}/{rel},{_record_hash(data)},{len(data)}")
    record.append(f"{info_name}/RECORD,,")
    (info / "RECORD").write_text("\n".join(record) + "\n")
    return info


def make_egg_info(site: Path, name: str, version: str, *, as_file: bool = False) -> Path:
    """A setuptools egg-info: a folder with PKG-INFO, or a single PKG-INFO file."""
    site.mkdir(parents=True, exist_ok=True)
    path = site / f"{name.replace('-', '_')}-{version}-py3.11.egg-info"
    pkg_info = f"Metadata-Version: 1.2\nName: {name}\nVersion: {version}\n"
    if as_file:
        path.write_text(pkg_info)
    else:
        path.mkdir()
        (path / "PKG-INFO").write_text(pkg_info)
    return path


def build_wheel(directory: Path, name: str, version: str,
                files: dict[str, bytes] | None = None,
                scripts: dict[str, bytes] | None = None,
                requires: tuple[str, ...] = ()) -> Path:
    """A real wheel file, so pip itself installs it (INSTALLER, REQUESTED, RECORD, scripts).

    ``files`` default to one module whose ``__init__.py`` holds the version.
    """
    module = name.replace("-", "_")
    info = f"{module}-{version}.dist-info"
    members = dict(files if files is not None
                   else {f"{module}/__init__.py": f"VERSION = {version!r}\n".encode()})
    for script, body in (scripts or {}).items():
        members[f"{module}-{version}.data/scripts/{script}"] = body
    members[f"{info}/METADATA"] = (f"Metadata-Version: 2.1\nName: {name}\n"
                                   f"Version: {version}\n"
                                   + "".join(f"Requires-Dist: {r}\n" for r in requires)
                                   ).encode()
    members[f"{info}/WHEEL"] = (b"Wheel-Version: 1.0\nGenerator: hand\nRoot-Is-Purelib: true\n"
                                b"Tag: py3-none-any\n")
    # RECORD is CSV: a path with a comma is quoted.
    record = [f'"{path}",{_record_hash(data)},{len(data)}' if "," in path
              else f"{path},{_record_hash(data)},{len(data)}" for path, data in members.items()]
    record.append(f"{info}/RECORD,,")
    wheel = directory / f"{module}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for path, data in members.items():
            archive.writestr(path, data)
        archive.writestr(f"{info}/RECORD", "\n".join(record) + "\n")
    return wheel
