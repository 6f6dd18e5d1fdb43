"""Every rule for conda records, system packages, the libraries frameworks resolve and the
canaries' measurements, each fired by the change it names and shown giving way where its
condition (or its kind of change) is absent.

As in test_diff.py, the base documents are real: snapshots of this machine in tests/data
(one with the compiled fake NVML reporting two A100s), and the numerics section of a real
``envcheck snapshot --numerics`` of the test environment (torch, TensorFlow, JAX and numpy
on this CPU). Conda records are what the probe reads from conda's own ``PrefixRecord``
documents (tests/condaenv.py); system packages what it reads from dpkg's status file. The
one stand-in is torch's GPU runtime facts (``numerics.runtime.gpu``), which only a GPU can
measure: they carry the keys ``probe/numerics/gpu_torch.py`` reports.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any, NamedTuple

import pytest

from condaenv import Package, prefix_record
from envcheck.drift import diff
from envcheck.model import Fingerprint
from envcheck.probe.conda import record_facts
from envcheck.probe.system_packages import parse_dpkg_status
from envcheck.rules import Severity
from envcheck.rules.catalog import CATALOG

from conftest import DATA

B, R, OK = Severity.BREAKING, Severity.RISKY, Severity.BENIGN
Doc = dict[str, Any]
Change = Callable[[Doc], None]

NO_CUDA = "no GPU and no CUDA build of a framework on either side"
ONE_GPU_NCCL = "NCCL only matters with more than one GPU; neither side has one"


def _doc(name: str) -> Doc:
    document: Doc = json.loads((DATA / name).read_text())
    document["conda"] = {}
    document["system_packages"] = {"packages": {}, "alternatives": {}}
    return document


CPU = _doc("cpu-torch.json")  # torch 2.13.0+cpu, no GPU
GPUS = _doc("fake-2xa100.json")  # two A100s
ONE_GPU = {**GPUS, "gpus": GPUS["gpus"][:1]}
MEASURED = {**CPU, "numerics": json.loads((DATA / "numerics-cpu.json").read_text())}


# ---- one controlled change on each side ----------------------------------------------

def conda(name: str, version: str, build: str, build_number: int = 0,
          channel: str | None = None) -> Change:
    """The record the probe reads from conda's PrefixRecord of this package."""
    package = Package(name, version, build, build_number)
    if channel is not None:
        package = package._replace(channel=channel)
    facts = record_facts(prefix_record(package))
    assert facts is not None

    def apply(document: Doc) -> None:
        document["conda"][name] = facts
    return apply


def same_archive(name: str, version: str, build: str) -> Change:
    """Keep the archive hashes of the conda-forge record (another channel, same file)."""
    original = record_facts(prefix_record(Package(name, version, build)))
    assert original is not None

    def apply(document: Doc) -> None:
        document["conda"][name].update(md5=original["md5"], sha256=original["sha256"])
    return apply


def deb(name: str, version: str, architecture: str = "amd64") -> Change:
    """The package as the probe reads it from a dpkg status paragraph."""
    status = (f"Package: {name}\nStatus: install ok installed\nArchitecture: {architecture}\n"
              f"Version: {version}\n")
    parsed = parse_dpkg_status(status)

    def apply(document: Doc) -> None:
        document["system_packages"]["packages"].update(
            parsed or {name: {"version": version, "architecture": architecture,
                              "manager": "dpkg"}})
    return apply


def alternative(link: str, target: str) -> Change:
    def apply(document: Doc) -> None:
        document["system_packages"]["alternatives"][link] = target
    return apply


def resolved(framework: str, name: str, kind: str, file: str, via: str = "rpath") -> Change:
    """The file a framework's DT_NEEDED ``name`` resolves to (probe/linked.py's entry)."""
    def apply(document: Doc) -> None:
        libraries = document["cuda"].setdefault("framework_libraries", {})
        libraries.setdefault(framework, {})[name] = {
            "kind": kind, "file": file, "directory": "/opt/env/lib", "via": via}
    return apply


