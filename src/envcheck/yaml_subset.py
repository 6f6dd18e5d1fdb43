"""The YAML that conda and pixi write: block mappings and sequences, scalars, small flow
collections. No dependency (PyYAML is not one of envcheck's), and nothing a stranger's
file could use: anchors, aliases, tags and multi-line scalars are refused, not expanded.

Plain scalars stay strings except integers, ``true``/``false`` and ``null``: a version
such as ``3.10`` must not become the float 3.1.
"""

from __future__ import annotations

import re
from typing import Any

from .errors import InputError

MAX_DEPTH = 64
_INT = re.compile(r"^[-+]?[0-9]+$")
_KEY = re.compile(r"""^("(?:[^"\\]|\\.)*"|'(?:[^']|'')*'|[^'"#\s][^#]*?)[ \t]*:(?:[ \t]+|$)""")


class _Line:
    __slots__ = ("indent", "number", "text")

    def __init__(self, number: int, indent: int, text: str) -> None:
        self.number, self.indent, self.text = number, indent, text


def _strip_comment(text: str) -> str:
    """The line without a trailing ``# comment`` (a ``#`` inside quotes is kept)."""
    quote = ""
    for index, char in enumerate(text):
        if quote:
            if char == quote:
                quote = ""
        elif char in "'\"":
            quote = char
        elif char == "#" and (index == 0 or text[index - 1] in " \t"):
            return text[:index].rstrip()
    return text.rstrip()


