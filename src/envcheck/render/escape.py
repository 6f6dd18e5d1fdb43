"""Make strings from a fingerprint safe to show.

A fingerprint may come from a stranger's pull request: any string in it may
carry terminal escape sequences, newlines, HTML, Markdown, links or @mentions.
Each output format escapes through one function here.
"""

from __future__ import annotations

import json
import re

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]")
# Characters that carry no Markdown or HTML meaning anywhere in a line. ':', '/' and
# '.' are left out too: GitHub turns text like https://x or www.x into links even
# inside <code>, and entities do not stop that once decoded.
_MARKDOWN_SAFE = re.compile(r"[A-Za-z0-9 ,+=_-]")
# After '@', a word joiner: no @mention and no mailto link can form.
_AT = "&#64;&#8288;"


def value_text(value: object) -> str:
    """A value as one line of text: strings as they are, everything else as JSON."""
    if value is None:
        return "(none)"
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def terminal(value: object) -> str:
    """One line of plain text: control and bidi characters become visible ``\\xNN`` escapes."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", str(value))


def markdown_text(value: object, limit: int = 400) -> str:
    """Text with every character that could mean something as a numeric entity.

    Numeric character references never form Markdown structure (CommonMark),
    so no table cell can be split and no link, image or HTML can form.
    Controls are shown as ``\\xNN`` first; long values are cut.
    """
    text = terminal(value)
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return "".join(c if _MARKDOWN_SAFE.match(c) else _AT if c == "@" else f"&#{ord(c)};"
                   for c in text)


def markdown_code(value: object, limit: int = 200) -> str:
    """Untrusted text as inline ``<code>``: GitHub links no ``@mention`` or URL inside code."""
    return f"<code>{markdown_text(value, limit)}</code>"


def github_data(value: object) -> str:
    """The message part of a workflow command (``::error::MESSAGE``)."""
    return str(value).replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def github_property(value: object) -> str:
    """A property value of a workflow command (``title=...``)."""
    return github_data(value).replace(":", "%3A").replace(",", "%2C")
