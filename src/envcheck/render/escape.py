"""Make strings from a fingerprint safe to show.

A fingerprint may come from a stranger's pull request: any string in it may
carry terminal escape sequences, newlines or markup. Each output format
escapes through one function here.
"""

from __future__ import annotations

import re

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def terminal(value: object) -> str:
    """One line of plain text: control and bidi characters become visible ``\\xNN`` escapes."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", str(value))