class _Parser:
    def __init__(self, text: str, source: str) -> None:
        self.source = source
        self.lines: list[_Line] = []
        for number, raw in enumerate(text.splitlines(), 1):
            if "\t" in raw[:len(raw) - len(raw.lstrip())]:
                self.fail(number, "tabs in indentation")
            content = _strip_comment(raw)
            stripped = content.lstrip(" ")
            if not stripped or stripped in ("---", "..."):
                continue
            self.lines.append(_Line(number, len(content) - len(stripped), stripped))
        self.position = 0

    def fail(self, number: int, why: str) -> InputError:
        raise InputError(f"{self.source}: line {number}: {why} (not YAML envcheck reads)")

    def peek(self) -> _Line | None:
        return self.lines[self.position] if self.position < len(self.lines) else None

    def document(self) -> Any:
        if not self.lines:
            return None
        value = self.block(self.lines[0].indent, 0)
        line = self.peek()
        if line is not None:
            self.fail(line.number, "unexpected indentation")
        return value

    def block(self, indent: int, depth: int) -> Any:
        if depth > MAX_DEPTH:
            line = self.peek()
            self.fail(line.number if line else 0, "nested too deeply")
        line = self.peek()
        assert line is not None
        if line.text == "-" or line.text.startswith("- "):
            return self.sequence(indent, depth)
        return self.mapping(indent, depth)

    def sequence(self, indent: int, depth: int) -> list[Any]:
        items: list[Any] = []
        while True:
            line = self.peek()
            if line is None or line.indent != indent or not (
                    line.text == "-" or line.text.startswith("- ")):
                return items
            content = line.text[1:].lstrip(" ")
            if not content:
                self.position += 1
                following = self.peek()
                items.append(self.block(following.indent, depth + 1)
                             if following is not None and following.indent > indent else None)
                continue
            column = indent + len(line.text) - len(content)
            if content.startswith("- ") or (_KEY.match(content) and content[0] not in "[{"):
                # "- key: value" starts a mapping (or "- - x" a sequence) at the item's column.
                self.lines[self.position] = _Line(line.number, column, content)
                items.append(self.block(column, depth + 1))
                continue
            self.position += 1
            items.append(self.scalar(content, line.number, depth))

    def mapping(self, indent: int, depth: int) -> dict[str, Any]:
        result: dict[str, Any] = {}
        while True:
            line = self.peek()
            if line is None or line.indent < indent:
                return result
            if line.indent > indent:
                self.fail(line.number, "unexpected indentation")
            if line.text == "-" or line.text.startswith("- "):
                return result  # a sequence at the parent's indentation ends this mapping
            match = _KEY.match(line.text)
            if match is None:
                self.fail(line.number, "expected 'key: value'")
            assert match is not None
            key = self.key(match.group(1), line.number)
            if key in result:
                self.fail(line.number, f"duplicate key {key!r}")
            rest = line.text[match.end():]
            self.position += 1
            if rest:
                result[key] = self.scalar(rest, line.number, depth)
                continue
            following = self.peek()
            if following is not None and following.indent > indent:
                result[key] = self.block(following.indent, depth + 1)
            elif following is not None and following.indent == indent and (
                    following.text == "-" or following.text.startswith("- ")):
                result[key] = self.sequence(indent, depth + 1)  # "key:\n- item" style
            else:
                result[key] = None

    def key(self, text: str, number: int) -> str:
        value = self.scalar(text, number, 0)
        if isinstance(value, (dict, list)) or value is None:
            self.fail(number, "keys must be scalars")
        return str(value) if not isinstance(value, bool) else str(value).lower()

    def scalar(self, text: str, number: int, depth: int) -> Any:
        text = text.strip()
        if text[:1] in ("&", "*", "!", "|", ">", "%", "@", "`"):
            self.fail(number, f"{text[:1]!r} (anchors, aliases, tags and block scalars are not "
                              "supported)")
        if text[:1] in ("[", "{"):
            value, end = self.flow(text, 0, number, depth)
            if text[end:].strip():
                self.fail(number, "text after a flow collection")
            return value
        if text[:1] in ("'", '"'):
            value, end = self.quoted(text, 0, number)
            if text[end:].strip():
                self.fail(number, "text after a quoted string")
            return value
        return self.plain(text)

    @staticmethod
    def plain(text: str) -> Any:
        if text in ("null", "Null", "NULL", "~"):
            return None
        if text in ("true", "True", "TRUE"):
            return True
        if text in ("false", "False", "FALSE"):
            return False
        if _INT.match(text):
            return int(text)
        return text

    def quoted(self, text: str, start: int, number: int) -> tuple[str, int]:
        quote = text[start]
        index, out = start + 1, []
        while index < len(text):
            char = text[index]
            if quote == "'" and char == "'":
                if text[index + 1:index + 2] == "'":
                    out.append("'")
                    index += 2
                    continue
                return "".join(out), index + 1
            if quote == '"' and char == "\\":
                escape = text[index + 1:index + 2]
                simple = {"n": "\n", "t": "\t", '"': '"', "\\": "\\", "/": "/", "0": "\0"}
                if escape in simple:
                    out.append(simple[escape])
                    index += 2
                    continue
                if escape in ("x", "u", "U"):
                    width = {"x": 2, "u": 4, "U": 8}[escape]
                    digits = text[index + 2:index + 2 + width]
                    try:
                        out.append(chr(int(digits, 16)))
                    except ValueError:
                        self.fail(number, "bad escape in a quoted string")
                    index += 2 + width
                    continue
                self.fail(number, "bad escape in a quoted string")
            if quote == '"' and char == '"':
                return "".join(out), index + 1
            out.append(char)
            index += 1
        self.fail(number, "unterminated quoted string (multi-line strings are not supported)")
        raise AssertionError  # fail raises

    def flow(self, text: str, start: int, number: int, depth: int) -> tuple[Any, int]:
        if depth > MAX_DEPTH:
            self.fail(number, "nested too deeply")
        closing = "]" if text[start] == "[" else "}"
        items: list[Any] = []
        mapping: dict[str, Any] = {}
        index = start + 1
        while True:
            while index < len(text) and text[index] == " ":
                index += 1
            if index >= len(text):
                self.fail(number, "unterminated flow collection (it must fit on one line)")
            if text[index] == closing:
                return (items if closing == "]" else mapping), index + 1
            value, index = self.flow_item(text, index, number, depth)
            if closing == "}":
                while index < len(text) and text[index] == " ":
                    index += 1
                if text[index:index + 1] != ":":
                    self.fail(number, "expected ':' in a flow mapping")
                entry, index = self.flow_item(text, index + 1, number, depth)
                mapping[str(value)] = entry
            else:
                items.append(value)
            while index < len(text) and text[index] == " ":
                index += 1
            if text[index:index + 1] == ",":
                index += 1
            elif text[index:index + 1] != closing:
                self.fail(number, "expected ',' in a flow collection")

    def flow_item(self, text: str, index: int, number: int, depth: int) -> tuple[Any, int]:
        while index < len(text) and text[index] == " ":
            index += 1
        if text[index:index + 1] in ("[", "{"):
            return self.flow(text, index, number, depth + 1)
        if text[index:index + 1] in ("'", '"'):
            return self.quoted(text, index, number)
        end = index
        while end < len(text) and text[end] not in ",]}" and text[end:end + 2] != ": ":
            end += 1
        return self.plain(text[index:end].strip()), end


def loads(text: str, source: str) -> Any:
    """The value of a YAML document in the subset conda and pixi write, or an InputError."""
    return _Parser(text, source).document()
