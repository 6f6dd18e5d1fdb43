"""Conda environments: conda-meta records in the fingerprint, judged by the native rules."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from condaenv import MKL_STACK, OPENBLAS_STACK, Package, make_env, prefix_record, write_records
from envcheck.drift import diff
from envcheck.model import Fingerprint
from envcheck.probe._common import Errors
from envcheck.probe.conda import build_variant, channel_name, collect_conda, record_facts

from conftest import run_envcheck
from distbuild import make_dist


def snapshot(python: Path, tmp_path: Path, name: str) -> dict[str, Any]:
    out = tmp_path / f"{name}.json"
    result = run_envcheck("snapshot", "--python", str(python), "-o", str(out), "--no-save")
    assert result.returncode == 0, result.stderr
    document: dict[str, Any] = json.loads(out.read_text())
    return document


def test_every_record_of_a_real_prefix_is_read(python38: str, tmp_path: Path) -> None:
    numpy = Package("numpy", "1.26.4", "py38h8d2b5a4_0",
                    files=("lib/python3.8/site-packages/numpy/__init__.py",
                           "lib/python3.8/site-packages/numpy-1.26.4.dist-info/METADATA"))
    python = make_env(python38, tmp_path / "env", (*MKL_STACK, numpy))
    make_dist(tmp_path / "env" / "lib" / "python3.8" / "site-packages", "numpy", "1.26.4")
    document = snapshot(python, tmp_path, "env")
    records = document["conda"]
    assert sorted(records) == sorted(p.name for p in (*MKL_STACK, numpy))
    for package in (*MKL_STACK, numpy):
        record = records[package.name]
        assert (record["version"], record["build"], record["build_number"]) == (
            package.version, package.build, package.build_number)
        assert (record["channel"], record["subdir"]) == ("conda-forge", package.subdir)
        assert (record["md5"], record["sha256"]) == (package.md5, package.sha256)
    # The conda package that installed a Python distribution names it; the others do not.
    assert records["numpy"]["python"] == "numpy" and "numpy" in document["packages"]
    assert "python" not in records["libblas"]
    assert [e for e in document["errors"] if e["section"] == "conda"] == []

    text = run_envcheck("snapshot", "--python", str(python), "--no-save")
    assert text.returncode == 0, text.stderr
    assert "11 records from conda-forge, BLAS mkl, libblas 3.9.0=20_linux64_mkl, " \
           "mkl 2023.2.0=h84fe81f_50496, OpenMP llvm" in text.stdout, text.stdout
    assert "cuda-version 12.4=h3060b56_3, cudnn 9.1.1.17=hbc370b7_0, " \
           "nccl 2.21.5.1=h3a97aeb_0" in text.stdout
    assert "  packages    1 distribution\n" in text.stdout  # numpy alone, said in English


def test_blas_switched_from_mkl_to_openblas_is_breaking(python38: str, tmp_path: Path) -> None:
    mkl = snapshot(make_env(python38, tmp_path / "mkl", MKL_STACK), tmp_path, "mkl")
    openblas = snapshot(make_env(python38, tmp_path / "openblas", OPENBLAS_STACK), tmp_path,
                        "openblas")
    result = run_envcheck("diff", str(tmp_path / "mkl.json"), str(tmp_path / "openblas.json"),
                          "--format", "json")
    assert result.returncode == 1, result.stderr
    changes = {c["path"]: c for c in json.loads(result.stdout)["changes"]}
    switch = changes["conda.libblas.build"]
    assert (switch["before"], switch["after"]) == ("20_linux64_mkl", "20_linux64_openblas")
    assert (switch["severity"], switch["rule"]) == ("breaking", "conda-blas-variant")
    assert "BLAS implementation switched" in switch["reason"]
    assert switch["reference"].startswith("https://conda-forge.org/")
    assert changes["conda.mkl"]["severity"] == "risky"  # removed; the switch above is the news
    assert changes["conda._openmp_mutex.build"]["rule"] == "conda-openmp-variant"
    assert changes["conda.libopenblas"]["before"] is None
    assert mkl["id"] != openblas["id"]
    # libcblas and liblapack switch with libblas: one decision, shown once, named as the cause.
    for effect in ("conda.libcblas.build", "conda.liblapack.build"):
        assert (changes[effect]["cause"], changes[effect]["rule"], changes[effect]["severity"]) \
            == ("conda.libblas.build", "follows-blas-switch", "breaking")
    assert switch["cause"] is None
    text = run_envcheck("diff", str(tmp_path / "mkl.json"), str(tmp_path / "openblas.json"))
    assert "conda.libblas.build: 20_linux64_mkl -> 20_linux64_openblas" in text.stdout
    assert "with it: conda.libcblas.build, conda.liblapack.build" in text.stdout
    assert "\n  conda.libcblas.build" not in text.stdout


def test_a_blas_record_that_switches_alone_is_its_own_cause() -> None:
    """libcblas switched while libblas did not (a broken environment): nothing to follow."""
    libblas = Package("libblas", "3.9.0", "20_linux64_mkl", 20)
    libcblas = Package("libcblas", "3.9.0", "20_linux64_mkl", 20)
    report = diff(_fingerprint(_records(libblas, libcblas)),
                  _fingerprint(_records(libblas, libcblas._replace(build="20_linux64_openblas"))))
    [change] = report.changes
    assert (change.path, change.rule, change.cause) == (
        "conda.libcblas.build", "conda-blas-variant", None)


def _fingerprint(records: dict[str, Any], gpus: int = 0) -> Fingerprint:
    return Fingerprint.from_dict({"schema": 1, "packages": {}, "conda": records, "errors": [],
                                  "gpus": [{"compute_capability": "9.0"}] * gpus})


def _records(*packages: Package) -> dict[str, Any]:
    records = {p.name: record_facts(prefix_record(p)) for p in packages}
    assert all(records.values())
    return records


def _judged(before: tuple[Package, ...], after: tuple[Package, ...],
            gpus: int = 0) -> dict[str, tuple[str, str]]:
    report = diff(_fingerprint(_records(*before), gpus), _fingerprint(_records(*after), gpus))
    return {c.path: (c.severity.value, c.rule) for c in report.changes}


def test_native_rules_by_kind_of_change() -> None:
    cudnn = Package("cudnn", "9.1.1.17", "hbc370b7_0")
    nccl = Package("nccl", "2.21.5.1", "h3a97aeb_0")
    zlib = Package("libzlib", "1.3.1", "h4ab18f5_1", 1)
    mkl = Package("mkl", "2023.2.0", "h84fe81f_50496", 50496)
    # Same version, another build string: another build, risky, for cuDNN where a GPU is
    # (its own rule: no "within one version" reason for one version) and for a library
    # without a rule of its own.
    assert _judged((cudnn, zlib), (cudnn._replace(build="h7a3d1d2_1"),
                                   zlib._replace(build="h4ab18f5_2")), gpus=1) == {
        "conda.cudnn.build": ("risky", "conda-cuda-build"),
        "conda.libzlib.build": ("risky", "conda-native-build"),
    }
    # A CPU-only job does not load cuDNN, as for the nvidia-cudnn wheels.
    assert _judged((cudnn,), (cudnn._replace(build="h7a3d1d2_1"),)) == {
        "conda.cudnn.build": ("benign", "conda-cuda-build")}
    # NCCL matters with several GPUs only, as for the nvidia-nccl wheels.
    newer = nccl._replace(version="2.22.3.1")
    assert _judged((nccl,), (newer,)) == {"conda.nccl.version": ("benign", "conda-nccl-version")}
    assert _judged((nccl,), (newer,), gpus=2) == {
        "conda.nccl.version": ("risky", "conda-nccl-version")}
    # MKL's reproducibility needs the same MKL version; a patch-level bump included. The
    # same version in another build is another build.
    assert _judged((mkl,), (mkl._replace(version="2023.2.1"),)) == {
        "conda.mkl.version": ("breaking", "conda-mkl-version")}
    assert _judged((mkl,), (mkl._replace(build="h84fe81f_50497"),)) == {
        "conda.mkl.build": ("risky", "conda-native-build")}
    # The same build from another channel, identical archive hashes aside.
    moved = Package("libzlib", "1.3.1", "h4ab18f5_1", 1, channel="https://repo.example/main")
    same = _records(zlib)["libzlib"]
    other = dict(_records(moved)["libzlib"], md5=same["md5"], sha256=same["sha256"])
    report = diff(_fingerprint({"libzlib": same}), _fingerprint({"libzlib": other}))
    assert [(c.path, c.rule) for c in report.changes] == [
        ("conda.libzlib.channel", "conda-native-channel")]


def test_build_variants() -> None:
    assert build_variant("libblas", "20_linux64_mkl") == "mkl"
    assert build_variant("libblas", "20_linux64_openblas") == "openblas"
    assert build_variant("blas", "mkl") == "mkl"
    assert build_variant("libblas", "*mkl") == "mkl"  # a build glob from environment.yml
    assert build_variant("_openmp_mutex", "2_kmp_llvm") == "llvm"
    assert build_variant("_openmp_mutex", "2_gnu") == "gnu"
    assert build_variant("libzlib", "h4ab18f5_1") is None


def test_channel_names_drop_hosts_subdirs_and_tokens() -> None:
    assert channel_name("https://conda.anaconda.org/conda-forge/linux-64", "linux-64") == \
        "conda-forge"
    assert channel_name("https://repo.anaconda.com/pkgs/main/noarch", "noarch") == "pkgs/main"
    assert channel_name("https://conda.anaconda.org/t/tk-0123456789/private/linux-64",
                        "linux-64") == "private"
    assert channel_name("https://user:secret@mirror.example/conda-forge/linux-64",
                        "linux-64") == "conda-forge"
    assert channel_name(None, "linux-64") is None


def test_damaged_records_are_errors_and_the_rest_is_kept(tmp_path: Path) -> None:
    write_records(tmp_path, MKL_STACK[:2])
    (tmp_path / "conda-meta" / "broken-1.0-0.json").write_text("{not json")
    (tmp_path / "conda-meta" / "nameless-1.0-0.json").write_text('{"version": "1.0"}')
    errors = Errors()
    records = collect_conda(errors, prefix=str(tmp_path))
    assert sorted(records) == ["_openmp_mutex", "llvm-openmp"]
    messages = sorted(e["message"] for e in errors.entries)
    assert [m.split(":")[0] for m in messages] == ["broken-1.0-0.json", "nameless-1.0-0.json"]
    assert all(e["section"] == "conda" for e in errors.entries)


def test_outside_a_conda_prefix_the_section_is_empty() -> None:
    errors = Errors()
    assert collect_conda(errors) == {}  # the test environment is a venv, not a conda prefix
    assert errors.entries == []


def test_a_conda_cuda_build_of_a_framework_makes_cuda_libraries_matter() -> None:
    """No GPU visible (a build machine, a CI job), but the conda pytorch is a CUDA build:
    its cuDNN and CUDA runtime are what it will load on the GPU machine."""
    cudnn = Package("cudnn", "9.1.1.17", "hbc370b7_0")
    newer = cudnn._replace(version="9.3.0.75")
    cuda_torch = Package("pytorch", "2.5.1", "cuda126_mkl_py312_h30b5a27_303", 303)
    cpu_torch = cuda_torch._replace(build="cpu_mkl_py312_h0b7ed4d_103")
    assert _judged((cudnn, cuda_torch), (newer, cuda_torch)) == {
        "conda.cudnn.version": ("breaking", "conda-cudnn-version")}
    assert _judged((cudnn, cpu_torch), (newer, cpu_torch)) == {
        "conda.cudnn.version": ("benign", "conda-cudnn-version")}


def test_a_conda_record_that_installed_a_removed_distribution_is_shown_under_it() -> None:
    """A conda environment against a plain venv: numpy gone from both conda-meta and
    site-packages is one decision, shown on numpy's line; other packages gone are one line,
    their conda records under it."""
    dist = "lib/python3.11/site-packages/{}-{}.dist-info/METADATA"
    numpy = Package("numpy", "1.26.4", "py311h64a7726_0", files=(dist.format("numpy", "1.26.4"),))
    pandas = Package("pandas", "2.2.2", "py311h14de704_1", 1,
                     files=(dist.format("pandas", "2.2.2"),))
    zlib = Package("libzlib", "1.3.1", "h4ab18f5_1", 1)
    records = _records(numpy, pandas, zlib)
    assert records["numpy"]["python"] == "numpy" and records["pandas"]["python"] == "pandas"
    conda = Fingerprint.from_dict({"schema": 1, "conda": records, "errors": [], "gpus": [],
                                   "packages": {"numpy": {"name": "numpy", "version": "1.26.4"},
                                                "pandas": {"name": "pandas", "version": "2.2.2"}}},
                                  "conda")
    plain = Fingerprint.from_dict({"schema": 1, "conda": {}, "errors": [], "gpus": [],
                                   "packages": {}}, "venv")
    report = diff(conda, plain, labels=("conda.json", "venv.json"))
    changes = {c.path: c for c in report.changes}
    for name in ("numpy", "pandas"):
        assert (changes[f"conda.{name}"].cause, changes[f"conda.{name}"].rule) == (
            f"packages.{name}", "follows-python-distribution")
    assert changes["conda.libzlib"].cause is None  # installed no Python distribution
    from envcheck.render import ReportFormat
    from envcheck.render.report import RenderOptions, render_report

    text = render_report(report, ReportFormat.TEXT, RenderOptions())
    assert "      with it: conda.numpy\n" in text
    assert "1 package only in conda.json: pandas 2.2.2" in text
    assert "      with it: conda.pandas\n" in text
    assert "\n  conda.numpy" not in text and "\n  conda.pandas" not in text
