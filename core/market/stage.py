"""The cycle's market stage: markets, tickers, universe filter and OHLCV, once for all users.

Per cycle and exchange it sends one time request, one tickers request and, once warmed up, at most
one OHLCV request per symbol, whatever the number of users: users read the resulting frame.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field
from typing import Any

import ccxt.async_support as ccxt

from core.market.backoff import RequestBackoff
from core.market.frame import MarketFrame, assemble_frame
from core.market.markets import MarketRegistry
from core.market.ohlcv_store import OhlcvStore
from core.market.problematic import ProblematicSymbols
from core.market.timeframes import last_closed_open, timeframe_ms
from core.market.universe import (
    UniverseDecision,
    UniverseRules,
    apply_age_rule,
    apply_freshness_rule,
    apply_ticker_rules,
    select_markets,
)

log = logging.getLogger(__name__)

# more market errors than this in one cycle means the exchange, not the symbols, is failing
MASS_FAILURE_MIN, MASS_FAILURE_SHARE = 5, 0.5
STALE_TICKERS_SECONDS = 3600.0


def is_symbol_error(exc: BaseException) -> bool:
    """A market error for one symbol (BadSymbol, any ExchangeError): skip the symbol for a while.

    ccxt 4 keeps NetworkError (429, timeouts, 5xx) apart from ExchangeError; say so anyway.
    """
    return isinstance(exc, ccxt.ExchangeError) and not isinstance(exc, ccxt.NetworkError)


@dataclass
class StageResult:
    frame: MarketFrame
    universe: UniverseDecision
    now_ms: int
    errors: dict[str, str] = field(default_factory=dict)  # transient failures this cycle


class MarketStage:
    """Owns, per exchange, the shared public client, its OHLCV store and the markets registry.

    `clock` gives epoch ms; None means ask the exchange (`fetch_time`, one request per cycle), which
    keeps "is the last candle finished" right even when the local clock drifts or the exchange is
    the sandbox replaying another time.
    """

    def __init__(
        self,
        stores: dict[str, OhlcvStore],
        *,
        rules: UniverseRules | None = None,
        registry: MarketRegistry | None = None,
        problematic: ProblematicSymbols | None = None,
        clock: Callable[[], int] | None = None,
    ) -> None:
        self.stores = stores
        self.rules = rules or UniverseRules()
        self.registry = registry or MarketRegistry({ex: s.client for ex, s in stores.items()})
        self.problematic = problematic or ProblematicSymbols()
        self._clock = clock
        self._backoff = {ex: s.backoff for ex, s in stores.items()}
        self._last_tickers: dict[str, tuple[float, dict[str, Any]]] = {}

    def mark_problematic(self, exchange_id: str, symbol: str, reason: str) -> None:
        """For the engine: an order on `symbol` failed with a market error."""
        self.problematic.mark(exchange_id, symbol, reason)

    async def refresh(
        self,
        exchange_id: str,
        symbols: Iterable[str] | None,
        timeframe: str,
        history: int,
        *,
        blacklist: Collection[str] = frozenset(),
    ) -> MarketFrame:
        return (await self.run(exchange_id, symbols, timeframe, history, blacklist=blacklist)).frame

    async def run(
        self,
        exchange_id: str,
        symbols: Iterable[str] | None,
        timeframe: str,
        history: int,
        *,
        blacklist: Collection[str] = frozenset(),
    ) -> StageResult:
        """One cycle's market data for `symbols` (None: every market that passes the rules)."""
        store = self._store(exchange_id)
        client = store.client
        tf = timeframe_ms(timeframe)
        markets = await self.registry.get(exchange_id)
        decision = select_markets(
            markets,
            self.rules,
            blacklist=blacklist,
            problematic=self.problematic.active(exchange_id),
            only=symbols,
        )
        if decision.selected:
            apply_ticker_rules(decision, await self._tickers(exchange_id, client), self.rules)
        now_ms = await self._now(exchange_id, client)
        window = max(history, self.rules.min_age_candles)
        fetched = await store.candles_many(decision.selected, timeframe, window, now_ms)
        errors = self._sort_failures(exchange_id, fetched.errors, decision, asked=len(decision.selected))
        end_open = last_closed_open(now_ms, tf)
        apply_age_rule(decision, fetched.candles, self.rules)
        apply_freshness_rule(decision, fetched.candles, end_open)
        frame = assemble_frame(
            {s: fetched.candles[s] for s in decision.selected}, tf_ms=tf, end_open=end_open, length=history
        )
        return StageResult(frame, decision, now_ms, errors)

    def _sort_failures(
        self, exchange_id: str, failures: dict[str, Exception], decision: UniverseDecision, asked: int
    ) -> dict[str, str]:
        """Market errors send their symbol to the problem cache; anything else is this cycle's loss.

        When most symbols fail with a "market" error at once, the exchange itself is in trouble
        (maintenance, a changed API): nobody is blamed, the next cycle tries them all again.
        """
        described = {s: f"{type(e).__name__}: {e}"[:300] for s, e in failures.items()}
        market_errors = [s for s, e in failures.items() if is_symbol_error(e)]
        exchange_wide = len(market_errors) > max(MASS_FAILURE_MIN, asked * MASS_FAILURE_SHARE)
        errors: dict[str, str] = {}
        for symbol, text in described.items():
            if symbol in market_errors and not exchange_wide:
                self.problematic.mark(exchange_id, symbol, text)
                decision.rejected[symbol] = "problematic: market error"
            else:
                errors[symbol] = text
                decision.rejected[symbol] = "fetch failed this cycle"
        if errors:
            example = next(iter(errors.items()))
            log.warning(
                "%s: candles of %d/%d symbols not fetched this cycle (e.g. %s: %s)",
                exchange_id,
                len(errors),
                asked,
                *example,
            )
        return errors

    async def _tickers(self, exchange_id: str, client: ccxt.Exchange) -> dict[str, Any]:
        """This cycle's 24h tickers (one request); the last good ones if the exchange fails now."""
        try:
            tickers: dict[str, Any] = await self._backoff[exchange_id].call(
                client, lambda: client.fetch_tickers()
            )
        except ccxt.BaseError as exc:
            last = self._last_tickers.get(exchange_id)
            if last is None or time.monotonic() - last[0] > STALE_TICKERS_SECONDS:
                raise
            log.warning("%s: tickers unavailable, using the previous cycle's: %s", exchange_id, exc)
            return last[1]
        self._last_tickers[exchange_id] = (time.monotonic(), tickers)
        return tickers

    async def close(self) -> None:
        for store in self.stores.values():
            await store.cache.close()

    def _store(self, exchange_id: str) -> OhlcvStore:
        try:
            return self.stores[exchange_id]
        except KeyError:
            raise ValueError(f"no market data configured for exchange {exchange_id!r}") from None

    async def _now(self, exchange_id: str, client: ccxt.Exchange) -> int:
        if self._clock is not None:
            return self._clock()
        try:
            server_ms = await self._backoff[exchange_id].call(client, lambda: client.fetch_time())
        except ccxt.BaseError as exc:
            log.warning("%s: server time unavailable, using the local clock: %s", exchange_id, exc)
            return int(time.time() * 1000)
        return int(server_ms) if server_ms is not None else int(time.time() * 1000)


def build_stage(
    clients: dict[str, ccxt.Exchange],
    *,
    redis_url: str | None = None,
    rules: UniverseRules | None = None,
    concurrency: int = 16,
    problematic: ProblematicSymbols | None = None,
    clock: Callable[[], int] | None = None,
    max_candles: int = 10_000,
) -> MarketStage:
    """A stage over one public client per exchange, cached in Redis when `redis_url` is set.
    `max_candles` bounds what each series keeps (memory and Redis traffic grow with it)."""
    from core.market.candle_cache import MemoryCandleCache, RedisCandleCache

    stores = {
        ex: OhlcvStore(
            ex,
            client,
            cache=RedisCandleCache(redis_url) if redis_url else MemoryCandleCache(),
            concurrency=concurrency,
            backoff=RequestBackoff(),
            max_candles=max_candles,
        )
        for ex, client in clients.items()
    }
    return MarketStage(stores, rules=rules, problematic=problematic, clock=clock)
