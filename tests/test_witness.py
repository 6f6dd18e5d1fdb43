"""The witness of the probe's target sections: every file and variable they are read from
is noted (``probe._common.Witness``), so a cached answer is reused only while it is true.

The rule that keeps it so is held by reading the probe's source: the target sections'
modules reach the file system and the environment only through ``_common``'s helpers.
"""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import envcheck.probe
from condaenv import Package, write_records
from envcheck import remote
from envcheck.probe._common import Witness, witness_holds

from conftest import uv_path
from distbuild import build_wheel, make_dist

PROBE = Path(envcheck.probe.__file__).parent

# The modules the target sections (``probe.TARGET_SECTIONS``) are read by.
TARGET_MODULES = ("__init__", "packages", "frameworks", "conda", "cuda", "linked", "elf",
                  "system", "system_packages", "rpm_db")
# The machine's modules, re-read on every run and never witnessed: not checked.
MACHINE_MODULES = ("cpu", "gpus", "_nvml_ctypes", "environ", "numerics/")

# Calls that read the file system or the environment (``os.path.join`` and friends only
# compute strings). ``_common`` holds the witnessed versions.
_OS = {"stat", "lstat", "fstat", "scandir", "listdir", "walk", "readlink", "access", "open",
       "fdopen", "getenv", "getcwd", "environ", "environb", "confstr", "statvfs", "popen",
       "system", "spawnv", "execv", "uname"}
_OS_PATH = {"exists", "lexists", "isdir", "isfile", "islink", "ismount", "realpath",
            "getsize", "getmtime", "getctime", "getatime", "samefile", "expanduser",
            "expandvars"}
_MODULES = {"glob", "subprocess", "shutil", "pathlib", "sqlite3", "io", "ctypes", "tempfile",
            "fnmatch"}

# (module, enclosing function, what) -> why it cannot change a witnessed answer unseen.
ALLOWED = {
    ("packages", "load_cache", "open"):
        "the package cache only decides hits, each checked against the signatures the "
        "cache's own stats note; noting the file itself would spoil every witness, since "
        "the run rewrites it",
    ("packages", "save_cache", "open"):
        "writes the package cache; writing is no reading",
    ("system", "libc", "os.confstr"):
        "the C library this process runs on; its file is noted by note_interpreter",
    ("system", "_libc_file", "open"):
        "/proc/self/maps of the probe's own process, read to find the C library's file, "
        "which is what is noted",
    ("system", "note_interpreter", "os.getcwd"):
        "recorded in the witness itself (Witness.cwd), which witness_holds compares",
    ("rpm_db", "_sqlite_blobs", "sqlite3"):
        "the database file and its write-ahead log are noted (watch) just before it opens",
    ("rpm_db", "bdb_values", "os.fdopen"): "wraps a descriptor from _common.open_fd (noted)",
    ("rpm_db", "bdb_values", "os.fstat"): "the size of a file opened by open_fd (noted)",
    ("rpm_db", "rpm_packages", "os.fdopen"): "wraps a descriptor from _common.open_fd (noted)",
    # The machine's sections inside target modules: read afresh on every run (their
    # witnessed helpers note nothing: collect_machine runs with no witness set).
    ("system", "container", "*"): "collect_os: the machine's section, never witnessed",
}


