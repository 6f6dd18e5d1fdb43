"""The rule catalog: every judgement envcheck makes, with the source a user can check.

Rules are data. Each matches a kind of difference (section, subject pattern, kind
of change) and gives a severity, a one-line reason and a reference. The first
matching rule wins, so specific rules come before general ones; the general
fallbacks at the end make sure no difference is silently benign.

A rule may depend on context from both fingerprints (``when``: a
``context.Condition``); where the condition does not hold, the rule gives
``otherwise`` instead, with the condition's own reason. Sources, with what each
row rests on: docs/drift-rules.md in this repository.
"""

from __future__ import annotations

from typing import NamedTuple

from ..probe.frameworks import FRAMEWORK_PACKAGES, TENSORFLOW_DISTS
from . import Severity
from .context import (
    AMPERE_GPU,
    CPU_ONLY,
    CROSSES_CC_8,
    CROSSES_TF_2_9,
    GPU_OR_CUDA_BUILD,
    HOROVOD,
    JAX,
    MKL,
    MULTI_GPU,
    NUMPY,
    NUMPY_PROMOTION_STATE,
    ONEDNN,
    OPENBLAS,
    TENSORFLOW,
    TORCH,
    XLA,
    Condition,
)

B, R, OK = Severity.BREAKING, Severity.RISKY, Severity.BENIGN

# Kinds of change. Versions: added, removed, major, minor, patch (release digits
# after minor, pre/post/dev), local (+cu121), build (same version, other files),
# changed (not a parseable version), shadowed (copies further down sys.path), edited
# (files that differ from RECORD, in deep snapshots).
# Other values: added, removed, changed; variables: set, unset, changed.
VERSION_BUMPS = frozenset({"major", "minor", "patch", "local", "changed"})
ANY = frozenset({"*"})  # every kind of change
PRESENCE = frozenset({"added", "removed"})

TORCH_RANDOMNESS = "https://pytorch.org/docs/stable/notes/randomness.html"
TF_DETERMINISM = "tensorflow/community rfcs/20210119-determinism.md"
CUBLAS_REPRO = "https://docs.nvidia.com/cuda/cublas/#results-reproducibility"
CUDNN_REPRO = "https://docs.nvidia.com/deeplearning/cudnn/latest/developer/misc.html"
NVIDIA_D9M = "https://github.com/NVIDIA/framework-reproducibility/blob/master/doc/d9m/README.md"
ONEMKL_CBWR = ("https://www.intel.com/content/www/us/en/docs/onemkl/developer-guide-linux/"
               "current/reproducibility-conditions.html")
TF32_TORCH = "pytorch/pytorch#67384"
NCCL_ALGO = "NVIDIA/nccl#457"
MEASURED = "envcheck README: measured evidence"


class Rule(NamedTuple):
    id: str
    section: str
    subjects: tuple[str, ...]  # fnmatch patterns: package names, fields, variables
    kinds: frozenset[str]
    severity: Severity
    reason: str
    reference: str
    when: Condition | None = None
    otherwise: Severity | None = None  # None: the rule is skipped where ``when`` fails
    otherwise_reason: str | None = None  # default: the condition's ``absent``


def _pkg(rule_id: str, names: tuple[str, ...], kinds: frozenset[str], severity: Severity,
         reason: str, reference: str, when: Condition | None = None,
         otherwise: Severity | None = None, otherwise_reason: str | None = None) -> Rule:
    return Rule(rule_id, "packages", names, kinds, severity, reason, reference, when, otherwise,
                otherwise_reason)


def _native(rule_id: str, names: tuple[str, ...], kinds: frozenset[str], severity: Severity,
            reason: str, reference: str, when: Condition | None = None,
            otherwise: Severity | None = None, otherwise_reason: str | None = None,
            system: bool = True) -> tuple[Rule, ...]:
    """One judgement for conda records and system (dpkg) packages alike, as ``conda-ID`` and
    ``system-ID``: a libcudnn9 Debian package and a cudnn conda package are the same library.
    ``system=False`` where system packages never differ that way (a channel, an OpenMP build
    variant): no rule that nothing can reach."""
    conda = Rule(f"conda-{rule_id}", "conda", names, kinds, severity, reason, reference, when,
                 otherwise, otherwise_reason)
    if not system:
        return (conda,)
    return conda, conda._replace(id=f"system-{rule_id}", section="system_packages")


