"""Judging differences: a scenario corpus built from real snapshots, and properties.

The base documents in tests/data are real snapshots of this machine (one of them
with the compiled fake NVML reporting two A100s); each scenario applies one
controlled change, the way environments really drift, and names the verdict.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from envcheck.config import Config
from envcheck.drift import diff, version_kind
from envcheck.model import Fingerprint
from envcheck.rules import Severity
from envcheck.rules.catalog import CATALOG

from conftest import DATA

B, R, OK = Severity.BREAKING, Severity.RISKY, Severity.BENIGN
Doc = dict[str, Any]


def _doc(name: str) -> Doc:
    document: Doc = json.loads((DATA / name).read_text())
    return document


CPU = _doc("cpu-torch.json")
GPU = _doc("fake-2xa100.json")
ONE_GPU = {**GPU, "gpus": GPU["gpus"][:1]}


def _fp(document: Doc) -> Fingerprint:
    return Fingerprint.from_dict(copy.deepcopy(document), "test")


def _set(path: str, value: Any) -> Callable[[Doc], None]:
    def apply(document: Doc) -> None:
        node = document
        parts = path.split(".")
        for part in parts[:-1]:
            node = node[int(part)] if isinstance(node, list) else node.setdefault(part, {})
        if isinstance(node, list):
            node[int(parts[-1])] = value
        else:
            node[parts[-1]] = value
    return apply


def _each_gpu(field: str, value: Any) -> Callable[[Doc], None]:
    def apply(document: Doc) -> None:
        for gpu in document["gpus"]:
            gpu[field] = value
    return apply


def _add_package(name: str, version: str) -> Callable[[Doc], None]:
    return _set(f"packages.{name}", {"name": name, "version": version})


def _drop(path: str) -> Callable[[Doc], None]:
    def apply(document: Doc) -> None:
        section, _, key = path.partition(".")
        del document[section][key]
    return apply


def _single_gpu(document: Doc) -> None:
    document["gpus"] = document["gpus"][:1]


SCENARIOS: list[tuple[str, Doc, Callable[[Doc], None], str, Severity, str]] = [
    # (name, base, change, expected path, severity, rule)
    ("torch cpu -> cu121 label", CPU, _set("packages.torch.version", "2.13.0+cu121"),
     "packages.torch.version", B, "torch-local-label"),
    ("torch patch", CPU, _set("packages.torch.version", "2.13.1+cpu"),
     "packages.torch.version", B, "torch-version"),
    ("torch same version, other files", CPU,
     _set("packages.torch.record_digest", "sha256:" + "0" * 64),
     "packages.torch.record_digest", B, "torch-build"),
    ("torch removed", CPU, _drop("packages.torch"), "packages.torch", B,
     "framework-added-removed"),
    ("tensorflow 2.5 -> 2.6", CPU, _add_package("tensorflow", "2.5.0"), "packages.tensorflow",
     B, "framework-added-removed"),
    ("numpy 2.x -> 1.x", CPU, _set("packages.numpy.version", "1.26.4"),
     "packages.numpy.version", B, "numpy-major"),
    ("numpy minor", CPU, _set("packages.numpy.version", "2.5.0"), "packages.numpy.version", R,
     "numpy-minor"),
    ("tokenizers patch", CPU, _add_package("tokenizers", "0.19.1"), "packages.tokenizers", R,
     "package-added-removed"),
    ("unknown package minor", CPU, _set("packages.jinja2.version", "3.0.0"),
     "packages.jinja2.version", R, "package-major-minor"),
    ("unknown package patch", CPU, _set("packages.jinja2.version", "3.1.99"),
     "packages.jinja2.version", OK, "package-patch"),
    ("unknown package rebuilt", CPU, _set("packages.jinja2.record_digest", "sha256:00"),
     "packages.jinja2.record_digest", R, "package-build"),
    ("cuDNN wheel", GPU, _add_package("nvidia-cudnn-cu12", "9.1.0.70"),
     "packages.nvidia-cudnn-cu12", B, "nvidia-wheel"),
    ("NCCL wheel, two GPUs", GPU, _add_package("nvidia-nccl-cu12", "2.20.5"),
     "packages.nvidia-nccl-cu12", R, "nvidia-nccl-wheel"),
    ("NCCL wheel, no GPU", CPU, _add_package("nvidia-nccl-cu12", "2.20.5"),
     "packages.nvidia-nccl-cu12", OK, "nvidia-nccl-wheel"),
    ("torch built for CUDA", CPU, _set("frameworks.torch.cuda", "12.1"),
     "frameworks.torch.cuda", B, "framework-cuda-build"),
    ("numpy BLAS backend", CPU, _set("frameworks.numpy.blas", "mkl"), "frameworks.numpy.blas",
     B, "framework-blas"),
    ("A100 -> V100 crosses TF32", GPU, _each_gpu("compute_capability", "7.0"),
     "gpus.*.compute_capability", B, "gpu-tf32"),
    ("A100 -> H100 architecture", GPU, _each_gpu("compute_capability", "9.0"),
     "gpus.*.compute_capability", B, "gpu-architecture"),
    ("MIG slice", GPU, _each_gpu("multiprocessors", 42), "gpus.*.multiprocessors", R,
     "gpu-multiprocessors"),
    ("GPU count", GPU, _single_gpu, "gpus.count", B, "gpu-count"),
    ("GPU memory only", GPU, _each_gpu("memory_total_mib", 40960), "gpus.*.memory_total_mib",
     OK, "gpu-memory"),
    ("TF32 override on Ampere", GPU, _set("env.TORCH_ALLOW_TF32_CUBLAS_OVERRIDE", "1"),
     "env.TORCH_ALLOW_TF32_CUBLAS_OVERRIDE", B, "env-tf32"),
    ("TF32 override without GPU", CPU, _set("env.NVIDIA_TF32_OVERRIDE", "0"),
     "env.NVIDIA_TF32_OVERRIDE", OK, "env-tf32"),
    ("NCCL_ALGO on two GPUs", GPU, _set("env.NCCL_ALGO", "Tree"), "env.NCCL_ALGO", B,
     "env-nccl-algorithm"),
    ("NCCL_ALGO on one GPU", ONE_GPU, _set("env.NCCL_ALGO", "Tree"), "env.NCCL_ALGO", OK,
     "env-nccl-algorithm"),
    ("TF_DETERMINISTIC_OPS on one node", CPU, _set("env.TF_DETERMINISTIC_OPS", "1"),
     "env.TF_DETERMINISTIC_OPS", B, "env-determinism"),
    ("thread count", CPU, _set("env.OMP_NUM_THREADS", "4"), "env.OMP_NUM_THREADS", R,
     "env-threads"),
    ("allocator setting", CPU, _set("env.PYTORCH_CUDA_ALLOC_CONF", "expandable_segments:True"),
     "env.PYTORCH_CUDA_ALLOC_CONF", OK, "env-benign"),
    ("AVX-512 gone, CPU-only job", CPU,
     lambda d: d["cpu"]["flags"].remove("avx512f"), "cpu.flags.avx512f", B, "cpu-isa"),
    ("AVX-512 gone, GPU job", GPU,
     lambda d: d["cpu"]["flags"].remove("avx512f"), "cpu.flags.avx512f", R, "cpu-isa"),
    ("usable cores", CPU, _set("cpu.usable_cores", 64), "cpu.usable_cores", R, "cpu-cores"),
    ("Python minor", CPU, _set("python.version", "3.12.1"), "python.version", R,
     "python-major-minor"),
    ("Python patch", CPU, _set("python.version", "3.11.9"), "python.version", OK,
     "python-patch"),
    ("glibc", CPU, _set("os.libc.version", "2.27"), "os.libc.version", R, "libc-version"),
    ("kernel", CPU, _set("os.kernel", "5.15.0"), "os.kernel", OK, "os-benign"),
    ("system cuDNN", CPU, _set("cuda.system_libraries.cudnn", {"version": "8.9.2"}),
     "cuda.system_libraries.cudnn", B, "cuda-system-libraries"),
    ("system toolkit", CPU, _set("cuda.toolkit", {"version": "12.4.131"}),
     "cuda.toolkit.version", OK, "cuda-toolkit"),
    ("driver", GPU, _set("cuda.driver_version", "535.104.05"), "cuda.driver_version", R,
     "cuda-driver"),
    ("shadowed copy appears", CPU,
     _set("packages.jinja2.shadowed", [{"version": "2.11.3", "location": "/usr/lib"}]),
     "packages.jinja2.shadowed", R, "package-shadowed"),
]


@pytest.mark.parametrize(
    "base, change, path, severity, rule",
    [pytest.param(*s[1:], id=s[0]) for s in SCENARIOS],
)
def test_scenario(base: Doc, change: Callable[[Doc], None], path: str, severity: Severity,
                  rule: str) -> None:
    after = copy.deepcopy(base)
    change(after)
    report = diff(_fp(base), _fp(after))
    matching = [c for c in report.changes if c.path == path]
    assert len(matching) == 1, [c.path for c in report.changes]
    found = matching[0]
    assert (found.severity, found.rule) == (severity, rule), found
    assert found.reason and found.reference


def test_tensorflow_crossing_2_9_on_x86_names_onednn() -> None:
    before, after = copy.deepcopy(CPU), copy.deepcopy(CPU)
    _add_package("tensorflow", "2.8.4")(before)
    _add_package("tensorflow", "2.9.1")(after)
    change = diff(_fp(before), _fp(after)).changes[0]
    assert (change.rule, change.severity) == ("tensorflow-onednn-default", B)
    _add_package("tensorflow", "2.10.0")(before)
    _add_package("tensorflow", "2.11.0")(after)
    assert diff(_fp(before), _fp(after)).changes[0].rule == "tensorflow-minor"


def test_identical_and_volatile_only_differences_are_empty() -> None:
    moved = copy.deepcopy(GPU)
    moved["meta"]["hostname"] = "node-17"
    moved["python"]["executable"] = "/elsewhere/bin/python"
    for gpu in moved["gpus"]:
        gpu["uuid"] = "GPU-other"
    report = diff(_fp(GPU), _fp(moved))
    assert report.changes == []
    assert report.a.id == report.b.id


def test_ordering_summary_and_fail_on() -> None:
    after = copy.deepcopy(CPU)
    _set("os.kernel", "5.4")(after)
    _set("env.OMP_NUM_THREADS", "2")(after)
    _set("packages.torch.version", "2.14.0+cpu")(after)
    report = diff(_fp(CPU), _fp(after))
    assert [c.severity for c in report.changes] == [B, R, OK]
    assert report.summary() == {"breaking": 1, "risky": 1, "benign": 1}
    assert report.fails("breaking") and report.fails("risky") and report.fails("any")
    assert not report.fails("never")
    benign_only = diff(_fp(CPU), _fp({**copy.deepcopy(CPU),
                                       "os": {**CPU["os"], "kernel": "1.0"}}))
    assert not benign_only.fails("risky") and benign_only.fails("any")


def test_configuration_ignores_tolerates_and_overrides() -> None:
    after = copy.deepcopy(CPU)
    _set("packages.jinja2.version", "3.0.0")(after)
    _set("packages.numpy.version", "2.4.7")(after)
    _set("env.OMP_NUM_THREADS", "2")(after)
    config = Config(ignore_packages=("jinja*",), tolerate_patch=("numpy",),
                    severity={"env-threads": Severity.BREAKING}, source="envcheck.toml")
    changes = {c.path: c for c in diff(_fp(CPU), _fp(after), config).changes}
    assert "packages.jinja2.version" not in changes
    assert changes["packages.numpy.version"].severity is OK
    assert changes["packages.numpy.version"].rule == "config-tolerate-patch"
    assert changes["env.OMP_NUM_THREADS"].severity is B
    assert "by configuration" in changes["env.OMP_NUM_THREADS"].reason
    relabelled = copy.deepcopy(CPU)
    _set("packages.torch.version", "2.13.0+cu121")(relabelled)
    local = diff(_fp(CPU), _fp(relabelled), Config(tolerate_patch=("torch",))).changes[0]
    assert (local.severity, local.rule) == (B, "torch-local-label")  # a build, not a patch
    ignored = diff(_fp(CPU), _fp(after), Config(ignore=("env", "packages.numpy")))
    assert [c.path for c in ignored.changes] == ["packages.jinja2.version"]


@pytest.mark.parametrize("before, after, kind", [
    ("1.0", "2.0", "major"), ("2.1.0", "2.2.0", "minor"), ("2.1.0", "2.1.2", "patch"),
    ("2.1.0", "2.1.0.post1", "patch"), ("2.1.0rc1", "2.1.0", "patch"),
    ("2.1.0+cu118", "2.1.0+cu121", "local"), ("1.0", "1.0.0", None), ("1!1.0", "1.0", "major"),
    ("weird-version", "1.0", "changed"),
])
def test_version_kinds(before: str, after: str, kind: str | None) -> None:
    assert version_kind(before, after) == kind


def test_every_rule_has_a_reference_and_a_unique_id() -> None:
    ids = [rule.id for rule in CATALOG]
    assert len(ids) == len(set(ids))
    assert all(rule.reference and rule.reason for rule in CATALOG)
    assert CATALOG[-1].id == "unknown"  # the fallback: nothing is silently benign


# ---- properties -------------------------------------------------------------------------

_versions = st.from_regex(r"[0-9]{1,2}(\.[0-9]{1,2}){0,2}(\+[a-z0-9]{1,5})?", fullmatch=True)
_names = st.from_regex(r"[a-z][a-z0-9-]{0,12}", fullmatch=True)
_env_values = st.none() | st.text(max_size=20)


@st.composite
def fingerprints(draw: st.DrawFn) -> Doc:
    document = copy.deepcopy(GPU if draw(st.booleans()) else CPU)
    for name in draw(st.lists(_names, max_size=6)):
        document["packages"][name] = {"name": name, "version": draw(_versions)}
    for name in draw(st.lists(st.sampled_from(sorted(document["packages"])), max_size=4)):
        document["packages"].pop(name, None)
    for variable in draw(st.lists(st.sampled_from(sorted(document["env"])), max_size=4)):
        document["env"][variable] = draw(_env_values)
    if draw(st.booleans()):
        document["gpus"] = document["gpus"][: draw(st.integers(0, 2))]
    if draw(st.booleans()):
        document["cpu"]["flags"] = draw(st.lists(st.sampled_from(["avx2", "avx512f", "fma",
                                                                   "amx_tile"]), unique=True))
    return document


@settings(max_examples=60, deadline=None)
@given(fingerprints())
def test_a_fingerprint_has_no_difference_from_itself(document: Doc) -> None:
    assert diff(_fp(document), _fp(document)).changes == []


@settings(max_examples=60, deadline=None)
@given(fingerprints(), fingerprints())
def test_diff_mirrors(a: Doc, b: Doc) -> None:
    forward = diff(_fp(a), _fp(b)).changes
    backward = diff(_fp(b), _fp(a)).changes
    assert {(c.path, c.severity, json.dumps(c.before), json.dumps(c.after)) for c in forward} \
        == {(c.path, c.severity, json.dumps(c.after), json.dumps(c.before)) for c in backward}
