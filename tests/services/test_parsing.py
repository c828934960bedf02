"""Property tests for everything users type: any text either parses to a clean value or is refused
with a UserError carrying a msgid — never another exception."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.services.errors import UserError
from core.services.parsing import (
    MAX_AMOUNT,
    Period,
    parse_amount,
    parse_blacklist_args,
    parse_period,
    parse_symbol,
    parse_ttl,
)
from core.services.user_settings import SETTINGS, parse_setting

any_text = st.text(max_size=60)


@given(any_text)
def test_amount_parses_or_refuses(text: str) -> None:
    try:
        value = parse_amount(text)
    except UserError as err:
        assert err.msgid
        return
    assert value.is_finite() and Decimal(0) < value <= MAX_AMOUNT
    assert -value.as_tuple().exponent <= 8  # type: ignore[operator]


@given(st.decimals(min_value=Decimal("0.00000001"), max_value=MAX_AMOUNT, places=8, allow_nan=False))
def test_amount_round_trips_any_valid_value(value: Decimal) -> None:
    text = format(value, "f")
    assert parse_amount(text) == value
    assert parse_amount(text.replace(".", ",")) == value
    assert parse_amount(f" {text} USDT ") == value


@pytest.mark.parametrize(
    "text", ["0", "0.0", "-5", "1e3", "NaN", "inf", "1 000", "12.123456789", "", "abc", "5.5.5"]
)
def test_amount_refuses_bad_examples(text: str) -> None:
    with pytest.raises(UserError):
        parse_amount(text)


@given(st.from_regex(r"[A-Z0-9]{1,15}/[A-Z0-9]{2,10}", fullmatch=True))
def test_symbol_accepts_unified_form(symbol: str) -> None:
    assert parse_symbol(symbol) == symbol
    assert parse_symbol(symbol.lower()) == symbol
    assert parse_symbol(symbol.replace("/", "-")) == symbol


@given(any_text)
def test_symbol_parses_or_refuses(text: str) -> None:
    try:
        symbol = parse_symbol(text)
    except UserError:
        return
    base, quote = symbol.split("/")
    assert base.isalnum() and quote.isalnum() and symbol == symbol.upper()


def test_symbol_without_slash_splits_on_known_quote() -> None:
    assert parse_symbol("btcusdt") == "BTC/USDT"
    assert parse_symbol("ETHBTC") == "ETH/BTC"


@given(st.integers(min_value=1, max_value=9999), st.sampled_from("mhdw"))
def test_ttl_in_range_or_refused(n: int, unit: str) -> None:
    seconds = n * {"m": 60, "h": 3600, "d": 86400, "w": 604800}[unit]
    if 60 <= seconds <= 365 * 86400:
        assert parse_ttl(f"{n}{unit}") == timedelta(seconds=seconds)
    else:
        with pytest.raises(UserError):
            parse_ttl(f"{n}{unit}")


@given(any_text)
def test_blacklist_args_parse_or_refuse(text: str) -> None:
    try:
        cmd = parse_blacklist_args(text)
    except UserError as err:
        assert err.msgid
        return
    assert cmd.action in ("list", "add", "remove")
    if cmd.action == "list":
        assert not text.split()
    else:
        assert cmd.symbol is not None and "/" in cmd.symbol


@given(
    st.from_regex(r"[A-Z]{2,6}/USDT", fullmatch=True),
    st.lists(st.from_regex(r"[a-z]{1,8}", fullmatch=True), max_size=4),
    st.one_of(st.none(), st.sampled_from(["30m", "12h", "7d", "2w"])),
)
def test_blacklist_add_keeps_reason_and_ttl(symbol: str, words: list[str], ttl: str | None) -> None:
    args = " ".join(["add", symbol, *words, *([ttl] if ttl else [])])
    cmd = parse_blacklist_args(args)
    assert cmd.action == "add" and cmd.symbol == symbol
    assert cmd.reason == (" ".join(words) or None)
    assert (cmd.ttl is None) == (ttl is None)


def test_blacklist_remove_and_usage() -> None:
    assert parse_blacklist_args("remove btc/usdt").symbol == "BTC/USDT"
    for bad in ("drop BTC/USDT", "add", "remove", "remove BTC/USDT extra", "add BTC/USDT 0m"):
        with pytest.raises(UserError):
            parse_blacklist_args(bad)


@given(any_text)
def test_period_parses_or_refuses(text: str) -> None:
    try:
        period = parse_period(text)
    except UserError:
        return
    assert period in set(Period)


@given(st.sampled_from(sorted(SETTINGS)), any_text)
def test_setting_values_stay_in_bounds(name: str, text: str) -> None:
    spec = SETTINGS[name]
    try:
        value = parse_setting(name, text)
    except UserError as err:
        assert err.msgid
        return
    assert spec.minimum <= Decimal(value) <= spec.maximum
    assert isinstance(value, int) == spec.integer


@given(st.sampled_from(sorted(SETTINGS)))
def test_setting_presets_are_valid(name: str) -> None:
    for preset in SETTINGS[name].presets:
        parse_setting(name, preset)
