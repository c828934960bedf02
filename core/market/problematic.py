"""Symbols that recently failed with a market error: skipped for a TTL, each logged once."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ProblemEntry:
    reason: str
    until: float


class ProblematicSymbols:
    """In-process cache keyed by (exchange, symbol). `clock` returns seconds (monotonic by default)."""

    def __init__(self, ttl_seconds: float = 3600.0, *, clock: Callable[[], float] = time.monotonic) -> None:
        if ttl_seconds <= 0:
            raise ValueError("ttl_seconds must be positive")
        self._ttl = ttl_seconds
        self._clock = clock
        self._entries: dict[tuple[str, str], ProblemEntry] = {}

    def mark(self, exchange_id: str, symbol: str, reason: str) -> bool:
        """Skip `symbol` for the TTL. Returns True (and logs) only when it was not already skipped."""
        key = (exchange_id, symbol)
        if self._live(key) is not None:
            return False
        self._entries[key] = ProblemEntry(reason, self._clock() + self._ttl)
        log.warning("market %s %s skipped for %.0fs: %s", exchange_id, symbol, self._ttl, reason)
        return True

    def is_problematic(self, exchange_id: str, symbol: str) -> bool:
        return self._live((exchange_id, symbol)) is not None

    def reason(self, exchange_id: str, symbol: str) -> str | None:
        entry = self._live((exchange_id, symbol))
        return entry.reason if entry else None

    def active(self, exchange_id: str) -> dict[str, str]:
        """The symbols of one exchange currently skipped, with their reasons."""
        now = self._clock()
        return {s: e.reason for (ex, s), e in self._entries.items() if ex == exchange_id and e.until > now}

    def clear(self, exchange_id: str, symbol: str) -> None:
        self._entries.pop((exchange_id, symbol), None)

    def _live(self, key: tuple[str, str]) -> ProblemEntry | None:
        entry = self._entries.get(key)
        if entry is not None and entry.until <= self._clock():
            del self._entries[key]
            return None
        return entry
