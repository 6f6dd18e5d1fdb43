"""Build the fake ``libnvidia-ml.so.1`` (``fake_nvml.c``) for tests without a GPU.

The dynamic loader reads ``LD_LIBRARY_PATH`` only when a process starts, so put
the returned directory on it for a *child* process, which then loads the fake
through ``ctypes.CDLL("libnvidia-ml.so.1")`` (as pynvml and envcheck's ctypes
binding both do). See ``fake_nvml.c`` for the ``FAKE_NVML_*`` variables.
"""

from __future__ import annotations

import pathlib
import shutil
import subprocess

SOURCE = pathlib.Path(__file__).with_name("fake_nvml.c")
LIBRARY_NAME = "libnvidia-ml.so.1"


def build_fake_nvml(dest_dir: pathlib.Path, compiler: str = "gcc") -> pathlib.Path:
    """Compile the fake NVML into ``dest_dir`` and return ``dest_dir``.

    Raises ``FileNotFoundError`` when the compiler is missing and
    ``RuntimeError`` (with the compiler's output) when compiling fails.
    """
    cc = shutil.which(compiler)
    if cc is None:
        raise FileNotFoundError(f"C compiler {compiler!r} not found on PATH")
    dest_dir.mkdir(parents=True, exist_ok=True)
    output = dest_dir / LIBRARY_NAME
    command = [cc, "-shared", "-fPIC", "-O1", "-o", str(output), str(SOURCE), "-lpthread"]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(
            f"compiling {SOURCE.name} failed ({result.returncode}):\n{result.stderr}"
        )
    return dest_dir
