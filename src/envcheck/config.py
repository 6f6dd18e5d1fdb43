"""Configuration: ``[tool.envcheck]`` in pyproject.toml, or envcheck.toml, found upward.

    [tool.envcheck]
    ignore = ["env.OMP_NUM_THREADS", "os.*"]       # paths (fnmatch) left out of reports
    ignore-packages = ["pip", "setuptools"]        # package names (fnmatch)
    tolerate-patch = ["numpy", "nvidia-*"]         # patch drift of these is benign

    [tool.envcheck.severity]                       # rule id -> breaking | risky | benign
    cpu-cores = "benign"

An unknown key, a bad value or an unknown rule id is an error that names it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from fnmatch import fnmatchcase
from pathlib import Path
from typing import NamedTuple

from .errors import UsageError
from .model.severity import Severity
from .reader import DocumentError, parse_toml, read_bytes

KEYS = ("ignore", "ignore-packages", "tolerate-patch", "severity")
__all__ = ["KEYS", "Config", "discover", "from_text", "load_file", "parse"]


class Config(NamedTuple):
    ignore: tuple[str, ...] = ()
    ignore_packages: tuple[str, ...] = ()
    tolerate_patch: tuple[str, ...] = ()
    severity: Mapping[str, Severity] = {}
    source: str | None = None

    def ignores(self, section: str, subject: str, path: str) -> bool:
        if section == "packages" and any(fnmatchcase(subject, p) for p in self.ignore_packages):
            return True
        return any(fnmatchcase(path, p) or path.startswith(p + ".") for p in self.ignore)

    def ignores_path(self, path: str) -> bool:
        """``ignores`` for a dotted path alone (``packages.torch.version``)."""
        section, _, rest = path.partition(".")
        return self.ignores(section, rest.split(".")[0], path)

    def tolerates_patch(self, package: str) -> bool:
        return any(fnmatchcase(package, p) for p in self.tolerate_patch)


def _strings(table: Mapping[str, object], key: str, where: str) -> tuple[str, ...]:
    value = table.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise UsageError(f"{where}: '{key}' must be a list of strings")
    return tuple(value)


def parse(table: Mapping[str, object], where: str, source: str | None = None) -> Config:
    """Validate one configuration table; ``where`` names it in errors."""
    from .rules.catalog import rule_ids

    unknown = sorted(set(table) - set(KEYS))
    if unknown:
        raise UsageError(f"{where}: unknown key '{unknown[0]}' (known: {', '.join(KEYS)})")
    severities = table.get("severity", {})
    if not isinstance(severities, dict):
        raise UsageError(f"{where}: 'severity' must be a table of rule id = level")
    known_rules = rule_ids()
    parsed: dict[str, Severity] = {}
    for rule, level in severities.items():
        if rule not in known_rules:
            raise UsageError(f"{where}: severity: unknown rule '{rule}' "
                             "(see 'envcheck rules' for the list)")
        try:
            parsed[rule] = Severity(level)
        except ValueError:
            raise UsageError(f"{where}: severity.{rule}: '{level}' is not one of breaking, "
                             "risky, benign") from None
    return Config(
        ignore=_strings(table, "ignore", where),
        ignore_packages=_strings(table, "ignore-packages", where),
        tolerate_patch=_strings(table, "tolerate-patch", where),
        severity=parsed,
        source=source or where,
    )


def _read_toml(path: Path) -> dict[str, object]:
    """The configuration document; a file that cannot be read or parsed is a usage error."""
    if not path.exists():
        raise UsageError(f"{path}: no such configuration file")
    try:
        data = read_bytes(path)
    except DocumentError as exc:
        raise UsageError(str(exc)) from exc
    try:
        return parse_toml(data.decode("utf-8"), str(path))
    except UnicodeDecodeError as exc:
        raise UsageError(f"{path}: not valid TOML (not UTF-8 text: {exc})") from exc
    except DocumentError as exc:
        raise UsageError(str(exc)) from exc


def _tool_table(document: Mapping[str, object], path: Path) -> object:
    """``[tool.envcheck]`` of a pyproject document, or None when it has none."""
    tool = document.get("tool")
    if tool is not None and not isinstance(tool, dict):
        raise UsageError(f"{path}: 'tool' must be a table")
    return (tool or {}).get("envcheck")


def _pasted_tool_table(document: dict[str, object], where: str) -> Mapping[str, object]:
    """envcheck.toml holding the README's ``[tool.envcheck]`` block as pasted: its table."""
    if set(document) == {"tool"}:
        table = _tool_table(document, Path(where))
        tool = document["tool"]  # a table: _tool_table said so, else there is no table
        if isinstance(table, dict) and isinstance(tool, dict) and set(tool) == {"envcheck"}:
            return table
    return document


def load_file(path: Path) -> Config:
    document = _read_toml(path)
    if path.name == "pyproject.toml":
        table = _tool_table(document, path)
        if table is not None and not isinstance(table, dict):
            raise UsageError(f"{path}: [tool.envcheck] must be a table")
        return parse(table or {}, f"{path} [tool.envcheck]", str(path))
    return parse(_pasted_tool_table(document, str(path)), str(path), str(path))


def from_text(text: str, name: str) -> Config:
    """The configuration in ``text``, read from ``name`` (``pyproject.toml`` at a git
    revision, say): as ``load_file`` would read that file."""
    try:
        document = parse_toml(text, name)
    except DocumentError as exc:
        raise UsageError(str(exc)) from exc
    if name.rsplit("/", 1)[-1].rsplit(":", 1)[-1] == "pyproject.toml":
        table = _tool_table(document, Path(name))
        if table is not None and not isinstance(table, dict):
            raise UsageError(f"{name}: [tool.envcheck] must be a table")
        return parse(table or {}, f"{name} [tool.envcheck]", name)
    return parse(_pasted_tool_table(document, name), name, name)


def discover(start: Path | None = None) -> Config:
    """The nearest envcheck.toml or pyproject.toml with [tool.envcheck], upward from ``start``."""
    directory = (start or Path(os.getcwd())).resolve()
    for folder in (directory, *directory.parents):
        candidate = folder / "envcheck.toml"
        if candidate.is_file():
            return load_file(candidate)
        pyproject = folder / "pyproject.toml"
        if pyproject.is_file() and _tool_table(_read_toml(pyproject), pyproject) is not None:
            return load_file(pyproject)
    return Config()