def numerics(path: str, value: Any) -> Change:
    """Set one measured fact: ``runtime.torch.onednn_enabled``, ``canaries.X.digest``."""
    def apply(document: Doc) -> None:
        node = document["numerics"]
        parts = path.split(".")
        for part in parts[:-1]:
            node = node[int(part)] if isinstance(node, list) else node.setdefault(part, {})
        node[int(parts[-1]) if isinstance(node, list) else parts[-1]] = value
    return apply


def field(path: str, value: Any) -> Change:
    """Set one fact of the document: ``frameworks.numpy.blas_version``."""
    def apply(document: Doc) -> None:
        node = document
        parts = path.split(".")
        for part in parts[:-1]:
            node = node[part]
        node[parts[-1]] = value
    return apply


def canary(name: str, digest: str) -> Change:
    def apply(document: Doc) -> None:
        document["numerics"]["canaries"][name]["digest"] = digest
    return apply


def torch_gpu_runtime(cudnn: int) -> Change:
    """What gpu_torch.runtime() reports on an A100 (the one fact only a GPU measures)."""
    def apply(document: Doc) -> None:
        document["numerics"]["runtime"]["gpu"] = {
            "devices": ["NVIDIA A100-SXM4-80GB"], "capability": "8.0", "cuda_runtime": "12.4",
            "cudnn": cudnn, "nccl": "2.21.5", "tf32_matmul_effective": False,
            "allow_tf32_matmul": False, "allow_tf32_cudnn": True,
            "cudnn_deterministic": False, "cudnn_benchmark": False}
    return apply


def _with(base: Doc, *changes: Change) -> Doc:
    document = copy.deepcopy(base)
    for change in changes:
        change(document)
    return document


class Case(NamedTuple):
    about: str  # the rule this case is about
    fires: bool  # True: ``about`` judges it; False: it gives way to ``rule``
    before: Doc
    after: Doc
    path: str
    severity: Severity
    rule: str
    reason: str  # a fragment of the reason given


def fires(about: str, base: Doc, before: list[Change], after: list[Change], path: str,
          severity: Severity, reason: str) -> Case:
    return Case(about, True, _with(base, *before), _with(base, *after), path, severity, about,
                reason)


def gives_way(about: str, base: Doc, before: list[Change], after: list[Change], path: str,
              severity: Severity, rule: str, reason: str) -> Case:
    return Case(about, False, _with(base, *before), _with(base, *after), path, severity, rule,
                reason)


ZLIB = conda("libzlib", "1.3.1", "h4ab18f5_1", 1)
CUDNN = conda("cudnn", "9.1.1.17", "hbc370b7_0")
CUDNN_NEXT = conda("cudnn", "9.3.0.75", "h50b6be5_0")
NCCL = conda("nccl", "2.21.5.1", "h3a97aeb_0")
NCCL_NEXT = conda("nccl", "2.22.3.1", "hbc370b7_1")
CUDA_12_4 = conda("cuda-version", "12.4", "h3060b56_3", 3)
CUDA_12_6 = conda("cuda-version", "12.6", "h7480c83_3", 3)
LIBCUDNN = deb("libcudnn9-cuda-12", "9.1.0.70-1")
LIBCUDNN_NEXT = deb("libcudnn9-cuda-12", "9.2.1.18-1")
CUDART = deb("cuda-cudart-12-4", "12.4.127-1")
CUDART_NEXT = deb("cuda-cudart-12-4", "12.4.99-1")
LIBNCCL = deb("libnccl2", "2.21.5-1+cuda12.4")
LIBNCCL_NEXT = deb("libnccl2", "2.22.3-1+cuda12.6")

