"""Which text encoding a CSV file's bytes are in: the one the user names, UTF-8, or a confident detection.

With ``--encoding`` the bytes are decoded with it, strictly: an undecodable byte is an error naming its
line and byte offset. Without it, UTF-8 (with or without a BOM) is tried first; anything else goes to
charset-normalizer. Single-byte code pages (Windows-1252, Windows-1250, Latin-1, ...) and the East
Asian double-byte ones can decode the same bytes into different text, so when the candidates the
detector finds equally plausible read the file differently, Hub refuses to guess: the error names the
candidates, each with how it reads the first place they differ, and asks for ``--encoding``.
"""

from __future__ import annotations

import codecs

import charset_normalizer

from hub.errors import ValidationError

#: How much more chaos (charset-normalizer's mess ratio) a candidate may show and still count as plausible:
#: a Big5 file once scored 0.086 as Big5 and 0.0 as (garbled) Shift-JIS, so the margin is wide.
CHAOS_MARGIN = 0.1
#: Names reported for a group of equivalent candidates, most familiar first.
FAMILIAR = ("gb18030", "big5", "cp1252", "latin_1", "iso8859_15", "cp1251", "shift_jis", "cp932", "euc_kr",
            "cp949", "utf_16", "utf_32")


def _line_and_offset(data: bytes, offset: int) -> str:
    line = data.count(b"\n", 0, offset) + 1
    return f"line {line} (byte {offset}, 0x{data[offset]:02x})" if offset < len(data) else f"line {line}"


def decode_as(data: bytes, encoding: str) -> str:
    """``data`` decoded with ``encoding``; an unknown encoding or undecodable byte is a ValidationError."""
    try:
        codecs.lookup(encoding)
    except LookupError:
        raise ValidationError("--encoding", f"{encoding!r} is not an encoding Python knows") from None
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise ValidationError("file", f"{_line_and_offset(data, exc.start)} is not valid {encoding} "
                                      f"({exc.reason}); is --encoding right?") from None
    return text[1:] if text.startswith("\ufeff") else text


def _familiar(names: list[str]) -> str:
    return next((n for n in FAMILIAR if n in names), names[0])


def _glimpse(text: str, at: int) -> str:
    start = text.rfind("\n", 0, at) + 1
    end = text.find("\n", at)
    snippet = text[start:end if end != -1 else len(text)]
    if len(snippet) > 40:
        left = max(at - start - 15, 0)
        snippet = snippet[left:left + 40]
    return snippet.strip()


def detect(data: bytes) -> tuple[str, str]:
    """The text of ``data`` and the encoding it was read with; a ValidationError when detection is weak."""
    try:
        return data.decode("utf-8-sig"), "utf-8-sig"
    except UnicodeDecodeError as exc:
        first_bad = exc.start
    matches = list(charset_normalizer.from_bytes(data))
    if not matches:
        raise ValidationError("file", f"is not text in any encoding Hub can detect (the first byte that is not "
                                      f"UTF-8 is at {_line_and_offset(data, first_bad)}); pass --encoding")
    best = matches[0]
    readings: dict[str, list[str]] = {}
    for m in matches:
        if m.chaos <= best.chaos + CHAOS_MARGIN:
            readings.setdefault(str(m), []).extend(m.could_be_from_charset or [m.encoding])
    if len(readings) == 1:
        [(text, names)] = readings.items()
        return (text[1:] if text.startswith("\ufeff") else text), _familiar(names)
    texts = list(readings)
    at = next((i for i, chars in enumerate(zip(*texts, strict=False)) if len(set(chars)) > 1),
              min(len(t) for t in texts))
    line = texts[0].count("\n", 0, at) + 1
    candidates = "; ".join(f"{_familiar(names)}: {_glimpse(text, at)!r}" for text, names in readings.items())
    raise ValidationError("file", f"is not UTF-8 (from {_line_and_offset(data, first_bad)}), and its encoding "
                                  f"cannot be told for sure; at line {line} it reads as {candidates}. "
                                  "Pass --encoding with the right one")
