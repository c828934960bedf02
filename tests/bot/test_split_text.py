"""Long replies are cut into Telegram-sized pieces at line breaks, losing nothing."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from bot.reply import split_text

LINES = st.lists(st.text(st.characters(blacklist_characters="\n"), min_size=1, max_size=60), max_size=80)


@given(LINES, st.integers(min_value=60, max_value=500))
def test_pieces_fit_and_rejoin_to_the_text(lines: list[str], limit: int) -> None:
    text = "\n".join(lines)
    pieces = split_text(text, limit)
    assert all(len(p) <= limit for p in pieces)
    assert "\n".join(pieces) == text


def test_an_overlong_line_is_cut_hard() -> None:
    pieces = split_text("head\n" + "x" * 250 + "\ntail", 100)
    assert pieces == ["head", "x" * 100, "x" * 100, "x" * 50 + "\ntail"]
