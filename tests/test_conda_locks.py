"""environment.yml, explicit specs, conda-lock.yml and pixi.lock as the expected side of
``check``, against real interpreters' conda prefixes.

conda, conda-lock and pixi cannot reach a channel here, so the files are written as each
tool writes them: explicit specs as ``conda list --explicit`` prints them (URL, ``#`` and
the digest), conda-lock's ``package`` list (version 1, which it writes, and 2, which it
reads), and pixi's layouts of versions 5 to 7 (package locations per environment and
platform; from version 6 on, name, version and build left out where the file name says
them), as in conda-lock's models and rattler_lock's test data. YAML is dumped by PyYAML, as
conda-lock does.

Each is a contract, as a Python lock is (``contract.check_pins``): every record it pins must
be installed as pinned, whatever the rules think of the difference; records it does not
name are listed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from condaenv import MKL_STACK, OPENBLAS_STACK, Package, make_env
from envcheck.contract import version_matches
from envcheck.errors import InputError
from envcheck.sources.conda_environment import parse_match_spec
from envcheck.yaml_subset import loads as load_yaml

from conftest import run_envcheck


@pytest.fixture(scope="module")
def envs(python38: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("conda-envs")
    return {"mkl": make_env(python38, root / "mkl", MKL_STACK),
            "openblas": make_env(python38, root / "openblas", OPENBLAS_STACK)}


def check(lock: Path | str, python: Path, *args: str) -> tuple[int, dict[str, Any], str]:
    result = run_envcheck("check", str(lock), "--python", str(python), "--format", "json",
                          *args)
    report = json.loads(result.stdout) if result.stdout.strip() else {}
    return result.returncode, report, result.stderr


def paths(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["path"]: c for c in report["changes"]}


def explicit(packages: tuple[Package, ...], digest: str) -> str:
    lines = ["# This file may be used to create an environment using:",
             "# $ conda create --name <env> --file <this file>", "# platform: linux-64",
             "@EXPLICIT"]
    return "\n".join(lines + [f"{p.url}#{getattr(p, digest)}" for p in packages]) + "\n"


def conda_lock(packages: tuple[Package, ...], platform: str = "linux-64",
               version: int = 1) -> str:
    """conda-lock's format: version 1 (what conda-lock writes: ``category`` and ``optional``)
    or version 2 (its v2prelim model, which it reads: ``categories``)."""
    def entry(p: Package) -> dict[str, Any]:
        fields: dict[str, Any] = {
            "name": p.name, "version": p.version, "manager": "conda", "platform": platform,
            "dependencies": {}, "url": p.url, "hash": {"md5": p.md5, "sha256": p.sha256}}
        if version == 1:
            return {**fields, "category": "main", "optional": False}
        return {**fields, "categories": ["main"]}

    document = {
        "version": version,
        "metadata": {"content_hash": {platform: "0" * 64},
                     "channels": [{"url": "conda-forge", "used_env_vars": []}],
                     "platforms": [platform], "sources": ["environment.yml"]},
        "package": [entry(p) for p in packages],
    }
    return yaml.safe_dump(document, sort_keys=False)


def pixi_lock(environments: dict[str, tuple[Package, ...]], version: int = 6) -> str:
    """pixi's lock format as rattler_lock writes it.

    Version 5: each package's data has ``kind`` and ``url`` and spells out name, version,
    build and subdir. Version 6: the data is keyed by its location (``conda: URL``), and what
    the file name says is left out. Version 7: as 6, with the platforms named at the top.
    """
    everything = {p.url: p for stack in environments.values() for p in stack}

    def data(url: str, p: Package) -> dict[str, Any]:
        common = {"sha256": p.sha256, "md5": p.md5, "depends": [], "license": "BSD-3-Clause",
                  "size": 12345, "timestamp": 1716000000000}
        if version == 5:
            return {"kind": "conda", "name": p.name, "version": p.version, "build": p.build,
                    "build_number": p.build_number, "subdir": p.subdir, "url": url, **common}
        return {"conda": url, **common}

    document: dict[str, Any] = {"version": version}
    if version >= 7:
        document["platforms"] = [{"name": "linux-64"}]
    document["environments"] = {
        name: {"channels": [{"url": "https://conda.anaconda.org/conda-forge/"}],
               "packages": {"linux-64": [{"conda": p.url} for p in stack]}}
        for name, stack in environments.items()}
    document["packages"] = [data(url, p) for url, p in sorted(everything.items())]
    return yaml.safe_dump(document, sort_keys=False)


ENVIRONMENT_YML = """\
name: train
channels:
  - conda-forge
  - nodefaults
