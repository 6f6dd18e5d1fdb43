"""One machine, looked at closely: settings that keep its own runs from repeating.

The checks are data, like the rule catalog: each has an id, a reference and the
outcomes it can find, each outcome with its severity and its reason (a template
over the facts found). What is code is only the detector that reads a fingerprint
and names the outcome, where it is, what is set now and what to set instead. The
result is an :class:`~envcheck.model.audit.AuditReport`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, NamedTuple

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import Version

from .drift import CATALOG_REFERENCES
from .evidence import loaded_mismatches
from .model import Fingerprint
from .model.audit import AuditFinding, AuditReport
from .model.report import Side
from .model.severity import Severity
from .probe.packages import normalize_name
from .rules.context import ampere_gpus, gpus_of

if TYPE_CHECKING:
    from .verify import PackageResult, VerifyReport

B, R, OK = Severity.BREAKING, Severity.RISKY, Severity.BENIGN
TORCH_RANDOMNESS = "https://pytorch.org/docs/stable/notes/randomness.html"
CUDA_COMPAT = "https://docs.nvidia.com/deploy/cuda-compatibility/"


class Outcome(NamedTuple):
    """One thing a check can find: how much it matters, and why (``str.format`` over the
    facts the detector found)."""

    severity: Severity
    reason: str


class Hit(NamedTuple):
    """What a detector found: which outcome, where, what is set now, what to set instead,
    and the facts its reason names."""

    outcome: str
    path: str
    now: object  # a JSON value, as in the fingerprint
    suggested: object
    facts: Mapping[str, object]


Detector = Callable[[Fingerprint], Iterator[Hit]]


class AuditCheck(NamedTuple):
    id: str
    reference: str
    outcomes: Mapping[str, Outcome]
    detect: Detector | None  # None: fed from elsewhere (verify's results, with --deep)

    def finding(self, hit: Hit) -> AuditFinding:
        outcome = self.outcomes[hit.outcome]
        return AuditFinding(hit.path, hit.now, hit.suggested, outcome.severity,
                            outcome.reason.format_map(hit.facts), self.reference, self.id)


def _cublas_workspace(fp: Fingerprint) -> Iterator[Hit]:
    if gpus_of(fp.data) and not fp.env.get("CUBLAS_WORKSPACE_CONFIG"):
        yield Hit("unset", "env.CUBLAS_WORKSPACE_CONFIG", "unset", ":4096:8", {})


def _tf32_overrides(fp: Fingerprint) -> Iterator[Hit]:
    env, ampere = fp.env, ampere_gpus(fp.data)
    names = ", ".join(sorted({str(g.get("name")) for g in ampere if g.get("name")}))
    for variable, forced_on in (("TORCH_ALLOW_TF32_CUBLAS_OVERRIDE", "1"),
                                ("NVIDIA_TF32_OVERRIDE", None)):
        value = env.get(variable)
        if value is None:
            continue
        if not ampere:
            outcome = "no-effect"
        elif value == forced_on or (forced_on is None and value != "0"):
            outcome = "forced-on"
        else:
            outcome = "forced-off"
        yield Hit(outcome, f"env.{variable}", value, None, {"variable": variable, "gpus": names})


def _hash_seed(fp: Fingerprint) -> Iterator[Hit]:
    if fp.env.get("PYTHONHASHSEED") is None:
        yield Hit("unset", "env.PYTHONHASHSEED", "unset", "0", {})


def _threads(fp: Fingerprint) -> Iterator[Hit]:
    env, cpu = fp.env, fp.cpu
    cores = cpu.get("usable_cores") or cpu.get("logical_cores") or 0
    if cores > 8 and not env.get("OMP_NUM_THREADS") and not env.get("MKL_NUM_THREADS"):
        yield Hit("unpinned", "env.OMP_NUM_THREADS", "unset", str(min(cores, 16)),
                  {"cores": cores})


def _shadowed(fp: Fingerprint) -> Iterator[Hit]:
    for name, package in sorted(fp.packages.items()):
        for copy in package.get("shadowed") or []:
            yield Hit("shadowed", f"packages.{name}.shadowed",
                      f"{copy.get('version')} at {copy.get('location')}", None,
                      {"name": name, "version": package.get("version"),
                       "location": package.get("location"), "copy_version": copy.get("version"),
                       "copy_location": copy.get("location")})


def _deprecated_pynvml(fp: Fingerprint) -> Iterator[Hit]:
    packages = fp.packages
    if "pynvml" in packages:
        yield Hit("beside" if "nvidia-ml-py" in packages else "alone", "packages.pynvml",
                  packages["pynvml"].get("version"), None, {})


def _version(text: object) -> Version | None:
    try:
        return Version(str(text))
    except ValueError:  # InvalidVersion, or a number too long for int()
        return None


def _driver_too_old(fp: Fingerprint) -> Iterator[Hit]:
    supported = _version(fp.cuda.get("driver_cuda_version"))
    if supported is None:
        return
    for name, framework in sorted(fp.frameworks.items()):
        built = _version((framework or {}).get("cuda"))
        if built is not None and built.release[:2] > supported.release[:2]:
            yield Hit("too-old", f"frameworks.{name}.cuda", str(built), None,
                      {"name": name, "built": built, "supported": supported})


def _nvidia_wheels(fp: Fingerprint) -> Iterator[Hit]:
    packages = fp.packages
    for name, framework in sorted(fp.frameworks.items()):
        for wheel, spec in sorted(((framework or {}).get("nvidia_requirements") or {}).items()):
            installed = (packages.get(wheel) or {}).get("version")
            try:
                wanted = SpecifierSet(spec)
            except InvalidSpecifier:
                continue
            facts = {"name": name, "wheel": wheel, "spec": spec, "installed": installed}
            if installed is None:
                yield Hit("missing", f"packages.{wheel}", None, spec, facts)
            elif spec and not wanted.contains(installed, prereleases=True):
                yield Hit("other-version", f"packages.{wheel}.version", installed, spec, facts)


def _loaded_mismatch(fp: Fingerprint) -> Iterator[Hit]:
    for path, static, loaded, what in loaded_mismatches(fp.data):
        yield Hit("mismatch", path, static, loaded,
                  {"static": static, "loaded": loaded, "what": what})


# ---- the catalog ------------------------------------------------------------------------

_FILES_REASON = ("files of {name} differ from its RECORD ({listed}{more}): "
                 "`pip install --force-reinstall --no-deps {name}=={version}` restores them")
_DEBIAN_REASON = ("files of {name} differ from what the Debian package {package} installed "
                  "({listed}{more}): `apt-get install --reinstall {package}` restores them")
FILES_CHANGED = AuditCheck("audit-files-changed", "PEP 376 (RECORD); envcheck verify", {
    "framework-edited": Outcome(B, _FILES_REASON),  # a framework's files edited or deleted
    "edited": Outcome(R, _FILES_REASON),
    "added": Outcome(R, _FILES_REASON),  # only files added: nothing installed was changed
    # Installed by dpkg (Debian's python3-*), checked against its md5sums: apt restores it.
    "framework-edited-debian": Outcome(B, _DEBIAN_REASON),
    "edited-debian": Outcome(R, _DEBIAN_REASON),
    "added-debian": Outcome(R, _DEBIAN_REASON),
}, None)

CHECKS: tuple[AuditCheck, ...] = (
    AuditCheck("audit-loaded-mismatch", "pytorch/pytorch#78489", {
        "mismatch": Outcome(B, "the files on disk say {static}, but {what} is {loaded}: "
                               "another copy on the loader path wins (LD_LIBRARY_PATH, "
                               "LD_PRELOAD, a system library)"),
    }, _loaded_mismatch),
    AuditCheck("audit-driver-too-old", CUDA_COMPAT, {
        "too-old": Outcome(B, "{name} was built for CUDA {built} but the driver supports CUDA "
                              "{supported} at most: upgrade the NVIDIA driver or install a "
                              "{name} build for CUDA {supported} or older"),
    }, _driver_too_old),
    AuditCheck("audit-nvidia-wheels", "pytorch/pytorch#103091", {
        "missing": Outcome(B, "{name} requires {wheel}{spec}, which is not installed"),
        "other-version": Outcome(B, "{name} was built against {wheel}{spec}, but {installed} "
                                    "is installed: reinstall the version the framework pins"),
    }, _nvidia_wheels),
    AuditCheck("audit-tf32-override", "pytorch/pytorch#67384", {
        "no-effect": Outcome(OK, "{variable} has no effect here: no GPU of compute "
                                 "capability 8.0+"),
        "forced-on": Outcome(B, "TF32 is forced on for {gpus}: float32 matmuls run with a "
                                "10-bit mantissa; unset it for full-precision, comparable "
                                "results (NGC PyTorch images set "
                                "TORCH_ALLOW_TF32_CUBLAS_OVERRIDE=1)"),
        "forced-off": Outcome(R, "TF32 is switched off for {gpus}: results differ from "
                                 "machines where frameworks use their TF32 defaults"),
    }, _tf32_overrides),
    AuditCheck("audit-cublas-workspace", TORCH_RANDOMNESS, {
        "unset": Outcome(R, "cuBLAS picks workspace-dependent kernels: set "
                            "CUBLAS_WORKSPACE_CONFIG=:4096:8 (or :16:8) for deterministic "
                            "results; torch.use_deterministic_algorithms(True) requires it"),
    }, _cublas_workspace),
    AuditCheck("audit-shadowed", "pip docs: pip inspect", {
        "shadowed": Outcome(R, "two copies of {name}: {version} from {location} is the one "
                               "imported; {copy_version} in {copy_location} is shadowed. "
                               "Remove the copy you do not want"),
    }, _shadowed),
    AuditCheck("audit-pynvml", "https://pypi.org/project/pynvml/", {
        "alone": Outcome(R, "the deprecated pynvml distribution is installed: both provide "
                            "the pynvml module and it warns on every import; `pip uninstall "
                            "pynvml` and keep nvidia-ml-py"),
        "beside": Outcome(R, "the deprecated pynvml distribution is installed beside "
                             "nvidia-ml-py: both provide the pynvml module and it warns on "
                             "every import; `pip uninstall pynvml` and keep nvidia-ml-py"),
    }, _deprecated_pynvml),
    AuditCheck("audit-threads", "oneMKL developer guide: reproducibility conditions", {
        "unpinned": Outcome(R, "{cores} cores and no thread count set: OpenMP/MKL size their "
                               "pools from the machine, so reductions sum in a different "
                               "order on a machine with other cores; set OMP_NUM_THREADS "
                               "(and MKL_NUM_THREADS)"),
    }, _threads),
    AuditCheck("audit-hash-seed",
               "https://docs.python.org/3/using/cmdline.html#envvar-PYTHONHASHSEED", {
                   "unset": Outcome(R, "str hashes are randomised per process, so iteration "
                                       "over sets of strings (vocabularies, feature names) "
                                       "changes between runs: set PYTHONHASHSEED"),
               }, _hash_seed),
)
CATALOG = (*CHECKS, FILES_CHANGED)  # every check, for documentation and references


def audit(fingerprint: Fingerprint, label: str = ".",
          extra: list[AuditFinding] | None = None) -> AuditReport:
    """Every finding for one fingerprint, most severe first."""
    findings = [check.finding(hit) for check in CHECKS if check.detect is not None
                for hit in check.detect(fingerprint)] + list(extra or [])
    findings.sort(key=lambda f: (-f.severity.rank, f.path))
    return AuditReport(Side(label, fingerprint.id), findings, CATALOG_REFERENCES | frozenset(
        check.reference for check in CATALOG))


# ---- files changed since install (verify) -------------------------------------------------

FRAMEWORKS = ("torch", "tensorflow", "jax", "jaxlib", "numpy", "scipy")


def _changed_files(package: PackageResult) -> dict[str, list[str]]:
    return {kind: files for kind, files in (
        ("modified", [m.path for m in package.modified]), ("missing", list(package.missing)),
        ("added", list(package.added))) if files}


def file_findings(report: VerifyReport) -> list[AuditFinding]:
    """verify's results as audit findings: edited or deleted files, extra files."""
    findings = []
    for package in report.packages:
        changed = _changed_files(package)
        if not changed:
            continue
        edited = changed.get("modified", []) + changed.get("missing", [])
        outcome = ("framework-edited" if package.name in FRAMEWORKS else "edited") if edited \
            else "added"
        if package.packaged_by is not None:
            outcome += "-debian"
        findings.append(FILES_CHANGED.finding(Hit(
            outcome, f"packages.{package.name}.files",
            ", ".join(f"{len(v)} {k}" for k, v in changed.items()), "as installed", {
                "name": package.name, "version": package.version,
                "package": package.packaged_by,
                "listed": ", ".join((edited or changed.get("added", []))[:3]),
                "more": ", ..." if sum(map(len, changed.values())) > 3 else ""})))
    return findings


def with_file_changes(fingerprint: Fingerprint, report: VerifyReport) -> Fingerprint:
    """A deep fingerprint: each package with its files changed since install."""
    data = dict(fingerprint.data)
    packages = {name: dict(p) for name, p in fingerprint.packages.items()}
    for package in report.packages:
        key = normalize_name(package.name)
        changed = _changed_files(package)
        # Only where files differ: a clean deep snapshot has the id of a plain one.
        if key in packages and changed:
            packages[key]["files_changed"] = changed
    data["packages"] = packages
    data["meta"] = dict(data.get("meta") or {}, deep=True)
    return Fingerprint.from_dict(data, "deep snapshot")
