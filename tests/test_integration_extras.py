"""The integrations are optional extras: in a real virtual environment holding every package
of this one except the frameworks they adapt, envcheck imports, works, and each integration
says which extra installs what it needs (exit 2, one line), never a traceback."""

from __future__ import annotations

import subprocess
import sysconfig
import venv
from pathlib import Path

import pytest

from conftest import ROOT, run_envcheck

# Every distribution an extra brings (and the ones they pull in that envcheck never needs).
FRAMEWORKS = ("mlflow", "wandb", "distributed", "dask", "ray", "lightning", "pytorch_lightning",
              "lightning_fabric", "transformers", "accelerate")


def _is_framework(name: str) -> bool:
    base = name.split("-", 1)[0].lower() if name.endswith((".dist-info", ".egg-info")) \
        else name.lower().removesuffix(".py")
    return base.replace("-", "_") in FRAMEWORKS or base.startswith(("mlflow_", "dask_"))


@pytest.fixture(scope="module")
def bare(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A venv with this one's packages linked in, but none of the frameworks."""
    where = tmp_path_factory.mktemp("bare")
    venv.create(where, with_pip=False)
    python = where / "bin" / "python"
    shared = where / "shared"
    shared.mkdir()
    for entry in Path(sysconfig.get_paths()["purelib"]).iterdir():
        if not _is_framework(entry.name) and not entry.name.endswith(".pth"):
            (shared / entry.name).symlink_to(entry)
    site = subprocess.run([str(python), "-c", "import sysconfig; "
                           "print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()
    (Path(site) / "shared.pth").write_text(f"{shared}\n{ROOT / 'src'}\n")
    return str(python)


def test_the_frameworks_are_really_absent(bare: str) -> None:
    for module in FRAMEWORKS:
        found = subprocess.run([bare, "-c", f"import {module}"], capture_output=True, check=False)
        assert found.returncode != 0, module


def test_envcheck_imports_and_snapshots_without_them(bare: str) -> None:
    done = subprocess.run([bare, "-c", (
        "import envcheck, envcheck.integrations, envcheck.sources.registry, envcheck.cli, "
        "envcheck.distributed\n"
        "print(envcheck.snapshot().data['python']['executable'])")],
        capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().startswith(str(Path(bare).parent.parent))


@pytest.mark.parametrize(("module", "extra"), [
    ("mlflow", "mlflow"), ("wandb", "wandb"), ("dask", "dask"), ("ray", "ray"),
    ("lightning", "lightning"), ("transformers", "transformers")])
def test_each_integration_names_its_extra(bare: str, module: str, extra: str) -> None:
    done = subprocess.run([bare, "-c", (
        "from envcheck.integrations import MissingExtraError\n"
        "try:\n"
        f"    import envcheck.integrations.{module}\n"
        "except MissingExtraError as exc:\n"
        "    print(exc.exit_code, exc)\n")], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("2 ") and f"pip install 'envcheck[{extra}]'" in done.stdout


@pytest.mark.parametrize(("args", "extra"), [
    (("diff", "mlflow:" + "a" * 32, "."), "mlflow"),
    (("compare", "dask://127.0.0.1:1"), "dask"),
    (("compare", "ray://127.0.0.1:1"), "ray")])
def test_inputs_that_need_an_extra_say_so(bare: str, args: tuple[str, ...], extra: str) -> None:
    done = run_envcheck(*args, python=bare)
    assert done.returncode == 2, done.stderr
    assert done.stderr.count("\n") == 1 and f"pip install 'envcheck[{extra}]'" in done.stderr