def _dotted(node: ast.AST) -> str:
    """``os.path.exists`` for the expression naming it; '' for anything else."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return ""


def _forbidden(name: str) -> str | None:
    """What ``name`` (a dotted name used in the source) is, if it reads files or variables."""
    parts = name.split(".")
    if parts == ["open"]:
        return "open"
    if parts[0] == "os" and len(parts) >= 2:
        if parts[1] == "path" and len(parts) >= 3 and parts[2] in _OS_PATH:
            return name
        if parts[1] in _OS:
            return "os." + parts[1]
    if parts[0] in _MODULES:
        return parts[0]
    return None


def _bindings(tree: ast.AST) -> dict[str, str]:
    """Each name an import binds -> what it names (``glob`` -> ``._common.glob`` after
    ``from ._common import glob``; ``path`` -> ``os.path``)."""
    bound: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                bound[alias.asname or alias.name.split(".")[0]] = \
                    alias.name if alias.asname else alias.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom):
            origin = "." * node.level + (node.module or "")
            for alias in node.names:
                bound[alias.asname or alias.name] = f"{origin}.{alias.name}"
    return bound


def violations(module: str, source: str) -> list[tuple[str, str, str, int]]:
    """(module, enclosing top-level function or class, what, line) of each use."""
    found: list[tuple[str, str, str, int]] = []
    tree = ast.parse(source)
    bound = _bindings(tree)

    def resolve(name: str) -> str:
        head, dot, rest = name.partition(".")
        origin = bound.get(head)
        if origin is None or origin.startswith("."):  # a local name, or the probe's own
            return name if origin is None else ""
        return origin + dot + rest

    def visit(node: ast.AST, scope: str) -> None:
        for child in ast.iter_child_nodes(node):
            inner = scope
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                inner = scope or child.name
            if isinstance(child, (ast.Import, ast.ImportFrom)):
                names = [alias.name for alias in child.names] if isinstance(child, ast.Import) \
                    else [child.module or ""]
                for name in names:
                    if name.split(".")[0] in _MODULES:
                        found.append((module, scope, name.split(".")[0], child.lineno))
            elif isinstance(child, (ast.Attribute, ast.Name)) and not isinstance(
                    getattr(child, "ctx", None), ast.Store):
                what = _forbidden(resolve(_dotted(child)))
                if what is not None:
                    found.append((module, scope, what, child.lineno))
                    continue  # os.path.exists, not os.path and os as well
            visit(child, inner)

    visit(tree, "")
    return found


def _allowed(module: str, scope: str, what: str) -> bool:
    return (module, scope, what) in ALLOWED or (module, scope, "*") in ALLOWED


def test_target_sections_read_files_and_variables_only_through_the_witnessed_helpers() -> None:
    seen = set()
    unexplained = []
    for module in TARGET_MODULES:
        source = (PROBE / f"{module}.py").read_text(encoding="utf-8")
        for module_name, scope, what, line in violations(module, source):
            key = (module_name, scope, what)
            if _allowed(*key):
                seen.add(key if key in ALLOWED else (module_name, scope, "*"))
            else:
                unexplained.append(f"{module}.py:{line} in {scope or '<module>'}: {what}")
    assert not unexplained, (
        "reads the target's sections make outside probe/_common's witnessed helpers "
        "(use watch/getenv/stat/listdir/read_text/... or add an ALLOWED entry saying why "
        "it cannot change the answer unseen):\n" + "\n".join(unexplained))
    stale = set(ALLOWED) - seen
    assert not stale, f"ALLOWED entries that no longer match anything: {sorted(stale)}"


def test_the_rule_sees_the_reads_it_forbids() -> None:
    source = (
        "import glob\nimport os\n"
        "def f(p):\n"
        "    os.path.exists(p); os.stat(p); open(p); os.environ.get('X'); glob.glob(p)\n"
        "    os.path.join(p, 'x'); os.path.basename(p); os.sep\n"
    )
    found = {what for _, _, what, _ in violations("m", source)}
    assert found == {"glob", "os.path.exists", "os.stat", "open", "os.environ"}


def test_every_probe_module_is_either_target_or_machine() -> None:
    modules = {p.stem for p in PROBE.glob("*.py")} | {
        f"{p.name}/" for p in PROBE.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    # _common is the gate itself; _bundle packs the probe for other interpreters.
    assert modules - {"_common", "_bundle"} == set(TARGET_MODULES) | set(MACHINE_MODULES)


# ---- The witness sees every kind of change ---------------------------------------------
#
# Real venvs (uv), real wheels (distbuild), the probe run in them as envcheck runs it.

UV = uv_path()


def _uv(*args: str) -> None:
    assert UV, "uv is part of the test environment"
    subprocess.run([UV, *args], check=True, capture_output=True)


def _venv(path: Path, *flags: str) -> Path:
    _uv("venv", "-q", *flags, "--python", sys.executable, str(path))
    return path / "bin" / "python"


def _site(python: Path) -> Path:
    [site] = python.parent.parent.glob("lib/python*/site-packages")
    return site


def _install(python: Path, *wheels: Path) -> None:
    _uv("pip", "install", "-q", "--python", str(python), "--no-index", "--no-deps",
        *map(str, wheels))


def _probe(python: Path, cache: Path | None = None) -> dict[str, Any]:
    document = remote.run_probe(remote.interpreter_command(str(python)), 60, 1.0,
                                f"--python {python}", str(cache) if cache else None,
                                witness=True)
    assert isinstance(document.get("witness"), dict)
    return document


def _keep_mtime_edit(path: Path, data: bytes) -> None:
    """Rewrite a file in place, then set its times back: only ctime tells."""
    before = path.stat()
    with open(path, "r+b") as handle:  # in place: the same inode, no rename
        handle.write(data)
        handle.truncate()
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert path.stat().st_mtime_ns == before.st_mtime_ns


@pytest.fixture
def target(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A venv with two packages, a fake torch and a sitecustomize, in a clean environment."""
    for name in ("PYTHONPATH", "LD_LIBRARY_PATH", "PYTHONUSERBASE", "PYTHONNOUSERSITE",
                 "PYTHONHOME", "PYTHONSAFEPATH", "CUDA_HOME", "CUDA_PATH"):
        monkeypatch.setenv(name, "")  # recorded, so what a change sets is undone after
        monkeypatch.delenv(name)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    python = _venv(tmp_path / "venv")
    _install(python, build_wheel(wheels, "alpha", "1.0"), build_wheel(wheels, "beta", "1.0"))
    version_py = b"__version__ = '2.5.1'\ncuda = None\ngit_version = 'abc'\n"
    make_dist(_site(python), "torch", "2.5.1", files={"torch/version.py": version_py})
    (_site(python) / "sitecustomize.py").write_text("MARK = 1\n")
    return python


