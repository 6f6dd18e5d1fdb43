"""The one place where text from outside is made safe to digest and to write.

Environment variables, paths and tool output may hold bytes that are not UTF-8
(Python keeps them as lone surrogates, ``\\udcff``), and a JSON document may
spell a lone surrogate itself (``"\\ud800"``). Neither can be encoded as UTF-8,
so a digest or a written file would fail on them. Such characters become
visible text instead: an undecodable byte as ``\\xff``, any other lone
surrogate as ``\\ud800``. Everything else is left exactly as it was.
"""

from __future__ import annotations

import re

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs milliseconds on every snapshot
    from typing import Any

_SURROGATE = re.compile("[\ud800-\udfff]")


def _visible(match: re.Match[str]) -> str:
    code = ord(match.group())
    if 0xDC80 <= code <= 0xDCFF:  # a byte that ``surrogateescape`` kept
        return f"\\x{code - 0xDC00:02x}"
    return f"\\u{code:04x}"


def safe_text(text: str) -> str:
    """``text`` with every lone surrogate spelled out; the same object when it has none."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return _SURROGATE.sub(_visible, text)
    return text


def safe_value(value: Any) -> Any:
    """``value`` (JSON data) with ``safe_text`` applied to every string, keys included."""
    if isinstance(value, str):
        return safe_text(value)
    if isinstance(value, dict):
        return {safe_text(k) if isinstance(k, str) else k: safe_value(v)
                for k, v in value.items()}
    if isinstance(value, list):
        return [safe_value(item) for item in value]
    return value


def is_safe(text: str) -> bool:
    """Whether ``text`` encodes as UTF-8 as it is (no lone surrogate)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
