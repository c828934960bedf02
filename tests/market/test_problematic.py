"""The problematic-symbol cache: skipped for a TTL, logged once, per exchange."""

from __future__ import annotations

import logging

import pytest

from core.market.problematic import ProblematicSymbols


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_ttl_and_log_once(caplog: pytest.LogCaptureFixture) -> None:
    clock = FakeClock()
    cache = ProblematicSymbols(ttl_seconds=600, clock=clock)
    caplog.set_level(logging.WARNING, logger="core.market.problematic")
    assert cache.mark("binance", "LUNA/USDT", "BadSymbol: delisted") is True
    assert cache.mark("binance", "LUNA/USDT", "again") is False  # already skipped: not logged again
    assert [r.getMessage() for r in caplog.records if "LUNA/USDT" in r.getMessage()] == [
        "market binance LUNA/USDT skipped for 600s: BadSymbol: delisted"
    ]
    assert cache.is_problematic("binance", "LUNA/USDT")
    assert not cache.is_problematic("kraken", "LUNA/USDT")
    assert cache.active("binance") == {"LUNA/USDT": "BadSymbol: delisted"}

    clock.now += 599.9
    assert cache.is_problematic("binance", "LUNA/USDT")
    clock.now += 0.1
    assert not cache.is_problematic("binance", "LUNA/USDT")
    assert cache.active("binance") == {}
    # after expiry a new failure is news again
    assert cache.mark("binance", "LUNA/USDT", "still gone") is True
    assert cache.reason("binance", "LUNA/USDT") == "still gone"


def test_ttl_must_be_positive() -> None:
    with pytest.raises(ValueError):
        ProblematicSymbols(ttl_seconds=0)