def _install_gamma(python: Path) -> None:
    _install(python, build_wheel(python.parent.parent.parent / "wheels", "gamma", "1.0"))


def _remove_beta(python: Path) -> None:
    _uv("pip", "uninstall", "-q", "--python", str(python), "beta")


def _upgrade_alpha(python: Path) -> None:
    _install(python, build_wheel(python.parent.parent.parent / "wheels", "alpha", "1.1"))


def _edit_metadata_keeping_mtime(python: Path) -> None:
    [metadata] = _site(python).glob("alpha-1.0.dist-info/METADATA")
    _keep_mtime_edit(metadata, metadata.read_bytes().replace(b"1.0", b"9.9"))


def _add_pth(python: Path) -> None:
    extra = python.parent.parent.parent / "extra"
    extra.mkdir()
    (_site(python) / "extra.pth").write_text(f"{extra}\n")


def _edit_pth(python: Path) -> None:
    # Set up beforehand by _with_pth: a .pth naming a directory that does not exist yet.
    pth = _site(python) / "later.pth"
    _keep_mtime_edit(pth, pth.read_bytes() + b"/tmp\n")


def _create_pth_directory(python: Path) -> None:
    (python.parent.parent.parent / "later").mkdir()  # site adds a .pth line once it exists


def _edit_sitecustomize(python: Path) -> None:
    _keep_mtime_edit(_site(python) / "sitecustomize.py",
                     b"import sys; sys.path.append('/x')\n")


def _set_pythonpath(python: Path) -> None:
    os.environ["PYTHONPATH"] = str(python.parent.parent.parent)


def _set_ld_library_path(python: Path) -> None:
    os.environ["LD_LIBRARY_PATH"] = str(python.parent.parent.parent)


def _add_conda_record(python: Path) -> None:
    write_records(python.parent.parent, (Package("mkl", "2024.0.0", "ha957f24_49657"),))


def _edit_torch_version_py(python: Path) -> None:
    _keep_mtime_edit(_site(python) / "torch" / "version.py",
                     b"__version__ = '2.5.1'\ncuda = '12.4'\ngit_version = 'abc'\n")


def _recreate_venv(python: Path) -> None:
    venv = python.parent.parent
    shutil.rmtree(venv)
    wheels = venv.parent / "wheels"
    _venv(venv)
    _install(python, wheels / "alpha-1.0-py3-none-any.whl", wheels / "beta-1.0-py3-none-any.whl")
    version_py = b"__version__ = '2.5.1'\ncuda = None\ngit_version = 'abc'\n"
    make_dist(_site(python), "torch", "2.5.1", files={"torch/version.py": version_py})
    (_site(python) / "sitecustomize.py").write_text("MARK = 1\n")


def _with_pth(python: Path) -> None:
    (_site(python) / "later.pth").write_text(f"{python.parent.parent.parent / 'later'}\n")


def _with_pth_import(python: Path) -> None:
    (_site(python) / "hook.py").write_text("import sys\n")
    (_site(python) / "hook.pth").write_text("import hook\n")


def _edit_pth_imported_module(python: Path) -> None:
    _keep_mtime_edit(_site(python) / "hook.py", b"import sys; sys.path.append('/opt')\n")


def _with_conda_meta(python: Path) -> None:
    write_records(python.parent.parent, (Package("libblas", "3.9.0", "20_linux64_mkl", 20),))


CHANGES = {
    "package installed": (None, _install_gamma),
    "package removed": (None, _remove_beta),
    "package upgraded": (None, _upgrade_alpha),
    "METADATA edited in place, mtime kept": (None, _edit_metadata_keeping_mtime),
    ".pth file added": (None, _add_pth),
    ".pth file edited": (_with_pth, _edit_pth),
    "directory a .pth line names created": (_with_pth, _create_pth_directory),
    "sitecustomize edited": (None, _edit_sitecustomize),
    "module a .pth imports edited": (_with_pth_import, _edit_pth_imported_module),
    "PYTHONPATH set": (None, _set_pythonpath),
    "LD_LIBRARY_PATH set": (None, _set_ld_library_path),
    "conda-meta record added": (_with_conda_meta, _add_conda_record),
    "torch/version.py edited in place, mtime kept": (None, _edit_torch_version_py),
    "venv recreated the same": (None, _recreate_venv),
}


