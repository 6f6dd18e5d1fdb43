"""The shape of src/envcheck: no import cycles, layers pointing downward.

Every import counts, at module level or inside a function: a lazy import that
closes a cycle is still two modules that cannot be understood apart.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

from conftest import ROOT

SRC = ROOT / "src" / "envcheck"


def _modules() -> dict[str, Path]:
    modules = {}
    for path in SRC.rglob("*.py"):
        parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        modules[".".join(parts)] = path
    return modules


def import_graph() -> dict[str, set[str]]:
    """Module -> the envcheck modules it imports (a package's own submodules excluded)."""
    modules = _modules()
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
        edges: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                prefix = package[: len(package) - (node.level - 1)] if node.level else []
                base = ".".join(prefix + ([node.module] if node.module else []))
                for alias in node.names:
                    full = f"{base}.{alias.name}"
                    target = full if full in modules else base
                    if target in modules and target != name and not (
                            path.name == "__init__.py" and target.startswith(name + ".")):
                        edges.add(target)
            elif isinstance(node, ast.Import):
                edges.update(a.name for a in node.names if a.name in modules and a.name != name)
        graph[name] = edges
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every strongly connected group of more than one module (Tarjan, iteratively)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                group = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.append(member)
                    if member == node:
                        break
                if len(group) > 1:
                    found.append(sorted(group))
    return found


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycle_in_envcheck() -> None:
    graph = import_graph()
    assert "envcheck.drift" in graph and "envcheck.rules.evaluate" in graph["envcheck.drift"]
    assert cycles(graph) == []


def test_layers_point_downward() -> None:
    graph = import_graph()
    # The probe is the agent: it runs alone in other interpreters.
    for name, edges in graph.items():
        if name.startswith("envcheck.probe"):
            assert all(e.startswith("envcheck.probe") for e in edges), (name, edges)
    # The model knows nothing above it; rules judge model types; renderers render them.
    above_model = ("envcheck.rules", "envcheck.drift", "envcheck.render", "envcheck.cli",
                   "envcheck.console", "envcheck.sources", "envcheck.store", "envcheck.gate")
    for name, edges in graph.items():
        if name.startswith("envcheck.model"):
            assert not [e for e in edges if e.startswith(above_model)], (name, edges)
        if name.startswith("envcheck.rules"):
            assert "envcheck.drift" not in edges, name
    # The fast snapshot path never reaches click's application; only the entry point knows both.
    assert "envcheck.cli" not in graph["envcheck.console"]


# ---- the README's map of the code -----------------------------------------------------

def readme_tree() -> set[str]:
    """The paths the README's "How it is built" tree names, relative to src/envcheck."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = text.split("## How it is built", 1)[1].split("```", 2)[1]
    found: set[str] = set()
    folders: list[tuple[int, str]] = []
    for line in block.splitlines()[2:]:  # after "src/envcheck/"
        stripped = line.lstrip(" ")
        token = stripped.split(" ", 1)[0]
        if not token.endswith((".py", "/")):
            continue  # a continuation of the line above
        indent = len(line) - len(stripped)
        folders = [(i, name) for i, name in folders if i < indent]
        prefix = "".join(name for _, name in folders)
        found.add(prefix + token)
        if token.endswith("/"):
            folders.append((indent, token))
    return found


def test_the_readme_tree_matches_the_files() -> None:
    files = {str(p.relative_to(SRC)) for p in SRC.rglob("*.py")}
    folders = {str(p.relative_to(SRC)) + "/" for p in SRC.rglob("*")
               if p.is_dir() and (p / "__init__.py").exists()}  # probe/numerics/ too
    listed = readme_tree()
    assert "sources/registry.py" in listed and "probe/" in listed
    expected = {f for f in files if not f.endswith("/__init__.py")} | folders
    assert sorted(expected - listed) == [], "modules the README's tree does not name"
    assert sorted(listed - expected - files) == [], "README entries with no such file"


# ---- long modules say why ---------------------------------------------------------------

LONG = 500
REASON = "Why one long module:"


def test_long_modules_say_why_at_the_top() -> None:
    unexplained = []
    for path in sorted(SRC.rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        if text.count("\n") > LONG and REASON not in (ast.get_docstring(ast.parse(text)) or ""):
            unexplained.append(str(path.relative_to(SRC)))
    assert unexplained == []


# ---- the snapshot path's import discipline -----------------------------------------------

# Modules ``envcheck snapshot`` must not import on a warm run (cache filled): each costs
# milliseconds at the start of every training job. Counted, never timed.
SNAPSHOT_FORBIDDEN = {"typing", "pathlib", "click", "dataclasses", "inspect", "ast",
                      "platform", "packaging", "docker", "tomllib", "tomli", "subprocess",
                      "_hashlib", "glob", "sysconfig"}
# Modules beyond a bare ``python -c pass`` (78 when this was written).
SNAPSHOT_BUDGET = 90


def _imported(args: list[str], env: dict[str, str]) -> list[str]:
    result = subprocess.run([sys.executable, "-X", "importtime", *args], capture_output=True,
                            text=True, check=True, env=env)
    return [line.rsplit("|", 1)[-1].strip() for line in result.stderr.splitlines()
            if line.startswith("import time:")]


def test_snapshot_import_discipline(tmp_path: Path) -> None:
    env = dict(os.environ, ENVCHECK_HOME=str(tmp_path))
    command = ["-m", "envcheck", "snapshot", "--no-save", "-o", os.devnull]
    _imported(command, env)  # fills the package cache, as any machine's first run does
    warm = _imported(command, env)
    bare = _imported(["-c", "pass"], env)
    assert "envcheck.sources.live" in warm
    # The target's answer is reused (envcheck.memo): only the machine's sections are read.
    assert "envcheck.memo" in warm and "envcheck.probe.cpu" in warm
    assert "envcheck.probe.packages" not in warm
    assert sorted({m.split(".")[0] for m in warm} & SNAPSHOT_FORBIDDEN
                  | set(warm) & SNAPSHOT_FORBIDDEN) == []
    assert not [m for m in warm if m.startswith(("envcheck.cli", "envcheck.drift",
                                                  "envcheck.rules", "envcheck.sources.registry"))]
    assert len(set(warm) - set(bare)) <= SNAPSHOT_BUDGET


SHIM = "TYPE_CHECKING = False"  # typing left unimported: worth it only where startup counts


def test_the_typing_shim_only_where_snapshot_imports_it(tmp_path: Path) -> None:
    """Modules that skip ``typing`` at run time are those ``envcheck snapshot`` loads (the
    everyday forms, the one that records, --python) and the probe, which also runs in
    other interpreters; everything else is ordinary Python."""
    env = dict(os.environ, ENVCHECK_HOME=str(tmp_path))
    snapshot = ["-m", "envcheck", "snapshot"]
    loaded = {*_imported([*snapshot, "-o", os.devnull], env),  # records in the history
              *_imported([*snapshot, "--no-save"], env),  # the text summary
              *_imported([*snapshot, "--no-save", "--python", sys.executable, "-o",
                          os.devnull], env)}
    assert {"envcheck.store.history", "envcheck.render.snapshot_text",
            "envcheck.remote"} <= loaded
    shimmed = {name for name, path in _modules().items()
               if SHIM in path.read_text(encoding="utf-8")}
    assert "envcheck.console" in shimmed
    assert sorted(name for name in shimmed - loaded
                  if not name.startswith("envcheck.probe")) == []


def test_renderers_import_only_model_types() -> None:
    graph = import_graph()
    allowed = ("envcheck.render", "envcheck.model", "envcheck.errors", "envcheck.verify.report",
               "envcheck.probe")
    for name, edges in graph.items():
        if name.startswith("envcheck.render"):
            assert [e for e in edges if not e.startswith(allowed)] == [], name