def _env(rule_id: str, names: tuple[str, ...], severity: Severity, reason: str,
         reference: str, needs: Condition | None = None) -> Rule:
    """A rule about settings that matter only where ``needs`` holds; benign elsewhere."""
    return Rule(rule_id, "env", names, ANY, severity, reason, reference, needs,
                None if needs is None else OK)


TF_DISTS = TENSORFLOW_DISTS  # every distribution that installs the tensorflow package
JAX_DISTS = ("jax", "jaxlib", "jax-cuda*-plugin", "jax-cuda*-pjrt", "jax-rocm*-plugin",
             "jax-rocm*-pjrt")
# Native libraries by what they are, as conda (cudnn, nccl, libblas, mkl, llvm-openmp) and
# Debian or NVIDIA's apt repositories (libcudnn9-cuda-12, libnccl2, libopenblas0-pthread,
# libblas3, libgomp1) name their packages.
BLAS_VARIANT_PACKAGES = ("libblas", "libcblas", "liblapack", "liblapacke", "blas",
                         "alternatives.libblas.so.3", "alternatives.liblapack.so.3",
                         "alternatives.libcblas.so.3")
MKL_PACKAGES = ("mkl", "mkl-*", "libmkl*", "intel-mkl*", "intel-oneapi-mkl*")
BLAS_LIBRARIES = ("libopenblas*", "openblas", "libblis*", "blis", "libblas*", "libcblas*",
                  "liblapack*", "libatlas*", "libflexiblas*")
OPENMP = ("_openmp_mutex", "llvm-openmp", "intel-openmp", "libgomp*", "libomp*", "libiomp*")
CUDNN = ("cudnn", "libcudnn*", "nvidia-cudnn")
NCCL = ("nccl", "libnccl*")
CUDA_COMPILER = ("cuda-nvcc*", "cuda-compiler*")
CUDA_LIBRARIES = ("cuda-version", "cudatoolkit", "cuda-*", "libcublas*", "libcufft*",
                  "libcurand*", "libcusolver*", "libcusparse*", "libnvrtc*", "libcudart*",
                  "libnvjitlink*", "libnvblas*", "nvidia-cuda*")
CONDA_BLAS = "https://conda-forge.org/docs/maintainer/knowledge_base/#switching-blas-implementation"
CONDA_OPENMP = "https://conda-forge.org/docs/maintainer/knowledge_base/#openmp"
NATIVE_BUILD = "https://docs.conda.io/projects/conda-build/en/stable/resources/package-spec.html"

