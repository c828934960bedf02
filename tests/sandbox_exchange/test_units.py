"""Property tests for the sandbox's small parsers and money formatting."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sandbox.exchange.accounts import fmt
from sandbox.exchange.auth import RequestParts
from sandbox.exchange.fills import floor_to_step
from sandbox.exchange.timeframes import duration_ms, timeframe_ms

UNITS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 604_800_000}


@given(st.integers(min_value=0, max_value=10**6), st.sampled_from(sorted(UNITS)))
def test_duration_parses_every_unit(value: int, unit: str) -> None:
    assert duration_ms(f"{value}{unit}") == value * UNITS[unit]


@pytest.mark.parametrize("text", ["", "5", "m5", "5 minutes", "-5m", "1.5h"])
def test_duration_rejects_garbage(text: str) -> None:
    with pytest.raises(ValueError):
        duration_ms(text)


def test_timeframe_must_be_a_binance_interval() -> None:
    assert timeframe_ms("5m") == 300_000
    with pytest.raises(ValueError):
        timeframe_ms("7m")


@given(st.decimals(min_value=0, max_value=10**12, places=12, allow_nan=False, allow_infinity=False))
def test_fmt_is_exact_with_at_least_eight_decimals(value: Decimal) -> None:
    text = fmt(value)
    assert Decimal(text) == value
    assert len(text.split(".")[1]) >= 8 and "E" not in text


@given(
    st.decimals(min_value=0, max_value=10**6, places=8),
    st.sampled_from([Decimal("1"), Decimal("0.1"), Decimal("0.001"), Decimal("0.00000001")]),
)
def test_floor_to_step_never_rounds_up(amount: Decimal, step: Decimal) -> None:
    floored = floor_to_step(amount, step)
    assert floored <= amount < floored + step and floored % step == 0


@given(
    st.dictionaries(
        st.sampled_from(["symbol", "side", "quantity", "timestamp"]), st.text("abc123", min_size=1)
    )
)
def test_signed_payload_drops_only_the_signature(params: dict[str, str]) -> None:
    query = "&".join(f"{k}={v}" for k, v in params.items())
    parts = RequestParts(query + ("&" if query else "") + "signature=ff", "")
    assert parts.signed_payload() == query
    assert {k: v for k, v in parts.params.items() if k != "signature"} == params
