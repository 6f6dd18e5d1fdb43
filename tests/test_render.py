"""Renderers: golden files (``pytest --update-golden`` rewrites them) and hostile input."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from envcheck.drift import Report, diff
from envcheck.model import Fingerprint
from envcheck.render import ReportFormat
from envcheck.render.report import RENDERERS, RenderOptions, render_report
from envcheck.render.report_markdown import MARKER, render_markdown
from envcheck.rules.catalog import CATALOG

from conftest import DATA

GOLDEN = Path(__file__).parent / "golden"
BASE: dict[str, Any] = json.loads((DATA / "fake-2xa100.json").read_text())


def _report(after: dict[str, Any], base: dict[str, Any] = BASE) -> Report:
    return diff(Fingerprint.from_dict(copy.deepcopy(base), "base"),
                Fingerprint.from_dict(after, "head"), labels=("base.json", "head.json"))


def _drifted() -> dict[str, Any]:
    after = copy.deepcopy(BASE)
    after["packages"]["torch"]["version"] = "2.13.0+cu121"
    after["packages"]["numpy"]["version"] = "2.5.1"
    after["packages"]["jinja2"]["version"] = "3.1.7"
    after["env"]["NCCL_ALGO"] = "Tree"
    after["env"]["OMP_NUM_THREADS"] = "8"
    for gpu in after["gpus"]:
        gpu["compute_capability"] = "9.0"
        gpu["name"] = "NVIDIA H100 80GB HBM3"
    after["os"]["kernel"] = "6.8.0-generic"
    after["cpu"]["flags"] = [f for f in after["cpu"]["flags"] if not f.startswith("avx512")]
    for name in ("accelerate", "datasets", "huggingface-hub", "pyarrow", "safetensors",
                 "tqdm", "xxhash", "multiprocess", "dill", "pandas", "pytz", "tzdata"):
        after["packages"][name] = {"name": name, "version": "1.0.0"}
    return after


def test_a_diff_between_very_different_environments_fits_one_screen() -> None:
    after = _drifted()
    after["python"]["version"] = "3.12.7"
    for name in list(after["packages"])[:40]:
        package = after["packages"][name]
        if name not in ("torch", "numpy", "jinja2") and package.get("wheel"):
            package["wheel"]["tags"] = [t.replace("py3", "cp312") for t in
                                        package["wheel"]["tags"]]
    for index in range(80):
        after["packages"][f"extra-{index:02d}"] = {"name": f"extra-{index:02d}",
                                                   "version": "0.1"}
    for name in ("click", "docker", "idna", "pygments", "requests", "urllib3"):
        after["packages"][name]["version"] = "99.0"
    report = _report(after)
    text = render_report(report, ReportFormat.TEXT, RenderOptions())
    lines = text.splitlines()
    assert len(report.changes) > 100 and len(lines) <= 50, text
    first = next(line for line in lines if line.startswith("  "))
    assert first.startswith("  packages.torch.version:"), text  # the framework first
    assert sum("only in head.json" in line for line in lines) == 1
    assert "(+84 more; --all lists them)" in text
    assert sum(line.startswith("  cpu.flags") for line in lines) == 1
    everything = render_report(report, ReportFormat.TEXT, RenderOptions(show_all=True))
    assert all(f"extra-{index:02d} 0.1" in everything for index in range(80))
    markdown = render_report(report, ReportFormat.MARKDOWN, RenderOptions())
    assert markdown.count("\n| ") < 40


def test_many_effects_of_one_cause_are_cut_like_any_list_of_names() -> None:
    """A Python minor rebuilds every binary wheel: the cause's line names the first few of
    its effects and says how many more (all of them with --all), in every format."""
    base, after = copy.deepcopy(BASE), copy.deepcopy(BASE)
    after["python"]["version"] = "3.12.7"
    for index in range(20):
        name = f"ext-{index:02d}"
        for document, tag in ((base, "cp311"), (after, "cp312")):
            document["packages"][name] = {"name": name, "version": "1.0", "wheel": {
                "tags": [f"{tag}-{tag}-manylinux_2_17_x86_64"]}}
    report = _report(after, base)
    effects = [c.path for c in report.changes if c.cause == "python.version"]
    assert len(effects) >= 20
    more = f"(+{len(effects) - 8} more; --all lists them)"
    text = render_report(report, ReportFormat.TEXT, RenderOptions())
    [line] = [line for line in text.splitlines() if "with it:" in line]
    assert line.count(".wheel.tags") == 8 and line.endswith(more), line
    markdown = render_report(report, ReportFormat.MARKDOWN, RenderOptions())
    assert more in markdown and markdown.count("wheel&#46;tags") == 8
    everything = render_report(report, ReportFormat.TEXT, RenderOptions(show_all=True))
    assert all(path in everything for path in effects) and "more; --all" not in everything


def test_every_format_has_a_renderer() -> None:
    assert set(RENDERERS) == set(ReportFormat)


@pytest.mark.parametrize("fmt, suffix", [(ReportFormat.TEXT, "txt"), (ReportFormat.JSON, "json"),
                                         (ReportFormat.MARKDOWN, "md"),
                                         (ReportFormat.GITHUB, "github")])
def test_golden(fmt: ReportFormat, suffix: str, update_golden: bool) -> None:
    rendered = render_report(_report(_drifted()), fmt, RenderOptions(show_benign=True))
    golden = GOLDEN / f"drift.{suffix}"
    if update_golden:
        GOLDEN.mkdir(exist_ok=True)
        golden.write_text(rendered)
    assert rendered == golden.read_text(), f"run pytest --update-golden if {golden} is stale"


def test_json_report_contract() -> None:
    document = json.loads(render_report(_report(_drifted()), ReportFormat.JSON,
                                        RenderOptions()))
    assert set(document) >= {"schema", "summary", "changes"}
    assert set(document["summary"]) == {"breaking", "risky", "benign"}
    for change in document["changes"]:
        assert set(change) >= {"path", "before", "after", "severity", "reason", "reference",
                               "rule"}


def test_text_colour_only_when_asked() -> None:
    report = _report(_drifted())
    assert "\x1b[" not in render_report(report, ReportFormat.TEXT, RenderOptions(color=False))
    assert "\x1b[1;31mBREAKING" in render_report(report, ReportFormat.TEXT,
                                                 RenderOptions(color=True))


def test_markdown_is_cut_below_the_comment_limit() -> None:
    after = copy.deepcopy(BASE)
    for i in range(3000):  # settings are listed one by one; packages would be grouped
        after["env"][f"SETTING_{i:04d}"] = "1"
    text = render_markdown(_report(after))
    assert len(text) <= 65_536
    assert text.startswith(MARKER)
    assert re.search(r"_\d+ more entries not shown", text)


# ---- hostile strings ---------------------------------------------------------------------

HOSTILE = st.sampled_from([
    "<script>alert(1)</script>", "a|b|c", "x\ny", "@octocat", "[click](https://evil.example)",
    "![img](https://evil.example/p.png)", "`code`", "\x1b[2J\x1b]0;title\x07", "**bold**",
    "<img src=x onerror=alert(1)>", "&lt;", "\r\n::error::injected", "‮reversed", "%0A",
    "<!-- envcheck-report -->", "<!-- envcheck-report:diff -->", "| --- |", "\\|",
    "https://evil.example/x", "www.evil.com", "a@b.com",
]) | st.text(max_size=30)


def _hostile_report(name: str, version: str, value: str) -> Report:
    after = copy.deepcopy(BASE)
    after["packages"][name] = {"name": name, "version": version}
    after["env"]["NCCL_DEBUG"] = value
    after["packages"]["torch"]["version"] = version
    return _report(after)


@settings(max_examples=150, deadline=None)
@given(name=HOSTILE, version=HOSTILE, value=HOSTILE)
def test_markdown_cannot_be_hijacked(name: str, version: str, value: str) -> None:
    text = render_markdown(_hostile_report(name, version, value))
    body = text.replace(MARKER, "", 1)
    for rule in CATALOG:  # the catalog's own references are shown as links on purpose
        body = body.replace(f"({rule.reference})", "")
    # Only our own tags survive as HTML; everything else is an entity.
    tags = set(re.findall(r"</?([a-zA-Z]+)", body))
    assert tags <= {"code", "details", "summary"}
    assert "<!--" not in body and "](" not in body and "@" not in body
    assert "://" not in body and "www." not in body  # GitHub autolinks these even in <code>
    assert "\x1b" not in text and "\r" not in text
    for line in body.splitlines():
        if line.startswith("|"):
            header = 5 if line.count("|") == 6 else 4
            assert line.count("|") == header + 1, line


@settings(max_examples=150, deadline=None)
@given(name=HOSTILE, version=HOSTILE, value=HOSTILE)
def test_text_and_github_cannot_be_hijacked(name: str, version: str, value: str) -> None:
    report = _hostile_report(name, version, value)
    text = render_report(report, ReportFormat.TEXT, RenderOptions(show_benign=True))
    assert not re.search(r"[\x00-\x09\x0b-\x1f\x7f\u202e]", text)
    github = render_report(report, ReportFormat.GITHUB, RenderOptions())
    lines = github.rstrip("\n").split("\n")
    assert all(line.startswith(("::error ", "::warning ", "::notice ")) for line in lines)
    expected = sum(1 for c in report.changes if c.severity.value != "benign") + 1
    assert len(lines) == expected
    assert not re.search(r"[\x00-\x09\x0b-\x1f\x7f\x85\u2028\u2029]", github)