CASES: list[Case] = [
    # ---- conda records ---------------------------------------------------------------
    fires("conda-blas-variant", CPU, [conda("libblas", "3.9.0", "20_linux64_mkl", 20)],
          [conda("libblas", "3.9.0", "20_linux64_openblas", 20)], "conda.libblas.build", B,
          "BLAS implementation switched"),
    gives_way("conda-blas-variant", CPU, [conda("libblas", "3.9.0", "20_linux64_mkl", 20)],
              [conda("libblas", "3.9.0", "21_linux64_mkl", 21)], "conda.libblas.build", R,
              "conda-native-build", "same version, another build"),
    fires("conda-openmp-variant", CPU, [conda("_openmp_mutex", "4.5", "2_gnu", 2)],
          [conda("_openmp_mutex", "4.5", "2_kmp_llvm", 2)], "conda._openmp_mutex.build", R,
          "another OpenMP runtime"),
    gives_way("conda-openmp-variant", CPU, [conda("_openmp_mutex", "4.5", "2_gnu", 2)],
              [conda("_openmp_mutex", "4.6", "2_gnu", 2)], "conda._openmp_mutex.version", R,
              "conda-openmp-runtime", "the OpenMP runtime"),
    fires("conda-mkl-version", CPU, [conda("mkl", "2023.2.0", "h84fe81f_50496", 50496)],
          [conda("mkl", "2023.2.1", "h84fe81f_50497", 50497)], "conda.mkl.version", B,
          "CBWR"),
    gives_way("conda-mkl-version", CPU, [], [conda("mkl", "2023.2.0", "h84fe81f_50496", 50496)],
              "conda.mkl", R, "conda-blas-library", "BLAS/LAPACK library"),
    fires("conda-blas-library", CPU, [conda("libopenblas", "0.3.27", "pthreads_hac2b453_1", 1)],
          [conda("libopenblas", "0.3.28", "pthreads_h94d23a6_0")], "conda.libopenblas.version",
          R, "BLAS/LAPACK library"),
    gives_way("conda-blas-library", CPU, [ZLIB], [conda("libzlib", "1.3.2", "h4ab18f5_0")],
              "conda.libzlib.version", OK, "conda-native-patch", "patch releases"),
    fires("conda-openmp-runtime", CPU, [conda("llvm-openmp", "18.1.8", "hf5423f3_0")],
          [conda("llvm-openmp", "18.1.9", "hf5423f3_0")], "conda.llvm-openmp.version", R,
          "thread scheduling"),
    gives_way("conda-openmp-runtime", CPU, [conda("libgfortran5", "14.1.0", "hc5f4f2c_0")],
              [conda("libgfortran5", "14.1.1", "hc5f4f2c_0")], "conda.libgfortran5.version",
              OK, "conda-native-patch", "patch releases"),
    fires("conda-cudnn-version", ONE_GPU, [CUDNN], [CUDNN_NEXT], "conda.cudnn.version", B,
          "cuDNN guarantees bitwise results only within one version"),
    gives_way("conda-cudnn-version", CPU, [CUDNN], [CUDNN_NEXT], "conda.cudnn.version", OK,
              "conda-cudnn-version", NO_CUDA),
    fires("conda-nccl-version", GPUS, [NCCL], [NCCL_NEXT], "conda.nccl.version", R,
          "cost model"),
    gives_way("conda-nccl-version", ONE_GPU, [NCCL], [NCCL_NEXT], "conda.nccl.version", OK,
              "conda-nccl-version", ONE_GPU_NCCL),
    fires("conda-cuda-compiler", ONE_GPU, [conda("cuda-nvcc", "12.4.131", "h9a6d368_0")],
          [conda("cuda-nvcc", "12.6.77", "hbd13f7d_0")], "conda.cuda-nvcc.version", OK,
          "only builds extensions"),
    gives_way("conda-cuda-compiler", ONE_GPU, [conda("cuda-cudart", "12.4.127", "he02047a_2")],
              [conda("cuda-cudart", "12.6.77", "h5888daf_0")], "conda.cuda-cudart.version", B,
              "conda-cuda-libraries", "cuBLAS results"),
    fires("conda-cuda-libraries", ONE_GPU, [CUDA_12_4], [CUDA_12_6],
          "conda.cuda-version.version", B, "cuBLAS results"),
    gives_way("conda-cuda-libraries", CPU, [CUDA_12_4], [CUDA_12_6],
              "conda.cuda-version.version", OK, "conda-cuda-libraries", NO_CUDA),
    # The same version in another build: no version rule's reason ("within one version").
    fires("conda-cuda-build", ONE_GPU, [CUDNN], [conda("cudnn", "9.1.1.17", "hbc370b7_1", 1)],
          "conda.cudnn.build", R, "same version of a CUDA library"),
    gives_way("conda-cuda-build", CPU, [CUDNN], [conda("cudnn", "9.1.1.17", "hbc370b7_1", 1)],
              "conda.cudnn.build", OK, "conda-cuda-build", NO_CUDA),
    fires("conda-nccl-build", GPUS, [NCCL], [conda("nccl", "2.21.5.1", "h3a97aeb_1", 1)],
          "conda.nccl.build", R, "same NCCL version"),
    gives_way("conda-nccl-build", ONE_GPU, [NCCL], [conda("nccl", "2.21.5.1", "h3a97aeb_1", 1)],
              "conda.nccl.build", OK, "conda-nccl-build", ONE_GPU_NCCL),
    gives_way("conda-mkl-version", CPU, [conda("mkl", "2023.2.0", "h84fe81f_50496", 50496)],
              [conda("mkl", "2023.2.0", "h84fe81f_50497", 50497)], "conda.mkl.build", R,
              "conda-native-build", "same version, another build"),
    fires("conda-native-build", CPU, [ZLIB], [conda("libzlib", "1.3.1", "h4ab18f5_2", 2)],
          "conda.libzlib.build", R, "another build"),
    gives_way("conda-native-build", CPU, [ZLIB], [conda("libzlib", "1.4.0", "h4ab18f5_1", 1)],
              "conda.libzlib.version", R, "conda-native-major-minor", "major or minor"),
    fires("conda-native-channel", CPU, [ZLIB],
          [conda("libzlib", "1.3.1", "h4ab18f5_1", 1, channel="https://repo.example/main"),
           same_archive("libzlib", "1.3.1", "h4ab18f5_1")], "conda.libzlib.channel", R,
          "another channel"),
    # Another channel's archive (other hashes): another build, said as such.
    gives_way("conda-native-channel", CPU, [ZLIB],
              [conda("libzlib", "1.3.1", "h4ab18f5_1", 1, channel="https://repo.example/main")],
              "conda.libzlib.sha256", R, "conda-native-build", "another build"),
    fires("conda-native-major-minor", CPU, [ZLIB], [conda("libzlib", "1.4.0", "h4ab18f5_1", 1)],
          "conda.libzlib.version", R, "major or minor"),
    gives_way("conda-native-major-minor", CPU, [ZLIB],
              [conda("libzlib", "1.3.2", "h4ab18f5_1", 1)], "conda.libzlib.version", OK,
              "conda-native-patch", "patch releases"),
    fires("conda-native-patch", CPU, [ZLIB], [conda("libzlib", "1.3.2", "h4ab18f5_1", 1)],
          "conda.libzlib.version", OK, "patch releases"),
    gives_way("conda-native-patch", CPU, [conda("mkl", "2023.2.0", "h84fe81f_50496", 50496)],
              [conda("mkl", "2023.2.1", "h84fe81f_50496", 50496)], "conda.mkl.version", B,
              "conda-mkl-version", "CBWR"),
    fires("conda-native-added-removed", CPU, [], [ZLIB], "conda.libzlib", R,
          "installed on one side only"),
    gives_way("conda-native-added-removed", CPU, [], [CUDNN], "conda.cudnn", OK,
              "conda-cudnn-version", NO_CUDA),
    # ---- system packages (dpkg) ------------------------------------------------------
    fires("system-blas-variant", CPU, [alternative("libblas.so.3", "openblas-pthread")],
          [alternative("libblas.so.3", "blas")],
          "system_packages.alternatives.libblas.so.3", B, "BLAS implementation switched"),
    gives_way("system-blas-variant", CPU, [deb("libblas3", "3.11.0-2")],
              [deb("libblas3", "3.12.0-1")], "system_packages.libblas3.version", R,
              "system-blas-library", "BLAS/LAPACK library"),
    fires("system-mkl-version", CPU, [deb("libmkl-rt", "2020.4.304-4")],
          [deb("libmkl-rt", "2023.1.0-1")], "system_packages.libmkl-rt.version", B, "CBWR"),
    gives_way("system-mkl-version", CPU, [], [deb("libmkl-rt", "2020.4.304-4")],
              "system_packages.libmkl-rt", R, "system-blas-library", "BLAS/LAPACK library"),
    fires("system-blas-library", CPU, [deb("libopenblas0-pthread", "0.3.21+ds-4")],
          [deb("libopenblas0-pthread", "0.3.26+ds-1")],
          "system_packages.libopenblas0-pthread.version", R, "BLAS/LAPACK library"),
    gives_way("system-blas-library", CPU, [deb("zlib1g", "1.2.13-1")],
              [deb("zlib1g", "1.2.14-1")], "system_packages.zlib1g.version", OK,
              "system-native-patch", "patch releases"),
    fires("system-openmp-runtime", CPU, [deb("libgomp1", "12.2.0-14")],
          [deb("libgomp1", "12.3.0-1")], "system_packages.libgomp1.version", R,
          "thread scheduling"),
    gives_way("system-openmp-runtime", CPU, [deb("libgfortran5", "12.2.0-14")],
              [deb("libgfortran5", "12.3.0-1")], "system_packages.libgfortran5.version", R,
              "system-native-major-minor", "major or minor"),
    fires("system-cudnn-version", ONE_GPU, [LIBCUDNN], [LIBCUDNN_NEXT],
          "system_packages.libcudnn9-cuda-12.version", B, "bitwise results"),
    gives_way("system-cudnn-version", CPU, [LIBCUDNN], [LIBCUDNN_NEXT],
              "system_packages.libcudnn9-cuda-12.version", OK, "system-cudnn-version", NO_CUDA),
    fires("system-nccl-version", GPUS, [LIBNCCL], [LIBNCCL_NEXT],
          "system_packages.libnccl2.version", R, "cost model"),
    gives_way("system-nccl-version", ONE_GPU, [LIBNCCL], [LIBNCCL_NEXT],
              "system_packages.libnccl2.version", OK, "system-nccl-version", ONE_GPU_NCCL),
    fires("system-cuda-compiler", ONE_GPU, [deb("cuda-nvcc-12-4", "12.4.131-1")],
          [deb("cuda-nvcc-12-4", "12.4.99-1")], "system_packages.cuda-nvcc-12-4.version", OK,
          "only builds extensions"),
    gives_way("system-cuda-compiler", ONE_GPU, [CUDART], [CUDART_NEXT],
              "system_packages.cuda-cudart-12-4.version", B, "system-cuda-libraries",
              "cuBLAS results"),
    fires("system-cuda-libraries", ONE_GPU, [CUDART], [CUDART_NEXT],
          "system_packages.cuda-cudart-12-4.version", B, "cuBLAS results"),
    gives_way("system-cuda-libraries", CPU, [CUDART], [CUDART_NEXT],
              "system_packages.cuda-cudart-12-4.version", OK, "system-cuda-libraries", NO_CUDA),
    fires("system-cuda-build", ONE_GPU, [LIBCUDNN], [deb("libcudnn9-cuda-12", "9.1.0.70-2")],
          "system_packages.libcudnn9-cuda-12.version", R, "same version of a CUDA library"),
    gives_way("system-cuda-build", CPU, [LIBCUDNN], [deb("libcudnn9-cuda-12", "9.1.0.70-2")],
              "system_packages.libcudnn9-cuda-12.version", OK, "system-cuda-build", NO_CUDA),
    fires("system-nccl-build", GPUS, [LIBNCCL], [deb("libnccl2", "2.21.5-2+cuda12.4")],
          "system_packages.libnccl2.version", R, "same NCCL version"),
    gives_way("system-nccl-build", ONE_GPU, [LIBNCCL], [deb("libnccl2", "2.21.5-2+cuda12.4")],
              "system_packages.libnccl2.version", OK, "system-nccl-build", ONE_GPU_NCCL),
    fires("system-native-build", CPU, [deb("zlib1g", "1.2.13-1")],
          [deb("zlib1g", "1.2.13-1", "i386")], "system_packages.zlib1g.architecture", R,
          "another build"),
    gives_way("system-native-build", CPU, [deb("zlib1g", "1.2.13-1")],
              [deb("zlib1g", "1.3.1-1")], "system_packages.zlib1g.version", R,
              "system-native-major-minor", "major or minor"),
    fires("system-native-major-minor", CPU, [deb("zlib1g", "1.2.13-1")],
          [deb("zlib1g", "1.3.1-1")], "system_packages.zlib1g.version", R, "major or minor"),
    gives_way("system-native-major-minor", CPU, [deb("zlib1g", "1.2.13-1")],
              [deb("zlib1g", "1.2.13-2")], "system_packages.zlib1g.version", R,
              "system-native-build", "another build"),
    fires("system-native-patch", CPU, [deb("zlib1g", "1.2.13-1")], [deb("zlib1g", "1.2.14-1")],
          "system_packages.zlib1g.version", OK, "patch releases"),
    gives_way("system-native-patch", CPU, [deb("libgomp1", "12.2.0-14")],
              [deb("libgomp1", "12.2.1-1")], "system_packages.libgomp1.version", R,
              "system-openmp-runtime", "thread scheduling"),
    fires("system-native-added-removed", CPU, [], [deb("zlib1g", "1.2.13-1")],
          "system_packages.zlib1g", R, "installed on one side only"),
    gives_way("system-native-added-removed", CPU, [], [LIBCUDNN],
              "system_packages.libcudnn9-cuda-12", OK, "system-cudnn-version", NO_CUDA),
    # ---- the libraries a framework resolves (cuda.framework_libraries) ---------------
    fires("framework-library-blas", CPU,
          [resolved("numpy", "libcblas.so.3", "blas", "libcblas.so.3")],
          [resolved("numpy", "libcblas.so.3", "blas", "libmkl_rt.so.2")],
          "cuda.framework_libraries.numpy.libcblas.so.3", B, "another BLAS/LAPACK library"),
    # The OpenMP runtime numpy's BLAS needs is not the BLAS.
    gives_way("framework-library-blas", CPU,
              [resolved("numpy", "libgomp.so.1", "openmp", "libgomp.so.1.0.0")],
              [resolved("numpy", "libgomp.so.1", "openmp", "libomp.so")],
              "cuda.framework_libraries.numpy.libgomp.so.1", R, "framework-library-openmp",
              "another OpenMP runtime"),
    fires("framework-library-nccl", GPUS,
          [resolved("torch", "libnccl.so.2", "nccl", "libnccl.so.2.21.5")],
          [resolved("torch", "libnccl.so.2", "nccl", "libnccl.so.2.22.3")],
          "cuda.framework_libraries.torch.libnccl.so.2", R, "cost model"),
    gives_way("framework-library-nccl", ONE_GPU,
              [resolved("torch", "libnccl.so.2", "nccl", "libnccl.so.2.21.5")],
              [resolved("torch", "libnccl.so.2", "nccl", "libnccl.so.2.22.3")],
              "cuda.framework_libraries.torch.libnccl.so.2", OK, "framework-library-nccl",
              ONE_GPU_NCCL),
    fires("framework-library-openmp", CPU,
          [resolved("torch", "libgomp.so.1", "openmp", "libgomp.so.1.0.0")],
          [resolved("torch", "libgomp.so.1", "openmp", "libomp.so", "LD_LIBRARY_PATH")],
          "cuda.framework_libraries.torch.libgomp.so.1", R, "another OpenMP runtime"),
    gives_way("framework-library-openmp", ONE_GPU,
              [resolved("torch", "libcudart.so.12", "cudart", "libcudart.so.12.4.127")],
              [resolved("torch", "libcudart.so.12", "cudart", "libcudart.so.12.6.77")],
              "cuda.framework_libraries.torch.libcudart.so.12", B, "framework-library-cuda",
              "bitwise results hold only within one version"),
    fires("framework-library-cuda", ONE_GPU,
          [resolved("torch", "libcudnn.so.9", "cudnn", "libcudnn.so.9.1.0")],
          [resolved("torch", "libcudnn.so.9", "cudnn", "libcudnn.so.9.3.0", "LD_LIBRARY_PATH")],
          "cuda.framework_libraries.torch.libcudnn.so.9", B, "another CUDA library file"),
    gives_way("framework-library-cuda", ONE_GPU,
              [resolved("torch", "libnccl.so.2", "nccl", "libnccl.so.2.21.5")],
              [resolved("torch", "libnccl.so.2", "nccl", "libnccl.so.2.22.3")],
              "cuda.framework_libraries.torch.libnccl.so.2", OK, "framework-library-nccl",
              ONE_GPU_NCCL),
    # ---- the canaries' measurements and the runtime as loaded (numerics) -------------
    fires("measured-difference", MEASURED, [], [canary("numpy.matmul_float32", "0" * 64)],
          "numerics.canaries.numpy.matmul_float32", B, "computed other bits"),
    # Bitwise identical, only slower: no measured difference.
    gives_way("measured-difference", MEASURED, [], [numerics("canaries.numpy.matmul_float32"
                                                             ".time_ms", 99.0)],
              "numerics.canaries.numpy.matmul_float32", OK, "", "no change"),
    # numpy's files (frameworks.numpy.blas_version) and the OpenBLAS it loaded (runtime.blas,
    # the second pool: numpy.libs) agree on both sides of the base.
    fires("loaded-not-the-files", MEASURED, [], [numerics("runtime.blas.1.version", "0.3.20")],
          "numerics.loaded.frameworks.numpy.blas_version", B,
          "the files say 0.3.31.188.0 on both sides"),
    gives_way("loaded-not-the-files", MEASURED, [],
              [numerics("runtime.blas.1.version", "0.3.20"),
               field("frameworks.numpy.blas_version", "0.3.20")],
              "numerics.loaded.frameworks.numpy.blas_version", OK, "",
              "files and loaded library changed together: the files' change says it"),
    fires("files-not-loaded", MEASURED, [], [field("frameworks.numpy.blas_version", "0.3.20")],
          "numerics.loaded.frameworks.numpy.blas_version", R,
          "but both sides loaded 0.3.31.188.0"),
    gives_way("files-not-loaded", MEASURED, [],
              [field("frameworks.numpy.blas_version", "0.3.20"),
               numerics("runtime.blas.1.version", "0.3.20")],
              "numerics.loaded.frameworks.numpy.blas_version", OK, "",
              "files and loaded library changed together: the files' change says it"),
    fires("loaded-onednn", MEASURED, [], [numerics("runtime.torch.onednn_enabled", False)],
          "numerics.runtime.torch.onednn_enabled", B, "oneDNN kernels on or off"),
    gives_way("loaded-onednn", MEASURED, [], [numerics("runtime.torch.cpu_capability", "AVX2")],
              "numerics.runtime.torch.cpu_capability", R, "loaded-code-path",
              "instruction set or code branch"),
    fires("loaded-gpu", MEASURED, [torch_gpu_runtime(90100)], [torch_gpu_runtime(90300)],
          "numerics.runtime.gpu.cudnn", B, "CUDA libraries loaded"),
    # A GPU runtime on one side only: the gpus and packages sections say it.
    gives_way("loaded-gpu", MEASURED, [], [torch_gpu_runtime(90300)],
              "numerics.runtime.gpu.cudnn", OK, "", "no change"),
    fires("loaded-threads", MEASURED, [], [numerics("runtime.torch.num_threads", 8)],
          "numerics.runtime.torch.num_threads", R, "thread counts"),
    gives_way("loaded-threads", MEASURED, [],
              [numerics("runtime.torch.deterministic_algorithms", True)],
              "numerics.runtime.torch.deterministic_algorithms", R, "loaded-other",
              "settings as loaded"),
    fires("loaded-code-path", MEASURED, [], [numerics("runtime.blas.0.core_type", "Haswell")],
          "numerics.runtime.blas.libscipy_openblas-6cdc3b4a.so.core_type", R,
          "instruction set or code branch"),
    gives_way("loaded-code-path", MEASURED, [], [numerics("runtime.blas.0.num_threads", 8)],
              "numerics.runtime.blas.libscipy_openblas-6cdc3b4a.so.num_threads", R,
              "loaded-threads", "thread counts"),
    fires("loaded-library", MEASURED, [], [numerics("runtime.blas.0.version", "0.3.31")],
          "numerics.runtime.blas.libscipy_openblas-6cdc3b4a.so.version", R,
          "another numeric library"),
    gives_way("loaded-library", MEASURED, [], [numerics("runtime.jax.backend", "gpu")],
              "numerics.runtime.jax.backend", R, "loaded-other", "settings as loaded"),
    fires("loaded-other", MEASURED, [], [numerics("runtime.jax.enable_x64", True)],
          "numerics.runtime.jax.enable_x64", R, "settings as loaded"),
    gives_way("loaded-other", MEASURED, [], [numerics("runtime.tensorflow.intra_op_threads", 4)],
              "numerics.runtime.tensorflow.intra_op_threads", R, "loaded-threads",
              "thread counts"),
]


