"""The probe's readings agree with the tools and packages people trust.

Names and versions against ``pip inspect`` on real virtual environments; framework builds
against what torch, numpy and scipy report when actually imported.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import venv
from pathlib import Path
from typing import Any

import pytest
from packaging.utils import canonicalize_name

import envcheck

from conftest import run_envcheck
from distbuild import build_wheel, make_dist, make_egg_info


def _pip_inspect(python: str, cwd: Path, env: dict[str, str] | None = None) -> dict[str, str]:
    out = subprocess.run([python, "-m", "pip", "inspect"], capture_output=True, text=True,
                         cwd=cwd, env=env, check=True).stdout
    return {
        canonicalize_name(d["metadata"]["name"]): d["metadata"]["version"]
        for d in json.loads(out)["installed"]
    }


@pytest.fixture(scope="module")
def populated_venv(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path, dict[str, str]]:
    """A real venv with a pip-installed wheel, extra paths that shadow it, and broken leftovers."""
    root = tmp_path_factory.mktemp("venv")
    venv.EnvBuilder(with_pip=True).create(root / "env")
    python = str(root / "env" / "bin" / "python")
    wheel = build_wheel(root, "demo-pkg", "1.0")
    subprocess.run([python, "-m", "pip", "install", "--no-index", "--no-deps", "-q", str(wheel)],
                   check=True)
    site = next((root / "env" / "lib").glob("python3*/site-packages"))
    make_dist(site, "Odd.Name_Pkg", "0.3.dev1")
    make_egg_info(site, "legacy-thing", "2.0")
    make_dist(site, "torch", "2.13.0", dir_name="~orch-2.13.0.dist-info")
    front, back = root / "front", root / "back"
    make_dist(front, "demo-pkg", "2.0+local")  # shadows the pip-installed 1.0
    make_dist(back, "late-only", "5")
    make_dist(back, "odd-name-pkg", "0.1")  # shadowed by site-packages' copy
    env = {"PYTHONPATH": f"{front}:{site}:{back}", "PATH": "/usr/bin:/bin"}
    cwd = root / "empty"
    cwd.mkdir()
    return python, cwd, env


def test_names_and_versions_agree_with_pip_inspect_in_a_real_venv(
    populated_venv: tuple[str, Path, dict[str, str]],
) -> None:
    python, cwd, env = populated_venv
    expected = _pip_inspect(python, cwd, env)
    result = run_envcheck("snapshot", "--python", python, "-o", "-", env=env, cwd=cwd)
    assert result.returncode == 0, result.stderr
    packages = json.loads(result.stdout)["packages"]
    assert {name: p["version"] for name, p in packages.items()} == expected
    # The cases that make this comparison worth having:
    assert expected["demo-pkg"] == "2.0+local"
    assert packages["demo-pkg"]["shadowed"][0]["version"] == "1.0"
    assert packages["odd-name-pkg"]["version"] == "0.3.dev1"
    assert "legacy-thing" in expected and "torch" not in expected


def test_pip_installed_wheel_facts(populated_venv: tuple[str, Path, dict[str, str]]) -> None:
    python, cwd, _ = populated_venv
    result = run_envcheck("snapshot", "--python", python, "-o", "-", cwd=cwd,
                          env={"PYTHONPATH": ""})
    demo = json.loads(result.stdout)["packages"]["demo-pkg"]
    assert demo["version"] == "1.0"
    assert demo["installer"] == "pip"
    assert demo["requested"] is True
    assert demo["wheel"]["tags"] == ["py3-none-any"]
    assert demo["direct_url"]["url"].startswith("file://")
    assert "archive_hashes" in demo["direct_url"]


def test_names_and_versions_agree_with_pip_inspect_in_the_test_environment(
    tmp_path: Path,
) -> None:
    expected = _pip_inspect(sys.executable, tmp_path)
    packages = envcheck.snapshot(python=sys.executable).packages
    assert {name: p["version"] for name, p in packages.items()} == expected
    assert "torch" in expected and "numpy" in expected


def _imported_facts() -> dict[str, Any]:
    script = """
