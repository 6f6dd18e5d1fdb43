"""Framework builds read from the files packages ship, for the ones not installed here.

torch, numpy and scipy are checked against the real imported packages in
test_agreement.py; TensorFlow and JAX are too large to install for the suite, so
their metadata files are written the way their wheels ship them.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from envcheck.probe._common import Errors
from envcheck.probe.cuda import system_libraries, system_toolkit
from envcheck.probe.frameworks import collect_frameworks
from envcheck.probe.packages import PackageCache, collect_packages, load_cache, save_cache

from distbuild import make_dist

# TensorFlow 2.5 to 2.12 generate an OrderedDict; newer releases a dict literal.
TF_ORDERED = """import collections
build_info = collections.OrderedDict([('cpu_compiler', '/usr/bin/gcc-5'),
    ('cuda_compute_capabilities', ['sm_35', 'sm_50', 'sm_60', 'sm_70', 'compute_80']),
    ('cuda_version', '11.2'), ('cudnn_version', '8'), ('is_cuda_build', True),
    ('is_rocm_build', False), ('is_tensorrt_build', True)])
"""
TF_DICT = """build_info = {'cpu_compiler': '/usr/lib/llvm-17/bin/clang', 'cuda_version': '12.3',
    'cudnn_version': '8', 'is_cuda_build': True, 'is_rocm_build': False}