dependencies:
  - libblas=3.9.0=*mkl      # MKL, not OpenBLAS
  - mkl=2023.2
  - conda-forge::cudnn 9.1.1.17
  - cuda-version>=12.4,<13
  - nccl
"""


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


@pytest.mark.parametrize("fmt", ["environment.yml", "explicit-md5", "explicit-sha256",
                                 "conda-lock.yml", "conda-lock.yml-v2", "pixi.lock-v5",
                                 "pixi.lock", "pixi.lock-v7"])
def test_matching_env_passes_and_a_switched_blas_fails(envs: dict[str, Path], tmp_path: Path,
                                                       fmt: str) -> None:
    text = {"environment.yml": ENVIRONMENT_YML,
            "explicit-md5": explicit(MKL_STACK, "md5"),
            "explicit-sha256": explicit(MKL_STACK, "sha256"),
            "conda-lock.yml": conda_lock(MKL_STACK),
            "conda-lock.yml-v2": conda_lock(MKL_STACK, version=2),
            "pixi.lock-v5": pixi_lock({"default": MKL_STACK}, version=5),
            "pixi.lock": pixi_lock({"default": MKL_STACK}),
            "pixi.lock-v7": pixi_lock({"default": MKL_STACK}, version=7)}[fmt]
    name = fmt.split("-v")[0] if "." in fmt else f"{fmt}.txt"
    lock = write(tmp_path / fmt, name, text)
    code, report, stderr = check(lock, envs["mkl"])
    assert code == 0, (stderr, report)
    assert report["changes"] == []
    code, report, stderr = check(lock, envs["openblas"])
    assert code == 1, stderr
    switch = paths(report)["conda.libblas.build"]
    assert switch["rule"] == "conda-blas-variant" and switch["severity"] == "breaking"
    assert switch["after"] == "20_linux64_openblas"


def test_hashes_are_compared_where_given(python38: str, tmp_path: Path) -> None:
    # The same cudnn version and build string, another archive: a rebuilt package.
    prefix = tmp_path / "rebuilt"
    python = make_env(python38, prefix, MKL_STACK)
    record = next((prefix / "conda-meta").glob("cudnn-*.json"))
    data = json.loads(record.read_text())
    data["sha256"], data["md5"] = "f" * 64, "f" * 32
    record.write_text(json.dumps(data))
    for name, text in (("spec.txt", explicit(MKL_STACK, "sha256")),
                       ("conda-lock.yml", conda_lock(MKL_STACK)),
                       ("v2/conda-lock.yml", conda_lock(MKL_STACK, version=2)),
                       ("pixi.lock", pixi_lock({"default": MKL_STACK})),
                       ("v5/pixi.lock", pixi_lock({"default": MKL_STACK}, version=5))):
        code, report, stderr = check(write(tmp_path, name, text), python)
        assert code == 1, (name, stderr)
        [change] = report["changes"]
        assert change["path"] == "conda.cudnn.sha256", name
        # A broken pin, though this CPU-only job does not load cuDNN (no GPU, no CUDA build).
        assert (change["severity"], change["rule"]) == ("benign", "conda-cuda-build")
        assert change["reason"] == "no GPU and no CUDA build of a framework on either side"
    # environment.yml pins no hash: the same env passes.
    code, report, _ = check(write(tmp_path, "environment.yml", ENVIRONMENT_YML), python)
    assert code == 0 and report["changes"] == []


def test_records_a_lock_does_not_name_are_listed_not_failed(envs: dict[str, Path],
                                                           tmp_path: Path) -> None:
    without_zlib = tuple(p for p in MKL_STACK if p.name != "libzlib")
    for name, text in (("spec.txt", explicit(without_zlib, "md5")),
                       ("conda-lock.yml", conda_lock(without_zlib)),
                       ("pixi.lock", pixi_lock({"default": without_zlib})),
                       ("environment.yml", "dependencies:\n  - mkl\n")):
        lock = write(tmp_path / name.replace(".", "-"), name, text)
        code, report, stderr = check(lock, envs["mkl"])
        assert (code, report["changes"]) == (0, []), (name, stderr, report)
        assert "libzlib" in report["unlocked"], name
        # --strict: what the lock does not name fails too.
        assert check(lock, envs["mkl"], "--strict")[0] == 1, name
    code, report, _ = check(write(tmp_path, "environment.yml", "dependencies:\n  - mkl\n"),
                            envs["mkl"])
    assert report["unlocked"] == sorted(p.name for p in MKL_STACK if p.name != "mkl")


def _changed(packages: tuple[Package, ...], name: str, version: str | None = None,
             build: str | None = None) -> tuple[Package, ...]:
    return tuple(p._replace(version=version or p.version, build=build or p.build)
                 if p.name == name else p for p in packages)


@pytest.mark.parametrize("fmt", ["environment.yml", "explicit-md5", "conda-lock.yml",
                                 "pixi.lock"])
def test_any_pinned_record_that_differs_fails_with_its_rule(python38: str, tmp_path: Path,
                                                            fmt: str) -> None:
    """The contract, not the rules, decides the exit code; the rule says how much it matters.

    Each environment differs from the lock in one record, in a way the catalog calls risky or
    benign: a contract still fails on it (exit 1), with that severity and rule."""
    lock_text = {"environment.yml": ENVIRONMENT_YML + "  - libzlib=1.3.1=h4ab18f5_1\n"
                                                      "  - llvm-openmp=18.1.8\n",
                 "explicit-md5": explicit(MKL_STACK, "md5"),
                 "conda-lock.yml": conda_lock(MKL_STACK),
                 "pixi.lock": pixi_lock({"default": MKL_STACK})}[fmt]
    lock = write(tmp_path, fmt if "." in fmt else f"{fmt}.txt", lock_text)
    cases = [
        # another build of the same zlib: risky
        ("zlib-build", _changed(MKL_STACK, "libzlib", build="h4ab18f5_2"),
         "conda.libzlib.build", "risky", "conda-native-build"),
        # an OpenMP runtime patch release: risky
        ("openmp-patch", _changed(MKL_STACK, "llvm-openmp", version="18.1.9"),
         "conda.llvm-openmp.version", "risky", "conda-openmp-runtime"),
        # NCCL on a machine without GPUs: benign, and still a broken pin
        ("nccl-minor", _changed(MKL_STACK, "nccl", version="2.22.3.1"),
         "conda.nccl.version", "benign", "conda-nccl-version"),
        # a pinned record that is not installed at all
        ("no-nccl", tuple(p for p in MKL_STACK if p.name != "nccl"),
         "conda.nccl", None, "conda-nccl-version"),
    ]
    for label, stack, path, severity, rule in cases:
        if fmt == "environment.yml" and label == "nccl-minor":
            continue  # the file pins nccl without a version
        python = make_env(python38, tmp_path / label, stack)
        code, report, stderr = check(lock, python)
        assert code == 1, (label, stderr, report)
        [change] = report["changes"]
        assert (change["path"], change["rule"]) == (path, rule), label
        assert severity is None or change["severity"] == severity, (label, change)
        if label == "no-nccl":
            assert change["kind"] == "removed" and change["after"] is None
            # environment.yml pins nccl without a version: "*", never "(none) -> (none)"
            assert change["before"] == ("*" if fmt == "environment.yml" else
                                        "2.21.5.1=h3a97aeb_0"), change


def test_pixi_environment_and_platform_selection(envs: dict[str, Path], tmp_path: Path) -> None:
    lock = write(tmp_path, "pixi.lock", pixi_lock({"default": OPENBLAS_STACK, "cuda": MKL_STACK}))
    assert check(lock, envs["openblas"])[0] == 0
    assert check(f"{lock}#cuda", envs["mkl"])[0] == 0
    code, report, _ = check(f"{lock}#cuda", envs["openblas"])
    assert code == 1 and "conda.libblas.build" in paths(report)
    code, _, stderr = check(f"{lock}#gpu", envs["mkl"])
    assert code == 3
    assert stderr.strip() == f"envcheck: {lock}: no environment 'gpu' (it locks cuda, default)"
    # A copy kept beside it under another pixi name is the same lock.
    copy = write(tmp_path, "pixi-gpu.lock", lock.read_text())
    code, report, _ = check(f"{copy}#cuda", envs["openblas"])
    assert code == 1 and "conda.libblas.build" in paths(report)
    osx = write(tmp_path, "osx/conda-lock.yml", conda_lock(MKL_STACK, "osx-arm64"))
    code, _, stderr = check(osx, envs["mkl"])
    assert code == 3 and "no platform linux-64 (it locks osx-arm64)" in stderr
    assert len(stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(("text", "why"), [
    ("a: &x 1\nb: *x\n", "anchors, aliases"),
    ("dependencies:\n  - mkl\n  bad: [1\n", "line 3"),
    ("description: |\n  text\n", "block scalars"),
])
def test_hostile_or_unsupported_yaml_is_one_line_exit_3(envs: dict[str, Path], tmp_path: Path,
                                                        text: str, why: str) -> None:
    code, _, stderr = check(write(tmp_path, "environment.yml", text), envs["mkl"])
    assert code == 3, stderr
    assert why in stderr and len(stderr.strip().splitlines()) == 1
    assert "Traceback" not in stderr


def test_yaml_subset_reads_what_pyyaml_reads() -> None:
    for text in (ENVIRONMENT_YML, conda_lock(MKL_STACK), pixi_lock({"default": MKL_STACK}),
                 "a: [1, 'x', {b: c}]\nb: {}\nc: \"\\u00e9\"\nd: 'it''s'\ne: -3\nf: ~\n"):
        assert load_yaml(text, "t") == yaml.safe_load(text)
    # Versions stay strings: YAML would make 3.10 the float 3.1.
    assert load_yaml("version: 3.10\n", "t") == {"version": "3.10"}
    with pytest.raises(InputError):
        load_yaml("a: 1\na: 2\n", "t")


@pytest.mark.parametrize(("spec", "pin"), [
    ("libblas=3.9.0=*mkl", ("libblas", "3.9.0", "*mkl", None)),
    # conda env export: with a build the version is exact, without one it is fuzzy
    ("llvm-openmp=18.1.8=hf5423f3_0", ("llvm-openmp", "18.1.8", "hf5423f3_0", None)),
    ("numpy=1.26", ("numpy", "1.26*", None, None)),
    ("numpy==1.26.4", ("numpy", "==1.26.4", None, None)),
    ("conda-forge::cudnn 9.1.1.17 hbc370b7_0", ("cudnn", "9.1.1.17", "hbc370b7_0",
                                                "conda-forge")),
    ("cuda-version>=12.4,<13", ("cuda-version", ">=12.4,<13", None, None)),
    ("pytorch=*=*cuda*", ("pytorch", None, "*cuda*", None)),
    ("numpy[version='>=1.26',build=py311*]", ("numpy", ">=1.26", "py311*", None)),
    ("nccl", ("nccl", None, None, None)),
])
def test_match_specs(spec: str, pin: tuple[Any, ...]) -> None:
    parsed = parse_match_spec(spec, "t")
    assert (parsed.name, parsed.version, parsed.build, parsed.channel) == pin


@pytest.mark.parametrize(("spec", "version", "matches"), [
    ("3.9.0*", "3.9.0", True), ("2023.2*", "2023.2.0", True), ("2023.2*", "2023.20.1", False),
    ("==1.26.4", "1.26.4", True), ("==1.26.4", "1.26.5", False),
    (">=12.4,<13", "12.4", True), (">=12.4,<13", "13.0", False), ("1.2|1.3", "1.3", True),
    ("9.1.1.17", "9.1.1.17", True), ("9.1.*", "9.1.1.17", True), ("9.1.*", "9.10.0", False),
])
def test_version_specs(spec: str, version: str, matches: bool) -> None:
    assert version_matches(spec, version) is matches


def test_python_distributions_of_conda_records_and_pypi_pins(python38: str,
                                                             tmp_path: Path) -> None:
    from distbuild import make_dist

    numpy = Package("numpy", "1.26.4", "py38h8d2b5a4_0",
                    files=("lib/python3.8/site-packages/numpy-1.26.4.dist-info/METADATA",))
    stack = (*MKL_STACK, numpy)
    python = make_env(python38, tmp_path / "env", stack)
    site = tmp_path / "env" / "lib" / "python3.8" / "site-packages"
    make_dist(site, "numpy", "1.26.4", installer="conda")
    make_dist(site, "einops", "0.8.0")  # pip install einops, on top of the conda packages
    einops = "https://files.example/einops-0.8.0-py3-none-any.whl"
    pixi = yaml.safe_load(pixi_lock({"default": stack}))
    pixi["environments"]["default"]["packages"]["linux-64"].append({"pypi": einops})
    pixi["packages"].append({"pypi": einops, "name": "einops", "version": "0.8.0",
                             "sha256": "a" * 64, "requires_python": ">=3.8"})
    locks = {
        "environment.yml": ENVIRONMENT_YML + "  - numpy=1.26\n  - pip:\n    - einops==0.8.0\n",
        "conda-lock.yml": conda_lock(stack).replace(
            "package:\n", "package:\n- name: einops\n  version: 0.8.0\n  manager: pip\n"
            "  platform: linux-64\n  dependencies: {}\n  url: " + einops + "\n"
            "  hash:\n    sha256: " + "a" * 64 + "\n  category: main\n  optional: false\n"),
        "pixi.lock": yaml.safe_dump(pixi, sort_keys=False),
    }
    for name, text in locks.items():
        lock = write(tmp_path / "locks", name, text)
        code, report, stderr = check(lock, python, "--fail-on", "any")
        # numpy is judged through its conda record; the pip-installed einops by its pin.
        assert (code, report["changes"]) == (0, []), (name, stderr, report)
        code, report, _ = check(write(tmp_path / "old", name, text.replace("0.8.0", "0.7.0")),
                                python, "--fail-on", "risky")
        assert code == 1, name
        change = paths(report)["packages.einops.version"]
        assert (change["before"], change["after"]) == ("0.7.0", "0.8.0"), name
    # The explicit spec has no PyPI part: the pip-installed einops is listed, not failed; the
    # conda-installed numpy is its record's business, not listed twice.
    code, report, _ = check(write(tmp_path, "spec.txt", explicit(stack, "md5")), python)
    assert (code, report["changes"], report["unlocked"]) == (0, [], ["einops"])


@pytest.mark.parametrize("version", [1, 2])
def test_conda_lock_dev_category_is_not_pinned(envs: dict[str, Path], tmp_path: Path,
                                               version: int) -> None:
    """``conda-lock install`` leaves the dev category out unless asked: not a pin."""
    document = yaml.safe_load(conda_lock(MKL_STACK, version=version))
    dev = Package("pytest", "8.2.2", "pyhd8ed1ab_0", subdir="noarch")
    entry = {**json.loads(json.dumps(document["package"][0])), "name": dev.name,
             "version": dev.version, "url": dev.url,
             "hash": {"md5": dev.md5, "sha256": dev.sha256}}
    entry.update({"category": "dev", "optional": True} if version == 1
                 else {"categories": ["dev"]})
    document["package"].append(entry)
    lock = write(tmp_path, "conda-lock.yml", yaml.safe_dump(document, sort_keys=False))
    code, report, stderr = check(lock, envs["mkl"])
    assert (code, report["changes"]) == (0, []), (stderr, [c["path"] for c in report["changes"]])


@pytest.mark.parametrize(("name", "text", "message"), [
    ("conda-lock.yml", conda_lock(MKL_STACK).replace("version: 1\n", "version: 3\n", 1),
     "conda-lock format version 3; envcheck reads versions 1 and 2"),
    ("pixi.lock", pixi_lock({"default": MKL_STACK}).replace("version: 6\n", "version: 4\n", 1),
     "pixi lock format version 4; envcheck reads versions 5, 6, 7"),
])
def test_lock_versions_envcheck_does_not_read_are_one_line(envs: dict[str, Path],
                                                           tmp_path: Path, name: str, text: str,
                                                           message: str) -> None:
    code, _, stderr = check(write(tmp_path, name, text), envs["mkl"])
    assert code == 3 and stderr.strip() == f"envcheck: {tmp_path / name}: {message}"
