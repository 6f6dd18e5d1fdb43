"""The probe's last answer about a target, reused while its witness holds.

A snapshot describes two things: the target (its interpreter, what is installed for it,
the CUDA, conda and system libraries it would load) and the machine (GPUs through NVML,
CPU, OS, the settings in the environment). The target's half is all read from files and
variables, and the probe notes every one of them, with its stat signature, in a
*witness* (``envcheck.probe._common.Witness``). While every noted path has the same
signature (device, inode, size, mtime, ctime) and every noted variable the same value,
the same probe would give the same answer: so it is not asked again. The machine's half
is always read afresh. This is what lets ``snapshot --python`` skip starting the other
interpreter, which alone costs more than the rest of a warm snapshot.

The memo is also bound to the probe's own code (the signature of each of its source
files) and to envcheck's version. Like the package cache it is only an optimisation:
anything unreadable, damaged or foreign is a miss, ``--no-cache`` never reads it, and a
miss runs the probe as before and writes a new memo. Standard library only, and cheap to
import: it is on every snapshot's path.
"""

from __future__ import annotations

import contextlib
import json
import os

from . import __version__
from .probe._common import signature, witness_holds

TYPE_CHECKING = False
if TYPE_CHECKING:  # on the snapshot path: typing costs milliseconds
    from typing import Any

MEMO_VERSION = 1
# The probe's target sections (probe.TARGET_SECTIONS, tested to agree): what a memo holds.
TARGET_SECTIONS = ("python", "packages", "frameworks", "cuda", "conda", "system_packages")
_PROBE_DIRECTORY = os.path.join(os.path.dirname(os.path.abspath(__file__)), "probe")


def probe_code() -> dict[str, list[int] | None]:
    """The signature of every source file of the probe: a changed probe is a new answer."""
    code: dict[str, list[int] | None] = {}
    for directory in (_PROBE_DIRECTORY, os.path.join(_PROBE_DIRECTORY, "numerics")):
        try:
            names = sorted(os.listdir(directory))
        except OSError:
            continue
        for name in names:
            if name.endswith(".py"):
                path = os.path.join(directory, name)
                code[path] = signature(path)
    return code


class Answer:
    """The target's sections and the errors met reading them, from a probe or a memo."""

    __slots__ = ("errors", "sections")

    def __init__(self, sections: dict[str, Any], errors: list[Any]) -> None:
        self.sections = sections
        self.errors = errors


def split(document: dict[str, Any]) -> tuple[Answer, dict[str, Any]] | None:
    """A probe document that carries its witness, as (the target's answer, the witness);
    the ``witness`` key is taken out of ``document``. None without a usable witness."""
    witness = document.pop("witness", None)
    if not isinstance(witness, dict):
        return None
    layout = witness.get("layout")
    errors = document.get("errors")
    if not isinstance(layout, dict) or not isinstance(errors, list):
        return None
    count, driver_keys = layout.get("target_errors"), layout.get("driver_keys")
    if not isinstance(count, int) or not isinstance(driver_keys, list):
        return None
    sections = {key: document.get(key) for key in TARGET_SECTIONS}
    cuda = sections.get("cuda")
    if isinstance(cuda, dict):  # the driver's facts are the machine's
        sections["cuda"] = {k: v for k, v in cuda.items() if k not in driver_keys}
    # All of it but the layout: ``cwd`` and ``incomplete`` decide whether it holds too.
    return Answer(sections, errors[:count]), {k: v for k, v in witness.items() if k != "layout"}


def load(path: str) -> Answer | None:
    """The answer kept at ``path`` if its witness still holds, else None (a miss)."""
    try:
        with open(path, encoding="utf-8") as handle:
            kept = json.loads(handle.read())
    except (OSError, ValueError, RecursionError):
        return None
    if not isinstance(kept, dict) or kept.get("version") != MEMO_VERSION \
            or kept.get("envcheck") != __version__:
        return None
    sections, errors = kept.get("sections"), kept.get("errors")
    if not isinstance(sections, dict) or not isinstance(errors, list) \
            or any(not isinstance(sections.get(key), dict) for key in TARGET_SECTIONS):
        return None
    if kept.get("code") != probe_code() or not witness_holds(kept.get("witness")):
        return None
    return Answer(sections, errors)


def save(path: str, answer: Answer, witness: dict[str, Any]) -> None:
    """Keep ``answer`` with its witness at ``path``, atomically; failures are ignored
    (it is only a cache)."""
    document = {"version": MEMO_VERSION, "envcheck": __version__, "code": probe_code(),
                "witness": witness, "sections": answer.sections, "errors": answer.errors}
    # Not the PID alone: containers sharing a home are all PID 1.
    temporary = f"{path}.{os.getpid()}.{os.urandom(4).hex()}.tmp"
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(temporary, "w", encoding="utf-8") as handle:
            handle.write(json.dumps(document, separators=(",", ":")))
        os.replace(temporary, path)
    except (OSError, TypeError, ValueError):
        with contextlib.suppress(OSError):
            os.unlink(temporary)


def forget(path: str) -> None:
    """Remove the memo at ``path`` (a fingerprint built from it was refused)."""
    with contextlib.suppress(OSError):
        os.unlink(path)


def keep(path: str, document: dict[str, Any]) -> None:
    """Keep the target's answer of a probe ``document`` that carries its witness (which
    is taken out of it) at ``path``."""
    kept = split(document)
    if kept is not None:
        save(path, *kept)


def reuse(path: str, nvml_timeout: float,
          other_interpreter: bool = False) -> dict[str, Any] | None:
    """A probe document from the target's answer kept at ``path``, if its witness holds,
    and the machine's sections read now, in this process; None on a miss.
    ``other_interpreter``: the answer is another interpreter's, which reaches NVML through
    nvidia-ml-py only where that is installed there."""
    answer = load(path)
    if answer is None:
        return None
    from . import probe
    from .probe._common import Errors

    packages = answer.sections.get("packages") or {}
    use_pynvml = not other_interpreter or "nvidia-ml-py" in packages or "pynvml" in packages
    errors = Errors()
    timings: dict[str, float] = {}
    machine = probe.collect_machine(errors, timings, nvml_timeout, use_pynvml)
    timings["reused"] = 1.0  # the target's sections came from the memo
    return probe.assemble(answer.sections, machine, answer.errors + errors.entries, timings)
