"""Download the wheels the Dockerfile installs offline, for one target Python.

    python3 image/wheelhouse.py 3.9 wheelhouse                 # Debian 11 (bullseye)
    python3 image/wheelhouse.py 3.11 wheelhouse --glibc 2.36   # Debian 12 (bookworm)

`pip download --python-version X.Y -r lock` evaluates the lock's markers for the
host's Python, not the target's (pypa/pip#11010), so a 3.11 host fetches the
pip and click meant for 3.10+ for a 3.9 image. Here the markers are resolved
for the target first (with ``packaging``, which envcheck's own environment
has), and pip gets pins without markers, each still checked against its hash.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import subprocess
import sys
import tempfile

from packaging.markers import Marker

LOCKS = ("lockfiles/requirements.txt", "lockfiles/build-requirements.txt")
_PIN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*==")


def target_environment(python: str, machine: str) -> dict[str, str]:
    return {"python_version": python, "python_full_version": f"{python}.0",
            "implementation_name": "cpython", "platform_python_implementation": "CPython",
            "sys_platform": "linux", "platform_system": "Linux", "os_name": "posix",
            "platform_machine": machine}


def resolved(lock: str, environment: dict[str, str]) -> list[str]:
    """The lock's requirement blocks whose markers hold for the target, markers removed."""
    blocks: list[list[str]] = []
    with open(lock, encoding="utf-8") as handle:
        for line in handle:
            if _PIN.match(line):
                blocks.append([line])
            elif line.startswith((" ", "\t")) and blocks and "--hash=" in line:
                blocks[-1].append(line)
    kept = []
    for block in blocks:
        head = block[0].rstrip().rstrip("\\").strip()
        pin, _, marker = head.partition(";")
        if marker.strip() and not Marker(marker.strip()).evaluate(environment):
            continue
        kept.append(" \\\n".join([pin.strip(), *(line.strip().rstrip("\\").strip()
                                                 for line in block[1:])]) + "\n")
    return kept


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("python", help="the target's Python, MAJOR.MINOR (e.g. 3.9)")
    parser.add_argument("dest", help="the wheelhouse folder")
    parser.add_argument("--glibc", default="2.31",
                        help="the target's glibc (2.31 bullseye, 2.36 bookworm)")
    parser.add_argument("--machine", default=platform.machine())
    args = parser.parse_args()
    major, minor = args.python.split(".")
    glibc_minor = int(args.glibc.split(".")[1])
    platforms = [f"manylinux_2_{n}_{args.machine}" for n in range(glibc_minor, 4, -1)]
    platforms += [f"manylinux2014_{args.machine}", f"manylinux1_{args.machine}"]
    environment = target_environment(args.python, args.machine)
    with tempfile.TemporaryDirectory() as scratch:
        pins = os.path.join(scratch, "requirements.txt")
        with open(pins, "w", encoding="utf-8") as handle:
            for lock in LOCKS:
                handle.writelines(resolved(lock, environment))
        command = [sys.executable, "-m", "pip", "download", "--quiet", "--require-hashes",
                   "--no-deps", "--only-binary=:all:", "--dest", args.dest,
                   "--python-version", args.python, "--implementation", "cp",
                   "--abi", f"cp{major}{minor}", *(f"--platform={p}" for p in platforms),
                   "-r", pins]
        return subprocess.run(command, check=False).returncode


if __name__ == "__main__":
    sys.exit(main())
