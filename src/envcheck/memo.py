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
miss runs the probe as before and writes a new memo. Like those caches, and the compiled
probe kept beside them, it is trusted as far as a file in the user's own cache directory
is: damage is a miss and every section is validated again, but a deliberate edit that
keeps it well-formed is believed, as an edited package-cache entry is. Standard library
only, and cheap to import: it is on every snapshot's path.

Known limits (the README says them too), as for the package cache: a file covered by
another's signature (``_common.covered``: a dist-info's INSTALLER, WHEEL, REQUESTED,
direct_url.json) rewritten in place without its folder changing, and an edit that keeps
size, mtime and ctime (coarse timestamps), are not seen. Nor is what start-up code reads:
a ``.pth`` import line or a sitecustomize that extends sys.path from a variable or a file
other than itself (only the variables ``site`` reads, and those modules' own files, are
noted); noting every variable would make any change of the environment a miss.
"""

from __future__ import annotations

import contextlib
import json
import os
import re

from . import __version__
from .model.fingerprint import SectionForms
from .probe._common import signature, witness_holds

TYPE_CHECKING = False
if TYPE_CHECKING:  # on the snapshot path: typing costs milliseconds
    from collections.abc import Callable
    from typing import Any

    from .model import Fingerprint

MEMO_VERSION = 3
# The probe's target sections (probe.TARGET_SECTIONS, tested to agree): what a memo holds.
TARGET_SECTIONS = ("python", "packages", "frameworks", "cuda", "conda", "system_packages")
# Those reused whole (cuda is joined with the driver's facts): kept with their forms.
FORMED = ("python", "packages", "frameworks", "conda", "system_packages")
_ESCAPED_SURROGATE = re.compile(r"\\u[dD][89a-fA-F]")
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
    """The target's sections and the errors met reading them, from a memo, with what was
    derived from those sections when they were kept (``SectionForms``)."""

    __slots__ = ("errors", "forms", "sections")

    def __init__(self, sections: dict[str, Any], errors: list[Any],
                 forms: list[SectionForms]) -> None:
        self.sections = sections
        self.errors = errors
        self.forms = forms


class Witnessed:
    """What a probe said about its own answer: the witness, and how to take the target's
    half out of the document (how many errors are the target's; the driver's keys)."""

    __slots__ = ("driver_keys", "target_errors", "witness")

    def __init__(self, witness: dict[str, Any], target_errors: int,
                 driver_keys: list[Any]) -> None:
        self.witness = witness
        self.target_errors = target_errors
        self.driver_keys = driver_keys


def split(document: dict[str, Any]) -> Witnessed | None:
    """Take the ``witness`` key out of a probe document; None without a usable one."""
    witness = document.pop("witness", None)
    if not isinstance(witness, dict):
        return None
    layout = witness.get("layout")
    if not isinstance(layout, dict):
        return None
    count, driver_keys = layout.get("target_errors"), layout.get("driver_keys")
    if not isinstance(count, int) or not isinstance(driver_keys, list):
        return None
    # All of it but the layout: ``cwd`` and ``incomplete`` decide whether it holds too.
    return Witnessed({k: v for k, v in witness.items() if k != "layout"}, count, driver_keys)


def keep(path: str, fingerprint: Fingerprint, witnessed: Witnessed | None) -> None:
    """Keep the target's half of ``fingerprint`` (validated: the model accepted it) at
    ``path`` with its witness and its sections' forms; failures are ignored (it is only a
    cache)."""
    if witnessed is None:
        return
    data = fingerprint.data
    sections = {key: data.get(key) for key in TARGET_SECTIONS}
    cuda = sections.get("cuda")
    if isinstance(cuda, dict):  # the driver's facts are the machine's
        sections["cuda"] = {k: v for k, v in cuda.items() if k not in witnessed.driver_keys}
    errors = data.get("errors")
    try:
        digests = data.get("digests")
        known = digests if isinstance(digests, dict) else {}
        made = [SectionForms.of(key, sections[key], known.get(key)) for key in FORMED]
    except Exception:  # a value only json itself writes: not kept
        return
    # The fingerprint being written and recorded now uses them too.
    fingerprint.keep_forms(made)
    forms = {key: form.to_json() for key, form in zip(FORMED, made)}
    document = {"version": MEMO_VERSION, "envcheck": __version__, "code": probe_code(),
                "witness": witnessed.witness, "sections": sections, "forms": forms,
                "errors": errors[:witnessed.target_errors] if isinstance(errors, list) else []}
    # Not the PID alone: containers sharing a home are all PID 1.
    temporary = f"{path}.{os.getpid()}.{os.urandom(4).hex()}.tmp"
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(temporary, "w", encoding="utf-8") as handle:
            # Characters as they are, so that an escaped surrogate can only be an edit.
            handle.write(json.dumps(document, separators=(",", ":"), ensure_ascii=False))
        os.replace(temporary, path)
    except (OSError, TypeError, ValueError):
        with contextlib.suppress(OSError):
            os.unlink(temporary)


def load(path: str) -> Answer | None:
    """The answer kept at ``path`` if its witness still holds, else None (a miss)."""
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
        # A reused section is not digested again, which is where a lone surrogate would be
        # found and made safe: a memo holding one (written by hand: ours never do) is a miss.
        if _ESCAPED_SURROGATE.search(text):
            return None
        kept = json.loads(text)
    except (OSError, ValueError, RecursionError):
        return None
    if not isinstance(kept, dict) or kept.get("version") != MEMO_VERSION \
            or kept.get("envcheck") != __version__:
        return None
    sections, errors, forms = kept.get("sections"), kept.get("errors"), kept.get("forms")
    if not isinstance(sections, dict) or not isinstance(errors, list) \
            or not isinstance(forms, dict) \
            or any(not isinstance(sections.get(key), dict) for key in TARGET_SECTIONS):
        return None
    made = [SectionForms.from_json(sections[key], forms.get(key)) for key in FORMED]
    if kept.get("code") != probe_code() or not witness_holds(kept.get("witness")):
        return None
    return Answer(sections, errors, [f for f in made if f is not None])


def forget(path: str) -> None:
    """Remove the memo at ``path`` (a fingerprint built from it was refused)."""
    with contextlib.suppress(OSError):
        os.unlink(path)


def reuse(path: str, nvml_timeout: float,
          other_interpreter: bool = False) -> tuple[dict[str, Any], list[SectionForms]] | None:
    """A probe document from the target's answer kept at ``path``, if its witness holds,
    and the machine's sections read now, in this process, with the forms of the sections
    reused; None on a miss. ``other_interpreter``: the answer is another interpreter's,
    which reaches NVML through nvidia-ml-py only where that is installed there."""
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
    raw = probe.assemble(answer.sections, machine, answer.errors + errors.entries, timings)
    return raw, answer.forms


def snapshot(path: str | None, ask: Callable[[bool], dict[str, Any]], nvml_timeout: float,
             use_cache: bool = True, reusable: bool = True,
             other_interpreter: bool = False) -> Fingerprint:
    """The target's fingerprint: from the answer kept at ``path`` while its witness holds,
    else from ``ask(fresh)`` (the probe, asked for its witness when ``path`` is given),
    whose answer is then kept there. ``use_cache`` False (``--no-cache``) and
    ``reusable`` False (the canaries, measured each time) always ask; ``fresh``: read no
    cache and write them anew."""
    from .errors import InputError
    from .model import Fingerprint

    if path is not None and use_cache and reusable:
        reused = reuse(path, nvml_timeout, other_interpreter)
        if reused is not None:
            try:
                return Fingerprint.from_probe(reused[0], __version__, reused[1])
            except InputError:  # a memo the model refuses: only a cache, ask afresh
                forget(path)
    raw = ask(not use_cache)
    witnessed = split(raw)
    try:
        fingerprint = Fingerprint.from_probe(raw, __version__)
    except InputError:
        if not use_cache:
            raise
        # Facts from the package cache that the model refuses (a damaged or foreign
        # file): it is only a cache, so read everything again and replace it.
        raw = ask(True)
        witnessed = split(raw)
        fingerprint = Fingerprint.from_probe(raw, __version__)
    if path is not None:
        keep(path, fingerprint, witnessed)
    return fingerprint
