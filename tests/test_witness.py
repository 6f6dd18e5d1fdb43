"""The witness of the probe's target sections: every file and variable they are read from
is noted (``probe._common.Witness``), so a cached answer is reused only while it is true.

The rule that keeps it so is held by reading the probe's source: the target sections'
modules reach the file system and the environment only through ``_common``'s helpers.
"""

from __future__ import annotations

import ast
from pathlib import Path

import envcheck.probe

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