@pytest.mark.parametrize("change", list(CHANGES))
def test_the_witness_holds_until_a_change_and_no_longer_after(
        change: str, target: Path) -> None:
    setup, apply = CHANGES[change]
    if setup is not None:
        setup(target)
    witness = _probe(target)["witness"]
    assert witness_holds(witness), "nothing changed yet"
    apply(target)
    assert not witness_holds(witness), f"{change}: the witness still holds"
    assert witness_holds(_probe(target)["witness"]), "a fresh witness holds again"


def test_creating_the_user_site_is_seen_where_site_would_use_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A venv with the system's site-packages keeps the user site (a plain venv turns it
    # off, and creating it there changes nothing: the witness may go on holding).
    for name in ("PYTHONPATH", "PYTHONUSERBASE", "PYTHONNOUSERSITE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    python = _venv(tmp_path / "venv", "--system-site-packages")
    first = _probe(python)
    assert witness_holds(first["witness"])
    user_site = subprocess.run([str(python), "-c", "import site; print(site.USER_SITE)"],
                               check=True, capture_output=True, text=True).stdout.strip()
    assert user_site.startswith(str(tmp_path / "home"))
    Path(user_site).mkdir(parents=True)
    assert not witness_holds(first["witness"])
    assert user_site in _probe(python)["python"]["sys_path"]  # the change mattered


def test_a_relative_pythonpath_entry_ties_the_witness_to_the_working_directory(
        target: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "a" / "lib").mkdir(parents=True)
    (tmp_path / "b" / "lib").mkdir(parents=True)
    monkeypatch.setenv("PYTHONPATH", "lib")
    monkeypatch.chdir(tmp_path / "a")
    witness = _probe(target)["witness"]
    assert witness_holds(witness)
    monkeypatch.chdir(tmp_path / "b")  # the same PYTHONPATH names another directory
    assert not witness_holds(witness)


@pytest.mark.parametrize("pythonpath", [":/nonexistent", "/nonexistent:", "/a::/b"])
def test_an_empty_pythonpath_entry_is_the_working_directory_too(
        pythonpath: str, target: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # site makes an empty entry the working directory, as it does ``lib`` or ``.``.
    for side, version in (("a", "1.0"), ("b", "2.0")):
        make_dist(tmp_path / side, "theta", version)
    monkeypatch.setenv("PYTHONPATH", pythonpath)
    monkeypatch.chdir(tmp_path / "a")
    first = _probe(target)
    assert first["packages"]["theta"]["version"] == "1.0"
    assert witness_holds(first["witness"])
    monkeypatch.chdir(tmp_path / "b")
    assert _probe(target)["packages"]["theta"]["version"] == "2.0"
    assert not witness_holds(first["witness"])


def test_a_witness_holds_with_the_package_cache_hit_and_sees_changes_through_it(
        target: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache" / "packages.json"
    first = _probe(target, cache)  # fills the cache
    second = _probe(target, cache)  # reads nothing the cache holds
    assert witness_holds(first["witness"]) and witness_holds(second["witness"])
    assert set(first["witness"]["paths"]) == set(second["witness"]["paths"])
    _edit_metadata_keeping_mtime(target)
    assert not witness_holds(second["witness"])


def test_a_timed_out_answer_leaves_a_witness_that_never_holds() -> None:
    witness = Witness()
    witness.incomplete = True
    assert not witness_holds(witness.to_json())
    assert witness_holds(Witness().to_json())


def _target_sections(witness: Witness | None, cache: str | None) -> dict[str, Any]:
    from envcheck.probe import collect_target
    from envcheck.probe._common import Errors

    errors = Errors()
    sections = collect_target(errors, {}, cache_path=cache, witness=witness, nvml_timeout=1.0)
    return {"sections": sections, "errors": errors.entries}


@pytest.mark.parametrize("cached", [False, True])
def test_while_the_witness_holds_the_target_sections_are_the_same(
        cached: bool, tmp_path: Path) -> None:
    # The property the memo rests on, over the real test environment (180 distributions,
    # torch, tensorflow, jax, numpy, scipy): what a witness saw unchanged reads the same.
    cache = str(tmp_path / "packages.json") if cached else None
    if cache:
        _target_sections(None, cache)  # a warm cache, as on the memo's path
    witness = Witness()
    first = _target_sections(witness, cache)
    recorded = witness.to_json()
    assert len(recorded["paths"]) > 100
    assert witness_holds(recorded)
    assert _target_sections(None, cache) == first
