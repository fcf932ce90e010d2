"""Spreadsheet formulas in CSV cells (CSV injection): neutralised in every CSV Hub writes, restored on import.

A spreadsheet runs a cell as a formula when it starts with ``= + - @``, a tab, a carriage return or a
line feed, and some also after leading spaces, a byte-order mark or the full-width forms of ``= + - @``
(U+FF1D, U+FF0B, U+FF0D, U+FF20).
The OWASP rule is to prefix such a cell with a single quote, which spreadsheets show as text. Every CSV
writer in Hub (``hub export``, the ``--rejects`` file of ``hub import``, the connectors' CSV files meant
for people) passes each text cell through `neutralise`; Hub's own CSV import passes each cell through
`restore`, so an export imports back unchanged.

The pair is exact: a value that already starts with a quote in front of something `neutralise` would
prefix (``'=1``) gets one more quote, so ``restore(neutralise(v)) == v`` for every ``v``.
"""

from __future__ import annotations

#: Characters that make a spreadsheet read a cell as a formula (ASCII and full-width forms).
FORMULA_START = frozenset("=+-@\t\r\n\uff1d\uff0b\uff0d\uff20")
#: Characters spreadsheets skip before looking for a formula: spaces (incl. no-break, ideographic,
#: zero-width) and the byte-order mark.
IGNORED_LEAD = frozenset(" \u00a0\u3000\u200b\u2060\ufeff")


def _runs_as_formula(value: str) -> bool:
    """Whether a spreadsheet could read ``value`` as a formula (after the characters it skips)."""
    for char in value:
        if char in FORMULA_START:
            return True
        if char not in IGNORED_LEAD:
            return False
    return False


def _needs_quote(value: str) -> bool:
    """A would-be formula, or a quote in front of one (so that `restore` can tell them apart)."""
    while value.startswith("'"):
        value = value[1:]
        if not value:
            return False
    return _runs_as_formula(value)


def neutralise(value: str) -> str:
    """``value`` for a CSV cell: prefixed with ``'`` when a spreadsheet could run it as a formula."""
    return "'" + value if _needs_quote(value) else value


def restore(value: str) -> str:
    """The value a cell written by `neutralise` stood for (other cells are returned as they are)."""
    return value[1:] if value.startswith("'") and _needs_quote(value[1:]) else value
