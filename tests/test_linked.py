"""Libraries a framework resolves: real shared libraries compiled here, checked against ld.so."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from envcheck.probe._common import Errors
from envcheck.probe.elf import NotELF, dynamic_entries
from envcheck.probe.linked import framework_libraries

from conftest import run_envcheck
from distbuild import make_dist

_READELF = re.compile(r"\((NEEDED|RPATH|RUNPATH)\)\s+\S+.*?\[(.*)\]")


def readelf(path: str) -> dict[str, list[str]]:
    out = subprocess.run(["readelf", "-d", "-W", path], capture_output=True, text=True,
                         check=True).stdout
    found: dict[str, list[str]] = {"needed": [], "rpath": [], "runpath": []}
    for tag, value in _READELF.findall(out):
        if tag == "NEEDED":
            found["needed"].append(value)
        else:
            found[tag.lower()].extend(p for p in value.split(":") if p)
    return found


def gcc(out: Path, source: str, *args: str) -> Path:
    out.parent.mkdir(parents=True, exist_ok=True)
    src = out.parent / (out.name.split(".")[0] + ".c")
    src.write_text(source)
    subprocess.run(["gcc", "-shared", "-fPIC", "-o", str(out), str(src), *args], check=True,
                   capture_output=True)
    return out


def cudnn(lib: Path, version: str) -> None:
    """libcudnn.so.VERSION with soname libcudnn.so.9, and the libcudnn.so.9 link to it."""
    real = gcc(lib / f"libcudnn.so.{version}", f'const char *cudnn = "{version}";\n',
               "-Wl,-soname,libcudnn.so.9")
    link = lib / "libcudnn.so.9"
    if link.is_symlink():
        link.unlink()
    link.symlink_to(real.name)


def torch_env(python: str, prefix: Path, version: str, new_dtags: bool = True) -> Path:
    """A prefix laid out as conda installs torch: libtorch_cuda.so finds cuDNN in $PREFIX/lib
    through its run path ($ORIGIN/../../../..)."""
    subprocess.run([python, "-m", "venv", "--without-pip", str(prefix)], check=True)
    site = next((prefix / "lib").glob("python3.*")) / "site-packages"
    make_dist(site, "torch", "2.3.1")
    (site / "torch").mkdir(exist_ok=True)  # make_dist may have made it
    (site / "torch" / "version.py").write_text("__version__ = '2.3.1'\ncuda = '12.4'\n")
    cudnn(prefix / "lib", version)
    gcc(site / "torch" / "lib" / "libtorch_cuda.so", "extern const char *cudnn;\n"
        "const char *which(void) { return cudnn; }\n",
        f"-L{prefix / 'lib'}", "-l:libcudnn.so.9", "-Wl,-rpath,$ORIGIN/../../../..",
        "-Wl,--enable-new-dtags" if new_dtags else "-Wl,--disable-new-dtags")
    return prefix / "bin" / "python"


def ldd(path: Path, env: dict[str, str] | None = None) -> dict[str, str]:
    """What the real loader resolves (the test may run it; the probe never does)."""
    out = subprocess.run(["ldd", str(path)], capture_output=True, text=True, check=True,
                         env={**os.environ, **(env or {})}).stdout
    return {m.group(1): os.path.realpath(m.group(2))
            for m in re.finditer(r"^\s*(\S+) => (\S+)", out, re.MULTILINE)}


@pytest.mark.parametrize("library", ["libc.so.6", "libm.so.6", "libstdc++.so.6",
                                     "libgomp.so.1", "libz.so.1"])
def test_dynamic_section_agrees_with_readelf(library: str) -> None:
    path = next((d + "/" + library for d in ("/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu",
                                              "/lib64", "/usr/lib64")
                 if os.path.exists(d + "/" + library)), None)
    assert path is not None, f"{library} not found"
    assert dynamic_entries(path) == readelf(path)


def test_rpath_and_runpath_agree_with_readelf(tmp_path: Path, python38: str) -> None:
    for new_dtags in (True, False):
        prefix = tmp_path / f"env-{new_dtags}"
        torch_env(python38, prefix, "9.1.0", new_dtags)
        library = next(prefix.glob("lib/python3.*/site-packages/torch/lib/libtorch_cuda.so"))
        entries = dynamic_entries(str(library))
        assert entries == readelf(str(library))
        assert entries["runpath" if new_dtags else "rpath"] == ["$ORIGIN/../../../.."]


def test_not_elf(tmp_path: Path) -> None:
    text = tmp_path / "libfake.so"
    text.write_text("INPUT(-lc)\n")  # a linker script, as some distributions ship
    with pytest.raises(NotELF):
        dynamic_entries(str(text))


def _resolved(prefix: Path) -> dict[str, Any]:
    site = next(prefix.glob("lib/python3.*/site-packages"))
    packages = {"torch": {"name": "torch", "version": "2.3.1", "location": str(site)}}
    errors = Errors()
    found = framework_libraries(packages, ["/lib/x86_64-linux-gnu", "/usr/lib"], errors)
    assert errors.entries == []
    return found


def test_the_library_the_loader_picks(tmp_path: Path, python38: str,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    prefix = tmp_path / "env"
    torch_env(python38, prefix, "9.1.0")
    library = next(prefix.glob("lib/python3.*/site-packages/torch/lib/libtorch_cuda.so"))
    entry = _resolved(prefix)["torch"]["libcudnn.so.9"]
    assert (entry["kind"], entry["file"], entry["via"]) == ("cudnn", "libcudnn.so.9.1.0",
                                                             "runpath")
    assert os.path.join(entry["directory"], entry["file"]) == ldd(library)["libcudnn.so.9"]
    # LD_LIBRARY_PATH comes before DT_RUNPATH, as for ld.so.
    other = tmp_path / "other"
    cudnn(other, "9.3.0")
    monkeypatch.setenv("LD_LIBRARY_PATH", str(other))
    entry = _resolved(prefix)["torch"]["libcudnn.so.9"]
    assert (entry["file"], entry["via"]) == ("libcudnn.so.9.3.0", "LD_LIBRARY_PATH")
    assert os.path.join(entry["directory"], entry["file"]) == \
        ldd(library, {"LD_LIBRARY_PATH": str(other)})["libcudnn.so.9"]


def test_another_cudnn_in_the_prefix_is_a_breaking_diff(tmp_path: Path, python38: str) -> None:
    documents = []
    for version in ("9.1.0", "9.2.1"):
        python = torch_env(python38, tmp_path / version, version)
        out = tmp_path / f"{version}.json"
        result = run_envcheck("snapshot", "--python", str(python), "-o", str(out), "--no-save")
        assert result.returncode == 0, result.stderr
        documents.append(json.loads(out.read_text()))
        text = run_envcheck("snapshot", "--python", str(python), "--no-save").stdout
        assert f"frameworks load torch: libcudnn.so.{version}" in text
    assert documents[0]["cuda"]["framework_libraries"]["torch"]["libcudnn.so.9"]["file"] == \
        "libcudnn.so.9.1.0"
    result = run_envcheck("diff", str(tmp_path / "9.1.0.json"), str(tmp_path / "9.2.1.json"),
                          "--format", "json")
    assert result.returncode == 1, result.stderr
    [change] = [c for c in json.loads(result.stdout)["changes"]
                if c["path"] == "cuda.framework_libraries.torch.libcudnn.so.9"]
    assert (change["before"], change["after"]) == ("libcudnn.so.9.1.0 (runpath)",
                                                   "libcudnn.so.9.2.1 (runpath)")
    assert (change["severity"], change["rule"]) == ("breaking", "framework-library-cuda")