import json, numpy, scipy, torch
print(json.dumps({
    "torch": [torch.__version__, torch.version.cuda, torch.version.git_version,
              torch.backends.cudnn.version(), torch.version.debug,
              torch.backends.mkl.is_available(), torch.backends.mkldnn.is_available(),
              "BLAS_INFO=mkl" in torch.__config__.show()],
    "numpy": [numpy.__version__, numpy.version.git_revision,
              numpy.show_config(mode="dicts")["Build Dependencies"]["blas"]["name"],
              numpy.show_config(mode="dicts")["Build Dependencies"]["blas"]["version"],
              numpy.show_config(mode="dicts")["Build Dependencies"]["lapack"]["name"]],
    "scipy": [scipy.__version__, scipy.version.git_revision,
              scipy.show_config(mode="dicts")["Build Dependencies"]["blas"]["name"],
              scipy.show_config(mode="dicts")["Build Dependencies"]["blas"]["version"]],
}))
"""
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         check=True).stdout
    facts: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return facts


def test_framework_builds_agree_with_the_imported_packages() -> None:
    imported = _imported_facts()
    frameworks = envcheck.snapshot().data["frameworks"]
    torch = frameworks["torch"]
    version, cuda, git, cudnn, debug, mkl, mkldnn, blas_is_mkl = imported["torch"]
    assert (torch["version"], torch["cuda"], torch["git_revision"], torch["debug"]) == (
        version, cuda, git, debug)
    # ATen/Config.h, as the imported torch reports it (mkl and mkldnn are true here)
    assert (torch["mkl"], torch["mkldnn"], torch["blas"] == "mkl") == (mkl, mkldnn, blas_is_mkl)
    assert mkl and mkldnn
    assert torch["build"] == ("cpu" if cuda is None else "cuda")
    assert torch["cudnn"] is None and cudnn is None  # the CPU build ships no cuDNN
    numpy = frameworks["numpy"]
    assert [numpy["version"], numpy["git_revision"], numpy["blas"], numpy["blas_version"],
            numpy["lapack"]] == imported["numpy"]
    scipy = frameworks["scipy"]
    assert [scipy["version"], scipy["git_revision"], scipy["blas"],
            scipy["blas_version"]] == imported["scipy"]


def test_tensorflow_git_revision_agrees_with_the_imported_tensorflow() -> None:
    script = "import tensorflow as tf; print(tf.version.GIT_VERSION)"
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         check=True, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}).stdout
    imported = out.strip().splitlines()[-1]
    assert imported.startswith("v") and "-g" in imported
    assert envcheck.snapshot().data["frameworks"]["tensorflow"]["git_revision"] == imported


def test_numpy_1_24_git_revision_from_versioneer(tmp_path: Path) -> None:
    """numpy 1.22-1.25 keep the revision in versioneer's _version.py (a real wheel, installed
    by pip through its own configuration)."""
    venv.EnvBuilder(with_pip=False).create(tmp_path / "env")
    python = str(tmp_path / "env" / "bin" / "python")
    subprocess.run([sys.executable, "-m", "pip", "--python", python, "install", "-q",
                    "--no-deps", "numpy==1.24.4"], check=True)
    imported = subprocess.run([python, "-c", "import numpy; print(numpy.version.git_revision)"],
                              capture_output=True, text=True, check=True).stdout.strip()
    numpy = envcheck.snapshot(python=python).data["frameworks"]["numpy"]
    assert len(imported) == 40 and (numpy["version"], numpy["git_revision"]) == (
        "1.24.4", imported)


def test_snapshot_never_imports_frameworks() -> None:
    script = (
        "import json, sys, envcheck\n"
        "fp = envcheck.snapshot()\n"
        "assert 'torch' in fp.packages and 'numpy' in fp.packages\n"
        "heavy = {'torch', 'tensorflow', 'jax', 'jaxlib', 'numpy', 'scipy'}\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in heavy)))\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         check=True).stdout
    assert json.loads(out) == []


def test_cli_snapshot_never_imports_frameworks() -> None:
    result = subprocess.run([sys.executable, "-X", "importtime", "-m", "envcheck", "snapshot",
                             "-o", "/dev/null"], capture_output=True, text=True, check=True)
    imported = {line.rsplit("|", 1)[-1].strip() for line in result.stderr.splitlines()
                if line.startswith("import time:")}
    assert "envcheck.probe" in imported
    assert not {m.split(".")[0] for m in imported} & {"torch", "numpy", "scipy", "tensorflow",
                                                     "jax"}


def test_no_false_shadows_from_editable_source_trees_or_twin_metadata(tmp_path: Path) -> None:
    """A src-layout project installed editable by pip leaves setuptools' egg-info in src/,
    which is on sys.path; Debian ships some packages with a dist-info and an egg-info side by
    side. Neither is a second copy: nothing else would be imported."""
    venv.EnvBuilder(with_pip=True).create(tmp_path / "env")
    python = str(tmp_path / "env" / "bin" / "python")
    project = tmp_path / "project"
    (project / "src" / "srcpkg").mkdir(parents=True)
    (project / "src" / "srcpkg" / "__init__.py").write_text("")
    (project / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["setuptools"]\nbuild-backend = "setuptools.build_meta"\n'
        '[project]\nname = "srcpkg"\nversion = "0.3"\n')
    # setuptools for the isolated build comes through pip's own configuration
    subprocess.run([python, "-m", "pip", "install", "-q", "--no-deps", "-e", str(project)],
                   check=True, capture_output=True)
    assert list((project / "src").glob("srcpkg.egg-info"))  # the leftover that misled us
    site = next((tmp_path / "env" / "lib").glob("python*/site-packages"))
    make_dist(site, "twin", "1.0")
    make_egg_info(site, "twin", "1.0")
    packages = envcheck.snapshot(python=python).packages
    expected = _pip_inspect(python, tmp_path)
    assert expected["srcpkg"] == "0.3" and expected["twin"] == "1.0"
    assert "shadowed" not in packages["srcpkg"] and "shadowed" not in packages["twin"]
    assert packages["srcpkg"]["direct_url"] == {"url": project.as_uri(), "editable": True}


def test_a_legacy_develop_install_is_described_as_pip_inspect_does(tmp_path: Path,
                                                                   python38: str) -> None:
    """``setup.py develop`` (still there in Python 3.8's bundled setuptools) writes an
    .egg-link; pip inspect reports the project's directory as a file URL."""
    venv_dir = tmp_path / "env"
    subprocess.run([python38, "-m", "venv", str(venv_dir)], check=True)
    python = str(venv_dir / "bin" / "python")
    project = tmp_path / "legacy"
    (project / "legpkg").mkdir(parents=True)
    (project / "legpkg" / "__init__.py").write_text("")
    (project / "setup.py").write_text(
        'from setuptools import setup\nsetup(name="legpkg", version="0.2", '
        'packages=["legpkg"])\n')
    subprocess.run([python, "setup.py", "-q", "develop"], cwd=project, check=True,
                   capture_output=True)
    assert list(venv_dir.glob("lib/python*/site-packages/legpkg.egg-link"))
    out = subprocess.run([python, "-m", "pip", "inspect"], capture_output=True, text=True,
                         check=True, cwd=tmp_path).stdout
    [pip_view] = [d for d in json.loads(out)["installed"] if d["metadata"]["name"] == "legpkg"]
    package = envcheck.snapshot(python=python).packages["legpkg"]
    assert package["direct_url"] == {"url": pip_view["direct_url"]["url"], "editable": True}
    assert package["location"] == str(Path(pip_view["metadata_location"]).parent)
    assert package["version"] == "0.2" and "shadowed" not in package