"""


def _frameworks(site: Path) -> dict[str, object]:
    errors = Errors()
    frameworks = collect_frameworks(collect_packages([str(site)], errors), errors)
    assert errors.entries == []
    return frameworks


@pytest.mark.parametrize("distribution, source, cuda", [
    ("tensorflow", TF_ORDERED, "11.2"), ("tensorflow-gpu", TF_DICT, "12.3"),
    ("tf-nightly", TF_DICT, "12.3"),
])
def test_tensorflow_build_info(tmp_path: Path, distribution: str, source: str,
                               cuda: str) -> None:
    make_dist(tmp_path, distribution, "2.6.0", files={
        "tensorflow/python/platform/build_info.py": source.encode()})
    tensorflow = _frameworks(tmp_path)["tensorflow"]
    assert tensorflow == {
        "distribution": distribution, "version": "2.6.0", "build": "cuda", "cuda": cuda,
        "cudnn": "8", "git_revision": None, "nvidia_requirements": {},
        "cuda_compute_capabilities": (["sm_35", "sm_50", "sm_60", "sm_70", "compute_80"]
                                      if source is TF_ORDERED else None)}


def test_tensorflow_cpu_build(tmp_path: Path) -> None:
    make_dist(tmp_path, "tensorflow-cpu", "2.16.1", files={
        "tensorflow/python/platform/build_info.py":
            b"build_info = {'is_cuda_build': False, 'is_rocm_build': False}\n"})
    tensorflow = _frameworks(tmp_path)["tensorflow"]
    assert isinstance(tensorflow, dict)
    assert (tensorflow["build"], tensorflow["cuda"]) == ("cpu", None)


def test_jax_label_and_plugins(tmp_path: Path) -> None:
    make_dist(tmp_path, "jax", "0.4.30")
    make_dist(tmp_path, "jaxlib", "0.4.1+cuda11.cudnn86")
    old = _frameworks(tmp_path)["jax"]
    assert old == {"version": "0.4.30", "jaxlib": "0.4.1+cuda11.cudnn86", "plugins": {},
                   "cuda": "11", "cudnn": "86", "build": "cuda"}
    plugin_site = tmp_path / "new"
    make_dist(plugin_site, "jax", "0.10.2")
    make_dist(plugin_site, "jaxlib", "0.10.2")
    make_dist(plugin_site, "jax-cuda12-plugin", "0.10.2")
    make_dist(plugin_site, "jax-cuda12-pjrt", "0.10.2")
    new = _frameworks(plugin_site)["jax"]
    assert isinstance(new, dict)
    assert new["plugins"] == {"jax-cuda12-pjrt": "0.10.2", "jax-cuda12-plugin": "0.10.2"}
    assert (new["cuda"], new["build"]) == ("12", "cuda")


def test_torch_cuda_wheel_pins(tmp_path: Path) -> None:
    version_py = (b"__version__ = '2.5.1+cu124'\ndebug = False\ncuda = '12.4'\n"
                  b"git_version = 'a8d6afb511a69687bbb2b7e88a3cf67917e1697e'\nhip = None\n")
    make_dist(tmp_path, "torch", "2.5.1+cu124", files={"torch/version.py": version_py},
              requires=("nvidia-cudnn-cu12==9.1.0.70; platform_system == 'Linux'",
                        "nvidia-nccl-cu12==2.21.5; platform_system == 'Linux'",
                        "sympy>=1.13", "nvidia-cublas-cu12 ; extra == 'never'"))
    torch = _frameworks(tmp_path)["torch"]
    assert isinstance(torch, dict)
    assert (torch["build"], torch["cuda"], torch["cudnn"]) == ("cuda", "12.4", "9.1.0.70")
    assert torch["nvidia_requirements"] == {"nvidia-cudnn-cu12": "==9.1.0.70",
                                            "nvidia-nccl-cu12": "==2.21.5"}


def test_a_broken_framework_file_is_an_error_entry(tmp_path: Path) -> None:
    make_dist(tmp_path, "torch", "2.0.0", files={"torch/version.py": b"__version__ = (\n"})
    errors = Errors()
    frameworks = collect_frameworks(collect_packages([str(tmp_path)], errors), errors)
    assert frameworks["torch"] is None
    assert errors.entries[0]["section"] == "frameworks.torch"
    assert "SyntaxError" in errors.entries[0]["message"]


def test_system_cuda_libraries_and_toolkit(tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir()
    second.mkdir()
    for name in ("libcudnn.so.8.9.2", "libcublas.so.12.1.3.1", "libnccl.so.2.18.1"):
        (first / name).write_bytes(b"\x7fELF")
    os.symlink("libcudnn.so.8.9.2", first / "libcudnn.so.8")
    (second / "libcudnn.so.9.1.0").write_bytes(b"\x7fELF")  # later on the path: not loaded
    libraries = system_libraries([str(first), str(second)])
    assert {k: v["version"] for k, v in libraries.items()} == {
        "cublas": "12.1.3.1", "cudnn": "8.9.2", "nccl": "2.18.1"}
    # A directory under a second name (merged /usr: /lib -> usr/lib) is the same directory:
    # listed once, named as the loader meets it first.
    alias = tmp_path / "alias"
    alias.symlink_to(first)
    (tmp_path / "third").mkdir()
    (tmp_path / "third" / "libnvrtc.so.12.4.99").write_bytes(b"\x7fELF")
    both = system_libraries([str(alias), str(second), str(first), str(tmp_path / "third")])
    assert {k: (v["version"], v["directory"]) for k, v in both.items()} == {
        "cublas": ("12.1.3.1", str(alias)), "cudnn": ("8.9.2", str(alias)),
        "nccl": ("2.18.1", str(alias)), "nvrtc": ("12.4.99", str(tmp_path / "third"))}
    toolkit = tmp_path / "cuda-12.4"
    toolkit.mkdir()
    (toolkit / "version.json").write_text(json.dumps({"cuda": {"version": "12.4.131"}}))
    monkeypatch.setenv("CUDA_HOME", str(toolkit))
    found = system_toolkit(5.0)
    assert found == {"version": "12.4.131", "source": "version.json", "root": str(toolkit)}


def test_framework_modules_are_read_from_the_cache_while_unchanged(tmp_path: Path) -> None:
    version_py = tmp_path / "torch" / "version.py"
    make_dist(tmp_path, "torch", "2.5.1", files={
        "torch/version.py": b"__version__ = '2.5.1'\ncuda = None\ngit_version = 'abc'\n"})
    make_dist(tmp_path, "numpy", "2.1.0", files={
        "numpy/version.py": b"version = '2.1.0'\nfull_version = b'2.1.0'\n",  # bytes: not JSON
        "numpy/__config__.py": b"CONFIG = {'Build Dependencies': {'blas': {'name': 'openblas'}}}\n",
    })
    cache_file = str(tmp_path / "cache.json")
    cold = PackageCache()
    errors = Errors()
    packages = collect_packages([str(tmp_path)], errors, cold)
    first = collect_frameworks(packages, errors, cold)
    save_cache(cold, cache_file)
    assert first == collect_frameworks(packages, Errors())  # the cache changes nothing
    # torch/version.py and numpy/__config__.py are kept; numpy/version.py holds bytes.
    assert sorted(os.path.relpath(p, tmp_path) for p in cold.new_files) == [
        os.path.join("numpy", "__config__.py"), os.path.join("torch", "version.py")]

    warm = load_cache(cache_file)
    assert collect_frameworks(collect_packages([str(tmp_path)], errors, warm), errors, warm) \
        == first
    assert warm.file_hits == 2 and not warm.changed

    version_py.write_bytes(b"__version__ = '2.5.1+local'\ncuda = '12.4'\ngit_version = 'abc'\n")
    edited = load_cache(cache_file)
    torch = collect_frameworks(collect_packages([str(tmp_path)], errors, edited), errors,
                               edited)["torch"]
    assert (torch["version"], torch["cuda"]) == ("2.5.1+local", "12.4")
    assert edited.file_hits == 1 and edited.changed
    assert errors.entries == []


@pytest.mark.parametrize(("blas", "lapack", "facts"), [
    ("/usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3",
     "/usr/lib/x86_64-linux-gnu/openblas-pthread/liblapack.so.3",
     {"blas": "openblas-pthread", "lapack": "openblas-pthread"}),
    ("/usr/lib/x86_64-linux-gnu/blas/libblas.so.3",
     "/usr/lib/x86_64-linux-gnu/lapack/liblapack.so.3",
     {"blas": "reference", "lapack": "reference"}),
    ("/usr/lib/x86_64-linux-gnu/blis-openmp/libblas.so.3", None, {"blas": "blis-openmp"}),
    ("/usr/lib/x86_64-linux-gnu/libmkl_rt.so", "/usr/lib/x86_64-linux-gnu/libmkl_rt.so",
     {"blas": "mkl", "lapack": "mkl"}),
])
def test_debian_alternatives_name_the_blas(tmp_path: Path, blas: str, lapack: str | None,
                                           facts: dict[str, str]) -> None:
    """The links update-alternatives makes (Debian's libopenblas0-pthread, libblas3,
    libblis4-openmp, libmkl-rt register these targets); read as links, never followed."""
    from envcheck.probe.frameworks import debian_alternatives_blas

    (tmp_path / "libblas.so.3-x86_64-linux-gnu").symlink_to(blas)
    if lapack:
        (tmp_path / "liblapack.so.3-x86_64-linux-gnu").symlink_to(lapack)
    assert debian_alternatives_blas(str(tmp_path)) == facts
    assert debian_alternatives_blas(str(tmp_path / "none")) == {}
