"""Text for the terminal: stored values printed so that they cannot drive it.

Stored text is other people's input (a CSV, a connector, an API client). Printed raw, an escape
sequence in it could move the cursor, rewrite earlier lines, retitle the window or hide what
follows. `printable` shows every control character (C0, DEL and C1, the escape character
included) as a visible escape, leaving ordinary text, CJK and emoji untouched; tabs and line
feeds are kept only where the caller says the value may span lines.
"""

from __future__ import annotations

import re

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_CONTROL_OR_NEWLINE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: object, *, multiline: bool = False) -> str:
    """``str(text)`` with control characters (and bidi overrides) shown as ``\\xNN`` / ``\\uNNNN``."""
    pattern = _CONTROL if multiline else _CONTROL_OR_NEWLINE
    return pattern.sub(_escape, str(text))
