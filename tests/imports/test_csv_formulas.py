"""Formula neutralisation in CSV cells (hub.imports.csv_formulas): the OWASP rule, and its exact inverse."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hub.imports.csv_formulas import neutralise, restore

RISKY = ["=1+2", "+1", "-3", "@SUM(A1)", "\t=1", "\r=1", "\n=1", " =1", "  +1", "\u00a0=1", "\u3000=1",
         "\ufeff=1", "\u200b@x", "\uff1dcmd|' /C calc'!A0", "\uff0b1", "\uff0d1", "\uff20SUM(A1)", " \ufeff\uff1d1"]
SAFE = ["", "Acme", "Sales = good", "a-b", "1+1", "王芳", "'", "'quoted", " plain", "x=1", "\u00e9=1"]


@pytest.mark.parametrize("value", RISKY)
def test_a_would_be_formula_gets_a_quote(value: str) -> None:
    assert neutralise(value) == "'" + value
    assert restore(neutralise(value)) == value


@pytest.mark.parametrize("value", SAFE)
def test_other_text_is_left_alone(value: str) -> None:
    assert neutralise(value) == value
    assert restore(value) == value


def test_a_quote_in_front_of_a_formula_is_kept_apart_from_a_neutralised_one() -> None:
    assert neutralise("'=1") == "''=1"
    assert restore("''=1") == "'=1"
    assert restore("'=1") == "=1"
    assert neutralise("' =1") == "'' =1"


@given(st.text(alphabet=st.sampled_from("'= +-@\t\r\n\ufeff\u3000\uff1dab1"), max_size=8) | st.text(max_size=8))
def test_restore_undoes_neutralise(value: str) -> None:
    assert restore(neutralise(value)) == value
    assert not neutralise(value).lstrip(" \u00a0\u3000\u200b\u2060\ufeff").startswith(
        ("=", "+", "-", "@", "\t", "\r", "\n", "\uff1d", "\uff0b", "\uff0d", "\uff20"))
