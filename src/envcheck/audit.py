"""One machine, looked at closely: settings that keep its own runs from repeating.

Each check is data (id, severity, reference) plus one small predicate over a
fingerprint; a finding says what is wrong now and what to set instead. The
result is a ``Report`` like diff's (``before`` = now, ``after`` = suggested), so
every renderer, ``--fail-on`` and the exit codes work the same.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, NamedTuple

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import Version

from .drift import CATALOG_REFERENCES
from .evidence import loaded_mismatches
from .model import Fingerprint
from .model.report import Change, Report, Side
from .model.severity import Severity
from .probe.packages import normalize_name
from .rules.context import ampere_gpus, gpus_of

if TYPE_CHECKING:
    from .verify import VerifyReport

B, R, OK = Severity.BREAKING, Severity.RISKY, Severity.BENIGN
TORCH_RANDOMNESS = "https://pytorch.org/docs/stable/notes/randomness.html"
CUDA_COMPAT = "https://docs.nvidia.com/deploy/cuda-compatibility/"


class Finding(NamedTuple):
    path: str
    now: Any
    suggested: Any
    severity: Severity
    explanation: str


Check = Callable[[dict[str, Any]], Iterator[Finding]]


class AuditCheck(NamedTuple):
    id: str
    reference: str
    run: Check


def _env(document: dict[str, Any]) -> dict[str, Any]:
    env = document.get("env")
    return env if isinstance(env, dict) else {}


def _cublas_workspace(document: dict[str, Any]) -> Iterator[Finding]:
    if gpus_of(document) and not _env(document).get("CUBLAS_WORKSPACE_CONFIG"):
        yield Finding("env.CUBLAS_WORKSPACE_CONFIG", "unset", ":4096:8", R,
                      "cuBLAS picks workspace-dependent kernels: set "
                      "CUBLAS_WORKSPACE_CONFIG=:4096:8 (or :16:8) for deterministic results; "
                      "torch.use_deterministic_algorithms(True) requires it")


def _tf32_overrides(document: dict[str, Any]) -> Iterator[Finding]:
    env, ampere = _env(document), ampere_gpus(document)
    names = sorted({str(g.get("name")) for g in ampere if g.get("name")})
    for variable, forced_on in (("TORCH_ALLOW_TF32_CUBLAS_OVERRIDE", "1"),
                                ("NVIDIA_TF32_OVERRIDE", None)):
        value = env.get(variable)
        if value is None:
            continue
        if not ampere:
            yield Finding(f"env.{variable}", value, None, OK,
                          f"{variable} has no effect here: no GPU of compute capability 8.0+")
        elif value == forced_on or (forced_on is None and value != "0"):
            yield Finding(f"env.{variable}", value, None, B,
                          f"TF32 is forced on for {', '.join(names)}: float32 matmuls run with "
                          "a 10-bit mantissa; unset it for full-precision, comparable results "
                          "(NGC PyTorch images set TORCH_ALLOW_TF32_CUBLAS_OVERRIDE=1)")
        else:
            yield Finding(f"env.{variable}", value, None, R,
                          f"TF32 is switched off for {', '.join(names)}: results differ from "
                          "machines where frameworks use their TF32 defaults")


def _hash_seed(document: dict[str, Any]) -> Iterator[Finding]:
    if _env(document).get("PYTHONHASHSEED") is None:
        yield Finding("env.PYTHONHASHSEED", "unset", "0", R,
                      "str hashes are randomised per process, so iteration over sets of strings "
                      "(vocabularies, feature names) changes between runs: set PYTHONHASHSEED")


def _threads(document: dict[str, Any]) -> Iterator[Finding]:
    env, cpu = _env(document), document.get("cpu") or {}
    cores = cpu.get("usable_cores") or cpu.get("logical_cores") or 0
    if cores > 8 and not env.get("OMP_NUM_THREADS") and not env.get("MKL_NUM_THREADS"):
        yield Finding("env.OMP_NUM_THREADS", "unset", str(min(cores, 16)), R,
                      f"{cores} cores and no thread count set: OpenMP/MKL size their pools "
                      "from the machine, so reductions sum in a different order on a machine "
                      "with other cores; set OMP_NUM_THREADS (and MKL_NUM_THREADS)")


def _shadowed(document: dict[str, Any]) -> Iterator[Finding]:
    for name, package in sorted((document.get("packages") or {}).items()):
        for copy in package.get("shadowed") or []:
            yield Finding(f"packages.{name}.shadowed",
                          f"{copy.get('version')} at {copy.get('location')}", None, R,
                          f"two copies of {name}: {package.get('version')} from "
                          f"{package.get('location')} is the one imported; "
                          f"{copy.get('version')} in {copy.get('location')} is shadowed. "
                          "Remove the copy you do not want")


def _deprecated_pynvml(document: dict[str, Any]) -> Iterator[Finding]:
    packages = document.get("packages") or {}
    if "pynvml" in packages:
        yield Finding("packages.pynvml", packages["pynvml"].get("version"), None, R,
                      "the deprecated pynvml distribution is installed"
                      + (" beside nvidia-ml-py" if "nvidia-ml-py" in packages else "")
                      + ": both provide the pynvml module and it warns on every import; "
                        "`pip uninstall pynvml` and keep nvidia-ml-py")


def _version(text: Any) -> Version | None:
    try:
        return Version(str(text))
    except ValueError:  # InvalidVersion, or a number too long for int()
        return None


def _driver_too_old(document: dict[str, Any]) -> Iterator[Finding]:
    supported = _version((document.get("cuda") or {}).get("driver_cuda_version"))
    if supported is None:
        return
    for name, framework in sorted((document.get("frameworks") or {}).items()):
        built = _version((framework or {}).get("cuda"))
        if built is not None and built.release[:2] > supported.release[:2]:
            yield Finding(f"frameworks.{name}.cuda", str(built), None, B,
                          f"{name} was built for CUDA {built} but the driver supports CUDA "
                          f"{supported} at most: upgrade the NVIDIA driver or install a "
                          f"{name} build for CUDA {supported} or older")


def _nvidia_wheels(document: dict[str, Any]) -> Iterator[Finding]:
    packages = document.get("packages") or {}
    for name, framework in sorted((document.get("frameworks") or {}).items()):
        for wheel, spec in sorted(((framework or {}).get("nvidia_requirements") or {}).items()):
            installed = (packages.get(wheel) or {}).get("version")
            try:
                wanted = SpecifierSet(spec)
            except InvalidSpecifier:
                continue
            if installed is None:
                yield Finding(f"packages.{wheel}", None, spec, B,
                              f"{name} requires {wheel}{spec}, which is not installed")
            elif spec and not wanted.contains(installed, prereleases=True):
                yield Finding(f"packages.{wheel}.version", installed, spec, B,
                              f"{name} was built against {wheel}{spec}, but {installed} is "
                              "installed: reinstall the version the framework pins")


def _loaded_mismatch(document: dict[str, Any]) -> Iterator[Finding]:
    for path, static, loaded, what in loaded_mismatches(document):
        yield Finding(path, static, loaded, B,
                      f"the files on disk say {static}, but {what} is {loaded}: another copy "
                      "on the loader path wins (LD_LIBRARY_PATH, LD_PRELOAD, a system library)")


CHECKS: tuple[AuditCheck, ...] = (
    AuditCheck("audit-loaded-mismatch", "pytorch/pytorch#78489", _loaded_mismatch),
    AuditCheck("audit-driver-too-old", CUDA_COMPAT, _driver_too_old),
    AuditCheck("audit-nvidia-wheels", "pytorch/pytorch#103091", _nvidia_wheels),
    AuditCheck("audit-tf32-override", "pytorch/pytorch#67384", _tf32_overrides),
    AuditCheck("audit-cublas-workspace", TORCH_RANDOMNESS, _cublas_workspace),
    AuditCheck("audit-shadowed", "pip docs: pip inspect", _shadowed),
    AuditCheck("audit-pynvml", "https://pypi.org/project/pynvml/", _deprecated_pynvml),
    AuditCheck("audit-threads", "oneMKL developer guide: reproducibility conditions", _threads),
    AuditCheck("audit-hash-seed",
               "https://docs.python.org/3/using/cmdline.html#envvar-PYTHONHASHSEED", _hash_seed),
)


def audit(fingerprint: Fingerprint, label: str = ".",
          extra: list[Change] | None = None) -> Report:
    """Every finding for one fingerprint, most severe first, as a Report."""
    changes = [
        Change(f.path, f.now, f.suggested, f.severity, f.explanation, check.reference, check.id,
               "audit")
        for check in CHECKS for f in check.run(fingerprint.data)
    ] + list(extra or [])
    changes.sort(key=lambda c: (-c.severity.rank, c.path))
    return Report(Side(label, fingerprint.id), Side("recommended", fingerprint.id), changes, [],
                  kind="audit", own_references=CATALOG_REFERENCES | frozenset(
                      check.reference for check in CHECKS))


# ---- files changed since install (verify) -------------------------------------------------

FRAMEWORKS = ("torch", "tensorflow", "jax", "jaxlib", "numpy", "scipy")


def _changed_files(package: Any) -> dict[str, list[str]]:
    return {kind: files for kind, files in (
        ("modified", [m.path for m in package.modified]), ("missing", list(package.missing)),
        ("added", list(package.added))) if files}


def file_findings(report: VerifyReport) -> list[Change]:
    """verify's results as audit findings: edited or deleted files, extra files."""
    findings = []
    for package in report.packages:
        changed = _changed_files(package)
        if not changed:
            continue
        edited = changed.get("modified", []) + changed.get("missing", [])
        severity = (B if package.name in FRAMEWORKS else R) if edited else R
        listed = ", ".join((edited or changed.get("added", []))[:3])
        findings.append(Change(
            f"packages.{package.name}.files", ", ".join(f"{len(v)} {k}"
                                                        for k, v in changed.items()),
            "as installed", severity,
            f"files of {package.name} differ from its RECORD ({listed}"
            f"{', ...' if sum(map(len, changed.values())) > 3 else ''}): "
            f"`pip install --force-reinstall --no-deps {package.name}=={package.version}` "
            "restores them", "PEP 376 (RECORD); envcheck verify", "audit-files-changed",
            "audit"))
    return findings


def with_file_changes(fingerprint: Fingerprint, report: VerifyReport) -> Fingerprint:
    """A deep fingerprint: each package with its files changed since install."""
    data = dict(fingerprint.data)
    packages = {name: dict(p) for name, p in (data.get("packages") or {}).items()}
    for package in report.packages:
        key = normalize_name(package.name)
        changed = _changed_files(package)
        # Only where files differ: a clean deep snapshot has the id of a plain one.
        if key in packages and changed:
            packages[key]["files_changed"] = changed
    data["packages"] = packages
    data["meta"] = dict(data.get("meta") or {}, deep=True)
    return Fingerprint.from_dict(data, "deep snapshot")