def _case_id(case: Case) -> str:
    return f"{case.about}-{'fires' if case.fires else 'gives-way'}"


@pytest.mark.parametrize("case", [pytest.param(c, id=_case_id(c)) for c in CASES])
def test_rule(case: Case) -> None:
    report = diff(Fingerprint.from_dict(copy.deepcopy(case.before), "before"),
                  Fingerprint.from_dict(copy.deepcopy(case.after), "after"))
    matching = [c for c in report.changes if c.path == case.path]
    if not case.rule:  # nothing there for the rule to judge
        assert matching == [], case.reason
        return
    assert len(matching) == 1, [c.path for c in report.changes]
    [found] = matching
    assert (found.rule, found.severity) == (case.rule, case.severity), found
    assert case.reason in found.reason and found.reference, found
    if not case.fires:
        assert found.rule != case.about or found.reason != next(
            r.reason for r in CATALOG if r.id == case.about), "gives way: not its own verdict"


NATIVE = ("conda", "system_packages", "numerics")


def test_every_rule_of_these_sections_fires_and_gives_way() -> None:
    ours = [r.id for r in CATALOG if r.section in NATIVE or r.id.startswith("framework-library")]
    fired = {c.about for c in CASES if c.fires}
    given_way = {c.about for c in CASES if not c.fires}
    assert sorted(set(ours) - fired) == []
    assert sorted(set(ours) - given_way) == []
    assert sorted((fired | given_way) - set(ours)) == []


def test_every_rule_in_the_catalog_has_a_test() -> None:
    from test_diff import SCENARIOS

    tested = {s[5] for s in SCENARIOS} | {c.rule for c in CASES}
    # "unknown" is reached by no real difference: test_diff.py judges one directly.
    assert sorted(r.id for r in CATALOG if r.id not in tested) == ["unknown"]
