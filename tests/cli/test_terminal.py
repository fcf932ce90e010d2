"""hub.cli.terminal: stored text printed to a terminal cannot drive it."""

from __future__ import annotations

import pytest

from hub.cli.terminal import printable


@pytest.mark.parametrize("raw, shown", [
    ("\x1b[2J\x1b[H", "\\x1b[2J\\x1b[H"),          # clear the screen, cursor home
    ("\x1b]0;owned\x07", "\\x1b]0;owned\\x07"),     # retitle the window
    ("ok\rFAKE", "ok\\x0dFAKE"),                    # overwrite the line
    ("\x9b31m", "\\x9b31m"),                        # the 8-bit CSI
    ("abc\u202edcba", "abc\\u202edcba"),            # right-to-left override
    ("a\x00b\x7fc", "a\\x00b\\x7fc"),
])
def test_control_characters_are_shown_not_obeyed(raw: str, shown: str) -> None:
    assert printable(raw) == shown


def test_ordinary_text_is_untouched() -> None:
    text = "Müller 张伟 🙂 \uff1d tab-free"
    assert printable(text) == text


def test_line_feeds_and_tabs_are_kept_only_where_a_value_may_span_lines() -> None:
    assert printable("a\nb\tc") == "a\\x0ab\\x09c"
    assert printable("a\nb\tc\x1b", multiline=True) == "a\nb\tc\\x1b"


ESCAPE = "\x1b]0;owned\x07\x1b[2J"


def test_stored_escape_sequences_reach_no_terminal_through_history_and_errors(hub_env: str) -> None:
    """A record whose text holds escape sequences: its history, and a run error quoting them, print escaped."""
    from click.testing import CliRunner

    from hub.cli import cli
    from hub.core.actor import Context
    from hub.root import Hub

    store = Hub.from_settings().store
    with store.writing(Context.system("test")) as tx:
        record = tx.create("contacts", {"last_name": f"Wang{ESCAPE}"})
        tx.update("contacts", record["id"], {"job_title": f"CEO{ESCAPE}\x9b31m"})
    for args in (["audit", "log", "contacts", str(record["id"])],
                 ["audit", "log", "contacts", str(record["id"]), "--json"],
                 ["records", "show", "contacts", str(record["id"])]):
        result = CliRunner().invoke(cli, args, catch_exceptions=False)
        assert result.exit_code == 0, result.output
        assert "\x1b" not in result.output and "\x07" not in result.output and "\x9b" not in result.output, args
        assert "Wang" in result.output