CATALOG: tuple[Rule, ...] = (
    # ---- packages: frameworks -------------------------------------------------------
    _pkg("framework-added-removed", FRAMEWORK_PACKAGES, PRESENCE, B,
         "a framework is present on one side only", NVIDIA_D9M),
    _pkg("torch-local-label", ("torch", "torchvision", "torchaudio"), frozenset({"local"}), B,
         "same version, different build label: other bundled CUDA libraries, or CPU vs GPU "
         "build", "pytorch/pytorch#133093"),
    _pkg("torch-version", ("torch",), VERSION_BUMPS, B,
         "PyTorch promises no reproducibility across releases, patch releases included",
         TORCH_RANDOMNESS),
    _pkg("torch-build", ("torch",), frozenset({"build"}), B,
         "same torch version, different files installed: a different build", TORCH_RANDOMNESS),
    _pkg("tensorflow-onednn-default", TF_DISTS, VERSION_BUMPS, B,
         "crosses TensorFlow 2.9, which turned oneDNN on by default on x86 CPUs",
         "tensorflow/community rfcs/20210930-enable-onednn-ops.md", when=CROSSES_TF_2_9),
    _pkg("tensorflow-minor", TF_DISTS, frozenset({"major", "minor", "changed"}), B,
         "determinism needs the same TensorFlow; 2.10 changed Keras initializer RNG",
         TF_DETERMINISM),
    _pkg("tensorflow-patch", TF_DISTS, frozenset({"patch", "local", "build"}), R,
         "TensorFlow guarantees determinism only for the same build", TF_DETERMINISM),
    _pkg("jax-version", JAX_DISTS, VERSION_BUMPS | {"build"}, B,
         "JAX promises no identical numerics or random values across versions",
         "jax-ml/jax docs/api_compatibility.md"),
    _pkg("numpy-major", ("numpy",), frozenset({"major"}), B,
         "NumPy 2 changed type promotion (NEP 50): float32 + Python float stays float32",
         "https://numpy.org/doc/stable/numpy_2_0_migration_guide.html"),
    _pkg("numpy-minor", ("numpy",), frozenset({"minor", "patch", "local", "changed", "build"}),
         R, "Generator streams may change between NumPy releases (RandomState is frozen)",
         "numpy NEP 19; doc/source/reference/random/compatibility.rst"),
    _pkg("scipy-version", ("scipy",), VERSION_BUMPS | {"build"}, R,
         "SciPy gives no stream guarantee for rvs() across versions",
         "scipy-dev mailing list, 2019-11"),
    # ---- packages: libraries with documented numeric changes -------------------------
    _pkg("tokenizers-version", ("tokenizers",), VERSION_BUMPS | {"build"}, B,
         "tokenizer releases changed token ids (0.19.0 to 0.19.1 for Llama-3): the data "
         "itself changes", "huggingface/tokenizers#1512"),
    _pkg("sklearn-minor", ("scikit-learn",), frozenset({"major", "minor", "changed"}), B,
         "every scikit-learn release lists changed models", "scikit-learn doc/whats_new"),
    _pkg("sklearn-patch", ("scikit-learn",), frozenset({"patch", "local", "build"}), R,
         "some scikit-learn patch releases change models too", "scikit-learn doc/whats_new"),
    _pkg("lightgbm-version", ("lightgbm",), VERSION_BUMPS | {"build"}, B,
         "LightGBM documents different results across versions and compilers",
         "microsoft/LightGBM include/LightGBM/config.h (deterministic)"),
    _pkg("xgboost-major", ("xgboost",), frozenset({"major"}), B,
         "XGBoost 2.0 changed the default tree_method", "dmlc/xgboost 2.0.0 release notes"),
    _pkg("xgboost-version", ("xgboost",), VERSION_BUMPS | {"build"}, R,
         "threaded floating-point sums vary between XGBoost builds", "dmlc/xgboost doc/faq.rst"),
    _pkg("transformers-minor", ("transformers",), frozenset({"major", "minor", "changed"}), R,
         "transformers minors change defaults (4.36 made SDPA attention the default)",
         "huggingface/trl#1080"),
    # ---- packages: CUDA libraries ---------------------------------------------------
    _pkg("nvidia-nccl-wheel", ("nvidia-nccl-*",), VERSION_BUMPS | PRESENCE, R,
         "NCCL picks algorithms by a cost model that changes between versions", NCCL_ALGO,
         when=MULTI_GPU, otherwise=OK),
    # The same version with other files: another build, as for conda and Debian packages.
    _pkg("nvidia-nccl-wheel-build", ("nvidia-nccl-*",), frozenset({"build"}), R,
         "the same NCCL version, other files installed (another build)", NCCL_ALGO,
         when=MULTI_GPU, otherwise=OK),
    _pkg("nvidia-ml-py", ("nvidia-ml-py", "nvidia-ml-py3"), ANY, OK,
         "NVML bindings: monitoring only, no effect on numerics", "NVIDIA nvidia-ml-py"),
    _pkg("pynvml-deprecated", ("pynvml",), ANY, OK,
         "NVML bindings (deprecated distribution): monitoring only",
         "https://pypi.org/project/pynvml/"),
    _pkg("nvidia-wheel-build", ("nvidia-*",), frozenset({"build"}), R,
         "the same version of a CUDA library frameworks load, other files installed "
         "(another build)", "pytorch/pytorch#103091", when=GPU_OR_CUDA_BUILD, otherwise=OK),
    _pkg("nvidia-wheel", ("nvidia-*",), ANY, B,
         "the CUDA libraries (cuBLAS, cuDNN, runtime) frameworks actually load",
         "pytorch/pytorch#103091", when=GPU_OR_CUDA_BUILD, otherwise=OK),
    # ---- packages: files edited since install (deep snapshots) ----------------------
    _pkg("framework-files-edited", FRAMEWORK_PACKAGES, frozenset({"edited"}), B,
         "files of a framework differ from its RECORD: edited since install, so its code is "
         "not the released code", "PEP 376 (RECORD); envcheck verify"),
    _pkg("package-files-edited", ("*",), frozenset({"edited"}), R,
         "files differ from the package's RECORD: edited since install",
         "PEP 376 (RECORD); envcheck verify"),
    # ---- packages: everything else --------------------------------------------------
    _pkg("package-shadowed", ("*",), frozenset({"shadowed"}), R,
         "two copies on sys.path: only the first is imported", "pip docs: pip inspect"),
    _pkg("package-major-minor", ("*",), frozenset({"major", "minor", "changed"}), R,
         "no rule for this package: a major or minor change may change behaviour",
         "envcheck default"),
    _pkg("package-build", ("*",), frozenset({"build"}), R,
         "same version, different files installed (another build, or edited files)",
         "envcheck default"),
    _pkg("package-added-removed", ("*",), PRESENCE, R,
         "installed on one side only: code that imports it behaves differently",
         "envcheck default"),
    _pkg("package-patch", ("*",), frozenset({"patch", "local"}), OK,
         "no rule for this package: patch releases are assumed compatible", "envcheck default"),
    # ---- frameworks: build facts ----------------------------------------------------
    Rule("framework-cuda-build", "frameworks", ("*.cuda", "*.cudnn", "*.build", "*.hip"),
         ANY, B, "built against other CUDA/cuDNN libraries (or CPU vs GPU)",
         "pytorch/pytorch#133093; " + CUDNN_REPRO),
    Rule("framework-git-revision", "frameworks", ("*.git_revision",), ANY, B,
         "same version string, different source revision", TORCH_RANDOMNESS),
    Rule("framework-blas", "frameworks", ("*.blas", "*.lapack", "*.mkl", "*.mkldnn"), ANY, B,
         "a different BLAS/LAPACK backend (MKL, OpenBLAS, Accelerate) gives different "
         "linear algebra results", "ContinuumIO/anaconda-issues#12308"),
    Rule("framework-blas-version", "frameworks", ("*.blas_version", "*.lapack_version"), ANY,
         R, "BLAS kernels change between releases", "ContinuumIO/anaconda-issues#12308"),
    Rule("framework-requirements", "frameworks", ("*.nvidia_requirements",), ANY, B,
         "the framework pins other CUDA library wheels", "pytorch/pytorch#114952"),
    Rule("framework-other", "frameworks", ("*",), ANY, R,
         "a framework's build differs", "envcheck default"),
    # ---- cuda ---------------------------------------------------------------------------
    Rule("cuda-driver", "cuda", ("driver_version", "driver_cuda_version"), ANY, R,
         "frameworks bundle their libraries; the driver matters where kernels JIT from PTX",
         "https://developer.nvidia.com/blog/cuda-pro-tip-understand-fat-binaries-jit-caching/"),
    Rule("cuda-system-nccl", "cuda", ("system_libraries.nccl",), ANY, R,
         "NCCL picks algorithms by a cost model that changes between versions", NCCL_ALGO,
         when=MULTI_GPU, otherwise=OK),
    Rule("cuda-system-driver-libraries", "cuda",
         ("system_libraries.cuda", "system_libraries.nvidia-ml"), ANY, R,
         "the driver's user-space libraries", "NVIDIA driver documentation"),
    Rule("cuda-system-libraries", "cuda", ("system_libraries.*",), ANY, B,
         "cuBLAS and cuDNN guarantee bitwise results only within one version",
         CUBLAS_REPRO + "; " + CUDNN_REPRO, when=GPU_OR_CUDA_BUILD, otherwise=OK),
    Rule("cuda-toolkit", "cuda", ("toolkit", "toolkit.*"), ANY, OK,
         "a system toolkit (nvcc) only builds extensions; framework wheels bring their own "
         "CUDA runtime", "discuss.pytorch.org: how does pytorch pick cuda versions"),
    Rule("framework-library-blas", "cuda", ("framework_libraries.blas",), ANY, B,
         "a framework resolves another BLAS/LAPACK library (MKL, OpenBLAS, reference)",
         "ContinuumIO/anaconda-issues#12308"),
    Rule("framework-library-nccl", "cuda", ("framework_libraries.nccl",), ANY, R,
         "NCCL picks algorithms by a cost model that changes between versions", NCCL_ALGO,
         when=MULTI_GPU, otherwise=OK),
    Rule("framework-library-openmp", "cuda", ("framework_libraries.openmp",), ANY, R,
         "a framework resolves another OpenMP runtime: thread scheduling and reduction order "
         "may differ", CONDA_OPENMP),
    Rule("framework-library-cuda", "cuda", ("framework_libraries.*",), ANY, B,
         "a framework resolves another CUDA library file (cuDNN, cuBLAS, runtime): bitwise "
         "results hold only within one version", CUBLAS_REPRO + "; " + CUDNN_REPRO),
    # ---- gpus ----------------------------------------------------------------------------
    Rule("gpu-count", "gpus", ("count",), ANY, B,
         "the number of GPUs changes per-device batch norm and all-reduce order",
         "pytorch/pytorch#49794"),
    Rule("gpu-tf32", "gpus", ("compute_capability",), ANY, B,
         "one side is Ampere or newer (compute capability 8.0+): TF32 math is on by default "
         "in TensorFlow and JAX and in torch's cuDNN convolutions", TF32_TORCH,
         when=CROSSES_CC_8),
    Rule("gpu-architecture", "gpus", ("compute_capability", "architecture"), ANY, B,
         "cuDNN and cuBLAS give no bitwise guarantee across GPU architectures", CUBLAS_REPRO),
    Rule("gpu-multiprocessors", "gpus", ("multiprocessors", "mig_mode"), ANY, R,
         "cuBLAS reproducibility also needs the same number of multiprocessors (MIG slices "
         "change it)", CUBLAS_REPRO),
    Rule("gpu-model", "gpus", ("name",), ANY, R,
         "a different GPU model: other multiprocessor counts and clocks", CUBLAS_REPRO),
    Rule("gpu-visibility", "gpus", ("visible_as",), ANY, R,
         "CUDA_VISIBLE_DEVICES changes the GPU set and the rank-to-device mapping",
         "https://docs.nvidia.com/cuda/cuda-c-programming-guide/#env-vars"),
    Rule("gpu-memory", "gpus", ("memory_total_mib", "ecc"), ANY, OK,
         "memory size and ECC do not change arithmetic", "NVIDIA NVML documentation"),
    # ---- cpu -----------------------------------------------------------------------------
    Rule("cpu-architecture", "cpu", ("architecture",), ANY, B,
         "a different CPU architecture runs different kernels", "oneMKL code branches"),
    Rule("cpu-isa", "cpu", ("flags.*",), ANY, B,
         "MKL, oneDNN and NumPy dispatch kernels on the instruction set; this is a CPU-only "
         "job, so they do the training math", "numpy/numpy#22904; pytorch/pytorch#82881",
         when=CPU_ONLY, otherwise=R,
         otherwise_reason="MKL, oneDNN and NumPy dispatch kernels on the instruction set"),
    Rule("cpu-vendor", "cpu", ("vendor",), ANY, R,
         "follows from instruction-set dispatch in MKL and oneDNN", "oneMKL code branches"),
    Rule("cpu-cores", "cpu", ("usable_cores", "logical_cores", "physical_cores",
                              "cgroup_cpu_limit"), ANY, R,
         "thread counts follow the cores, and reduction order follows the threads",
         ONEMKL_CBWR),
    Rule("cpu-model", "cpu", ("model", "memory_total_mib"), ANY, OK,
         "the instruction sets and core counts are what matter; they are compared separately",
         ONEMKL_CBWR),
    # ---- python and os ------------------------------------------------------------------
    Rule("python-implementation", "python", ("implementation",), ANY, B,
         "a different Python implementation", "https://docs.python.org/3/library/random.html"),
    Rule("python-major-minor", "python", ("version",), frozenset({"major", "minor", "changed"}),
         R, "random module algorithms may change between Python minor versions",
         "bugs.python.org issue23974"),
    Rule("python-patch", "python", ("version",), frozenset({"patch", "local"}), OK,
         "Python patch releases keep the random module's algorithms",
         "https://docs.python.org/3/library/random.html#notes-on-reproducibility"),
    Rule("python-free-threaded", "python", ("free_threaded",), ANY, R,
         "a free-threaded build changes how threads interleave", "PEP 703"),
    Rule("python-build", "python", ("build.*", "wheel_tag", "platform"), ANY, OK,
         "the interpreter build and its wheel tag follow from version and libc",
         "PEP 425"),
    Rule("libc-version", "os", ("libc.*",), ANY, R,
         "glibc 2.28 changed the last digits of libm's transcendental functions",
         "openmc-dev/openmc#1214"),
    Rule("os-family", "os", ("system",), ANY, R,
         "each platform's libm gives different last digits", "numpy/numpy#9187"),
    Rule("os-benign", "os", ("kernel", "kernel_build", "distribution.*", "container"), ANY, OK,
         "no known numeric effect", "envcheck default"),
    # ---- env: each framework's settings matter only where it is installed ----------
    _env("env-determinism", ("TF_DETERMINISTIC_OPS", "TF_CUDNN_DETERMINISTIC"), B,
         "selects deterministic kernels", TF_DETERMINISM, TENSORFLOW),
    Rule("env-tf32", "env", ("NVIDIA_TF32_OVERRIDE", "TORCH_ALLOW_TF32_CUBLAS_OVERRIDE"), ANY,
         B, "turns TF32 math off or forces it on, and a GPU of compute capability 8.0+ is "
         "present", TF32_TORCH, when=AMPERE_GPU, otherwise=OK),
    _env("env-xla", ("XLA_FLAGS",), B, "changes XLA's kernel choice and autotuning",
         "jax-ml/jax#4824", XLA),
    _env("env-jax", ("JAX_DEFAULT_MATMUL_PRECISION", "JAX_ENABLE_X64"), B,
         "changes matmul precision or the default dtype",
         "jax-ml/jax docs: default_matmul_precision", JAX),
    _env("env-tf-onednn", ("TF_ENABLE_ONEDNN_OPTS",), B,
         "turns TensorFlow's oneDNN CPU kernels on or off, which round differently",
         "tensorflow/tensorflow#56697", TENSORFLOW),
    _env("env-mkl-code-path", ("MKL_CBWR",), B,
         "selects MKL's code branch; results repeat only with the same branch", ONEMKL_CBWR,
         MKL),
    _env("env-onednn-fpmath", ("ONEDNN_DEFAULT_FPMATH_MODE",), B,
         "lets oneDNN down-convert float32 math (bf16, tf32)",
         "https://oneapi-src.github.io/oneDNN/dev_guide_attributes_fpmath_mode.html", ONEDNN),
    _env("env-nccl-algorithm", ("NCCL_ALGO", "NCCL_PROTO", "NCCL_MAX_NCHANNELS"), B,
         "ring and tree all-reduce sum in different orders", "NVIDIA/nccl#1055", MULTI_GPU),
    _env("env-nccl-other", ("NCCL_*",), R, "NCCL tuning can change collective algorithms",
         NCCL_ALGO, MULTI_GPU),
    Rule("env-benign", "env", ("PYTORCH_CUDA_ALLOC_CONF", "TF_GPU_ALLOCATOR",
                               "CUDA_LAUNCH_BLOCKING"), ANY, OK,
         "memory allocation and debugging only", "envcheck default"),
    _env("env-threads", ("OMP_NUM_THREADS", "OMP_DYNAMIC"), R,
         "thread counts set the reduction order", "numpy/numpy#25100; " + ONEMKL_CBWR),
    _env("env-mkl-threads", ("MKL_NUM_THREADS", "MKL_DYNAMIC", "KMP_DETERMINISTIC_REDUCTION"),
         R, "MKL's thread count sets its reduction order", ONEMKL_CBWR, MKL),
    _env("env-openblas-threads", ("OPENBLAS_NUM_THREADS",), R,
         "OpenBLAS's thread count changes GEMM results (measured: docs/drift-rules.md)",
         "numpy/numpy#25100", OPENBLAS),
    _env("env-openblas-coretype", ("OPENBLAS_CORETYPE",), R,
         "forces another OpenBLAS kernel (measured: other GEMM bits)",
         "https://github.com/OpenMathLib/OpenBLAS/wiki/Faq", OPENBLAS),
    _env("env-onednn-isa", ("ONEDNN_MAX_CPU_ISA", "DNNL_MAX_CPU_ISA"), R,
         "limits the instruction set oneDNN's kernels may use",
         "https://oneapi-src.github.io/oneDNN/dev_guide_cpu_dispatcher_control.html", ONEDNN),
    _env("env-aten-isa", ("ATEN_CPU_CAPABILITY",), R,
         "limits the instruction set PyTorch's CPU kernels may use", "pytorch/pytorch#82881",
         TORCH),
    _env("env-numpy-cpu-features", ("NPY_DISABLE_CPU_FEATURES", "NPY_ENABLE_CPU_FEATURES"), R,
         "limits NumPy's SIMD kernels: float32 sin, cos, exp, log and tanh give other bits",
         "numpy/numpy#23523", NUMPY),
    _env("env-numpy-promotion", ("NPY_PROMOTION_STATE",), B,
         "switches NumPy 1.24-2.1 between legacy and NEP 50 type promotion",
         "https://numpy.org/neps/nep-0050-scalar-promotion.html; numpy/numpy#27156",
         NUMPY_PROMOTION_STATE),
    _env("env-cublas-workspace", ("CUBLAS_WORKSPACE_CONFIG",), R,
         "needed for deterministic cuBLAS; torch's deterministic mode checks it",
         TORCH_RANDOMNESS, GPU_OR_CUDA_BUILD),
    _env("env-devices", ("CUDA_VISIBLE_DEVICES", "CUDA_DEVICE_ORDER"), R,
         "changes the GPU set and the rank-to-device mapping",
         "https://docs.nvidia.com/cuda/cuda-c-programming-guide/#env-vars", GPU_OR_CUDA_BUILD),
    Rule("env-hash-seed", "env", ("PYTHONHASHSEED",), ANY, R,
         "changes iteration order of sets and dicts of strings",
         "https://docs.python.org/3/using/cmdline.html#envvar-PYTHONHASHSEED"),
    _env("env-tf-autotune", ("TF_USE_CUDNN_AUTOTUNE", "TF_CUDNN_USE_FRONTEND"), R,
         "cuDNN autotuning chooses kernels at run time", NVIDIA_D9M, TENSORFLOW),
    _env("env-horovod-fusion", ("HOROVOD_FUSION_THRESHOLD",), R,
         "tensor fusion changes the order of reductions", NVIDIA_D9M, HOROVOD),
    # ---- env: the rest of each framework's family ------------------------------------
    _env("env-tensorflow-other", ("TF_*",), R, "a TensorFlow setting with no rule of its own",
         "envcheck default", TENSORFLOW),
    _env("env-xla-other", ("XLA_*", "JAX_*"), R, "a JAX/XLA setting with no rule of its own",
         "envcheck default", XLA),
    _env("env-mkl-other", ("MKL_*", "KMP_*"), R, "an MKL setting with no rule of its own",
         "envcheck default", MKL),
    _env("env-openblas-other", ("OPENBLAS_*",), R, "an OpenBLAS setting with no rule of its "
         "own", "envcheck default", OPENBLAS),
    _env("env-numpy-other", ("NPY_*",), R, "a NumPy setting with no rule of its own",
         "envcheck default", NUMPY),
    _env("env-onednn-other", ("ONEDNN_*", "DNNL_*"), R, "a oneDNN setting with no rule of its "
         "own", "envcheck default", ONEDNN),
    _env("env-torch-other", ("TORCH_*", "PYTORCH_*"), R, "a PyTorch setting with no rule of "
         "its own", "envcheck default", TORCH),
    _env("env-cuda-other", ("CUDA_*", "CUBLAS_*", "CUDNN_*", "NVIDIA_*"), R,
         "a CUDA setting with no rule of its own", "envcheck default", GPU_OR_CUDA_BUILD),
    _env("env-horovod-other", ("HOROVOD_*",), R, "a Horovod setting with no rule of its own",
         "envcheck default", HOROVOD),
    # ---- conda records and system packages (the same rules for both) ------------------
    *_native("blas-variant", BLAS_VARIANT_PACKAGES, frozenset({"variant"}), B,
             "the BLAS implementation switched (MKL, OpenBLAS, BLIS, Accelerate, reference): "
             "every matrix product runs other kernels",
             CONDA_BLAS + "; https://wiki.debian.org/DebianScience/LinearAlgebraLibraries"),
    *_native("openmp-variant", OPENMP, frozenset({"variant"}), R,
             "another OpenMP runtime (GNU vs LLVM or Intel): thread scheduling and reduction "
             "order may differ", CONDA_OPENMP, system=False),
    *_native("mkl-version", MKL_PACKAGES, VERSION_BUMPS, B,
             "MKL's reproducible results (CBWR) hold only within one MKL version", ONEMKL_CBWR),
    *_native("blas-library", (*MKL_PACKAGES, *BLAS_LIBRARIES), VERSION_BUMPS | PRESENCE, R,
             "the BLAS/LAPACK library: kernels change between releases, and the one loaded "
             "may differ", "ContinuumIO/anaconda-issues#12308"),
    *_native("openmp-runtime", OPENMP, VERSION_BUMPS | PRESENCE, R,
             "the OpenMP runtime: thread scheduling and reduction order may differ",
             CONDA_OPENMP),
    # The same context as the nvidia-* wheels: a CPU-only job does not load them. A version
    # rule says why versions differ; the same version in another build has rules of its own.
    *_native("cudnn-version", CUDNN, VERSION_BUMPS | PRESENCE, B,
             "cuDNN guarantees bitwise results only within one version", CUDNN_REPRO,
             when=GPU_OR_CUDA_BUILD, otherwise=OK),
    *_native("nccl-version", NCCL, VERSION_BUMPS | PRESENCE, R,
             "NCCL picks algorithms by a cost model that changes between versions", NCCL_ALGO,
             when=MULTI_GPU, otherwise=OK),
    *_native("cuda-compiler", CUDA_COMPILER, ANY, OK,
             "the CUDA compiler only builds extensions; it is not loaded at run time",
             "discuss.pytorch.org: how does pytorch pick cuda versions"),
    *_native("cuda-libraries", CUDA_LIBRARIES, VERSION_BUMPS | PRESENCE, B,
             "the CUDA runtime and math libraries frameworks load: cuBLAS results are "
             "reproducible only within one version", CUBLAS_REPRO,
             when=GPU_OR_CUDA_BUILD, otherwise=OK),
    *_native("cuda-build", (*CUDNN, *CUDA_LIBRARIES), frozenset({"build"}), R,
             "the same version of a CUDA library frameworks load, another build (build "
             "string, build number, Debian revision or archive)",
             NATIVE_BUILD + "; " + CUDNN_REPRO, when=GPU_OR_CUDA_BUILD, otherwise=OK),
    *_native("nccl-build", NCCL, frozenset({"build"}), R,
             "the same NCCL version, another build (build string, build number, Debian "
             "revision or archive)", NATIVE_BUILD + "; " + NCCL_ALGO, when=MULTI_GPU,
             otherwise=OK),
    *_native("native-build", ("*",), frozenset({"build", "variant"}), R,
             "same version, another build (build string, build number or archive)",
             NATIVE_BUILD),
    *_native("native-channel", ("*",), frozenset({"channel"}), R,
             "the same build string from another channel may be another build",
             "https://docs.conda.io/projects/conda/en/stable/user-guide/concepts/channels.html",
             system=False),
    *_native("native-major-minor", ("*",), frozenset({"major", "minor", "changed"}), R,
             "no rule for this package: a major or minor change may change behaviour",
             "envcheck default"),
    *_native("native-patch", ("*",), frozenset({"patch", "local"}), OK,
             "no rule for this package: patch releases are assumed compatible",
             "envcheck default"),
    *_native("native-added-removed", ("*",), PRESENCE, R,
             "installed on one side only", "envcheck default"),
    # ---- numerics: measured by the canaries (snapshot --numerics) ------------------------
    Rule("measured-difference", "numerics", ("canaries.*",), frozenset({"measured"}), B,
         "measured: this canary computed other bits on the two sides", MEASURED),
    Rule("loaded-not-the-files", "numerics", ("loaded.*",), frozenset({"loaded-differs"}), B,
         "the files on disk are the same on both sides, but another library was actually "
         "loaded on one", "pytorch/pytorch#78489"),
    Rule("files-not-loaded", "numerics", ("loaded.*",), frozenset({"files-differ"}), R,
         "the files on disk differ, but both sides loaded the same library: one side runs a "
         "library its files do not describe", "pytorch/pytorch#78489"),
    Rule("loaded-onednn", "numerics", ("runtime.torch.onednn*", "runtime.tensorflow.onednn*"),
         ANY, B, "oneDNN kernels on or off, or another oneDNN, as loaded",
         "tensorflow/tensorflow#56697"),
    Rule("loaded-gpu", "numerics", ("runtime.gpu.*",), ANY, B,
         "the GPU math settings in effect, or the CUDA libraries loaded, differ",
         "pytorch/pytorch#78489"),
    Rule("loaded-threads", "numerics", ("runtime.blas.*.num_threads", "runtime.*threads",
                                        "settings.*THREADS"), ANY, R,
         "thread counts set the reduction order", ONEMKL_CBWR),
    Rule("loaded-code-path", "numerics", ("runtime.blas.*.core_type", "runtime.blas.*.cbwr",
                                          "runtime.blas.*.code_path",
                                          "runtime.torch.cpu_capability", "runtime.numpy.simd_*",
                                          "settings.*"), ANY, R,
         "the instruction set or code branch the loaded kernels dispatch to",
         "numpy/numpy#22904; pytorch/pytorch#82881"),
    Rule("loaded-library", "numerics", ("runtime.blas.*", "runtime.libraries.*"), ANY, R,
         "another numeric library (or version) was actually loaded", "pytorch/pytorch#78489"),
    Rule("loaded-other", "numerics", ("runtime.*",), ANY, R,
         "a framework's settings as loaded differ", MEASURED),
    # ---- fallbacks: nothing is silently benign --------------------------------------
    Rule("env-other", "env", ("*",), ANY, R,
         "a framework setting with no rule of its own", "envcheck default"),
    Rule("unknown", "*", ("*",), ANY, R,
         "a difference with no rule of its own", "envcheck default"),
)


def rule_ids() -> frozenset[str]:
    return frozenset(rule.id for rule in CATALOG)
