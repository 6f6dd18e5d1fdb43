"""The settings, CPU, OS and interpreter sections, checked against independent readings."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from pathlib import Path

import pytest
from packaging import tags

from envcheck.probe._common import redact
from envcheck.probe.cpu import collect_cpu
from envcheck.probe.environ import ALLOWED, collect_env
from envcheck.probe.system import collect_os, collect_python, python_build, wheel_tag

from conftest import ROOT, find_python

SRC = str(ROOT / "src")


def test_allow_listed_settings_set_and_unset() -> None:
    env = collect_env({"TF_DETERMINISTIC_OPS": "1", "NCCL_IB_DISABLE": "1", "HOME": "/root",
                       "PATH": "/usr/bin"})
    assert env["TF_DETERMINISTIC_OPS"] == "1"
    assert env["NCCL_IB_DISABLE"] == "1"  # a framework family, recorded when set
    assert env["CUBLAS_WORKSPACE_CONFIG"] is None  # allow-listed: recorded as unset
    assert "HOME" not in env and "PATH" not in env
    assert set(ALLOWED) <= set(env)


def test_secrets_never_enter_by_name_or_inside_values() -> None:
    token = "hf_" + "A1b2C3d4E5f6G7h8I9j0K1l2"
    env = collect_env({
        "HF_TOKEN": token, "WANDB_API_KEY": "x" * 40, "NCCL_AUTH_SECRET": "hunter2",
        "TORCH_HUB_TOKEN": "t", "TF_VAR_db_password": "hunter2", "TF_CLI_ARGS": "-no-color",
        "XLA_FLAGS": f"--xla_dump_to=https://bob:hunter2@dumps.example.org/ --note={token}",
        "PYTORCH_CUDA_ALLOC_CONF": "expandable_segments:True",
    })
    text = repr(env)
    assert "hunter2" not in text and token not in text
    assert not any(name.endswith(("TOKEN", "KEY", "SECRET")) for name in env)
    assert "TF_VAR_db_password" not in env and "TF_CLI_ARGS" not in env
    assert env["XLA_FLAGS"] == "--xla_dump_to=https://dumps.example.org/ --note=<redacted>"
    assert env["PYTORCH_CUDA_ALLOC_CONF"] == "expandable_segments:True"


@pytest.mark.parametrize("url, expected", [
    ("https://user:p@ss@host/x", "https://host/x"),
    ("https://user:pa/ss@host/x", "https://host/x"),
    ("https://t0ken@host/simple", "https://host/simple"),
    ("git+https://github.com/org/repo.git@v1.2", "git+https://github.com/org/repo.git@v1.2"),
])
def test_credentials_in_urls(url: str, expected: str) -> None:
    assert redact(url) == expected


def test_redact_keeps_harmless_text() -> None:
    assert redact("--xla_gpu_deterministic_ops=true") == "--xla_gpu_deterministic_ops=true"
    assert redact("socks5://u:p@proxy:1080") == "socks5://proxy:1080"


def test_wheel_tag_is_packagings_most_specific_tag() -> None:
    # packaging 26 lists the generic linux_<arch> tag first; the most specific
    # tag is the newest manylinux one, which names the glibc the wheel may need.
    supported = [str(t) for t in tags.sys_tags()]
    manylinux = [t for t in supported if "-manylinux_" in t]
    assert wheel_tag() == (manylinux[0] if manylinux else supported[0])


def test_cpu_section_agrees_with_the_kernel() -> None:
    import psutil

    cpu = collect_cpu()
    assert cpu["logical_cores"] == os.cpu_count()
    assert cpu["usable_cores"] == len(os.sched_getaffinity(0))
    assert cpu["physical_cores"] == psutil.cpu_count(logical=False)
    assert cpu["memory_total_mib"] == psutil.virtual_memory().total // (1024 * 1024)
    cpuinfo = Path("/proc/cpuinfo").read_text()
    flags = cpuinfo.split("flags", 1)[1].split("\n", 1)[0].split()
    assert ("avx2" in cpu["flags"]) == ("avx2" in flags)
    assert cpu["architecture"] == platform.machine()


def test_os_and_python_sections() -> None:
    system = collect_os()
    assert system["system"] == platform.system()
    assert system["kernel"] == platform.release()
    name, version = os.confstr("CS_GNU_LIBC_VERSION").split()  # type: ignore[union-attr]
    assert system["libc"] == {"name": name, "version": version}
    python = collect_python()
    assert python["version"] == platform.python_version()
    assert python["executable"]
    assert python["virtualenv"] == (python["prefix"] != python["base_prefix"])


@pytest.mark.parametrize("text", [
    "3.11.7 (main, Dec  8 2023, 18:56:58) [GCC 12.2.0]",
    "3.8.18 (default, Sep 20 2023, 10:00:00) \n[GCC 10.2.1 20210110]",
    "3.13.0rc1+ (heads/3.13:9d3a8e5, Sep  1 2024, 10:00:00) [Clang 15.0.0 (clang-1500.3.9.4)]",
    "3.12.1 (tags/v3.12.1:2305ca5, Dec  7 2023, 22:03:25) [MSC v.1937 64 bit (AMD64)]",
    "3.10 (#1) [GCC]",
])
def test_the_interpreter_build_reads_as_platform_reads_it(
        text: str, monkeypatch: pytest.MonkeyPatch) -> None:
    parsed = platform._sys_version(text)  # type: ignore[attr-defined]
    _, version, _branch, _revision, number, date, compiler = parsed
    monkeypatch.setattr(sys, "version", text)
    assert python_build() == (version, number, date, compiler)


INTERPRETERS = [v for v in ("3.8", "3.9", "3.10", "3.11", "3.12", "3.13") if find_python(v)]


@pytest.mark.parametrize("version", INTERPRETERS)
def test_probe_readings_match_platform_in_every_interpreter(version: str) -> None:
    """The probe does without ``platform``; in each real interpreter it must still agree."""
    script = (
        "import json, platform\n"
        "from envcheck.probe._common import uname\n"
        "from envcheck.probe.system import python_build\n"
        "print(json.dumps([list(python_build()), [platform.python_version(), "
        "*platform.python_build(), platform.python_compiler()], list(uname()), "
        "list(platform.uname())[:5]]))\n"
    )
    python = find_python(version)
    assert python is not None
    out = subprocess.run([python, "-I", "-c", f"import sys; sys.path.insert(0, {SRC!r})\n"
                          + script], capture_output=True, text=True, check=True).stdout
    ours, theirs, our_uname, their_uname = json.loads(out)
    assert ours == theirs
    assert our_uname == their_uname
