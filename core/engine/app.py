"""The trading engine: reconciliation at start, then the cycle at every candle close and the position
watch in between, on APScheduler's AsyncIOScheduler in the running event loop.

    engine = Engine(settings, sessionmaker, vault, market_stage)
    await engine.start()           # reconcile, then schedule
    ...
    await engine.stop()            # scheduler off, every ccxt client closed

One cycle: the market stage ONCE per exchange (candles -> frame -> model -> signal books), a batched
snapshot of every active user, then the user stage: paper users planned in memory and written in
bulk, live users each in their own job (bounded concurrency, a timeout each, failures isolated).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, cast

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.config import Settings
from core.db.models import Mode
from core.db.types import utcnow
from core.engine.accounts import ClientMaker, ClientPool
from core.engine.live import KeysInvalid, LiveExecutor
from core.engine.live_user import LiveUsers, wants_entries
from core.engine.market_view import BookBuilder, CycleMarket, default_book_builder, rules_for
from core.engine.notices import notify
from core.engine.paper import PaperDesk, UserWrites, write_batch
from core.engine.planner import MarketView, Policy, plan_user
from core.engine.reconcile import Repair, reconcile
from core.engine.snapshot import Snapshot, UserRow, load_snapshot
from core.engine.stats import CycleStats, StatsKeeper
from core.fills import FillModel
from core.market.stage import MarketStage
from core.market.timeframes import timeframe_ms
from core.risk import ZERO, dec
from core.vault import KeyVault

log = logging.getLogger(__name__)
RETRAIN_HISTORY = 3000  # candles per symbol the scheduled retraining trains on


class Engine:
    def __init__(
        self,
        settings: Settings,
        sessionmaker: async_sessionmaker[AsyncSession],
        vault: KeyVault,
        market: MarketStage,
        book_builder: BookBuilder | None = None,
        model: Any | None = None,
        *,
        exchanges: Sequence[str] | None = None,
        history: int = 300,
        fill_model: FillModel | None = None,
        policy: Policy | None = None,
        make_client: ClientMaker | None = None,
        client_timeout_ms: int | None = None,
        pending_grace_seconds: float | None = None,
        paper_batch: int = 1000,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        if make_client is None:
            from core.exchange.ccxt_factory import make_client as default_maker

            make_client = default_maker
        self.settings = settings
        self.sessionmaker = sessionmaker
        self.market = market
        self.builder = book_builder or default_book_builder
        self.model = model
        self.exchanges = tuple(exchanges or market.stores)
        if not self.exchanges:
            raise ValueError("the market stage has no exchange")
        self.primary = self.exchanges[0]  # paper accounts trade on the first exchange's prices
        self.history = history
        self.quote = settings.quote_currency
        self.fill_model = fill_model or FillModel()
        self.policy = policy or Policy(fee_rate=self.fill_model.taker_fee)
        self.paper_batch = paper_batch
        self.clock = clock
        self.tf_ms = timeframe_ms(settings.timeframe)
        timeout_s = (client_timeout_ms or 10_000) / 1000
        grace = pending_grace_seconds if pending_grace_seconds is not None else timeout_s + 5
        self.pool = ClientPool(
            sessionmaker,
            vault,
            make_client,
            market.registry.attach,
            api_url=settings.exchange_api_url,
            timeout_ms=client_timeout_ms,
        )
        self.executor = LiveExecutor(
            sessionmaker, self.policy, self.quote, on_market_error=market.mark_problematic
        )
        self.live = LiveUsers(
            sessionmaker, self.pool, self.executor, self.policy, self.quote, timedelta(seconds=grace)
        )
        self.paper = PaperDesk(self.fill_model, self.policy, self.primary, self.quote)
        self.stats = StatsKeeper(slow_seconds=max(5.0, self.tf_ms / 1000 / 4))
        self.scheduler: AsyncIOScheduler | None = None
        self.last_reconciliation: dict[int, Repair] = {}
        self.last_watch: CycleStats | None = None
        self._busy = asyncio.Lock()  # a cycle and a watch tick never run at once
        self._user_locks: dict[int, asyncio.Lock] = {}  # live users only

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        sessionmaker: async_sessionmaker[AsyncSession],
        vault: KeyVault,
        model: Any | None = None,
        *,
        exchanges: Sequence[str] = ("binance",),
        rate_limit: bool = True,
    ) -> Engine:
        """The production wiring: one public client per exchange (EXCHANGE_API_URL for the sandbox),
        candles cached in Redis when REDIS_URL is set, the users' own strategies. `rate_limit=False`
        only against the sandbox exchange, which enforces Binance's weights itself."""
        from core.exchange.ccxt_factory import make_client
        from core.market.stage import build_stage
        from core.market.universe import UniverseRules

        clients = {
            ex: make_client(ex, api_url=settings.exchange_api_url, rate_limit=rate_limit) for ex in exchanges
        }
        stage = build_stage(
            clients,
            redis_url=settings.redis_url,
            rules=UniverseRules(quote=settings.quote_currency),
            max_candles=RETRAIN_HISTORY,  # the cycle needs 300; retraining reads the most
        )
        return cls(settings, sessionmaker, vault, stage, None, model, exchanges=exchanges)

    # ---------------------------------------------------------------- lifecycle
    async def start(self) -> None:
        """Reconcile live accounts, then schedule the cycle and the position watch in this loop."""
        await self.reconcile()
        loop = asyncio.get_running_loop()
        scheduler = AsyncIOScheduler(event_loop=loop, timezone=UTC)
        tf_s = self.tf_ms / 1000
        now_ms = int(time.time() * 1000)
        first_close = (now_ms // self.tf_ms + 1) * self.tf_ms
        first = datetime.fromtimestamp(first_close / 1000, tz=UTC) + timedelta(
            seconds=self.settings.cycle_delay_seconds
        )
        scheduler.add_job(
            self._cycle_job,
            IntervalTrigger(seconds=tf_s, start_date=first, timezone=UTC),
            id="trading-cycle",
            max_instances=1,
            coalesce=True,
            misfire_grace_time=max(1, int(tf_s // 2)),
        )
        scheduler.add_job(
            self._watch_job,
            IntervalTrigger(seconds=self.settings.position_watch_seconds, timezone=UTC),
            id="position-watch",
            max_instances=1,
            coalesce=True,
            misfire_grace_time=5,
        )
        scheduler.start()
        self.scheduler = scheduler
        log.info(
            "trading engine started: cycle every %s (+%.0fs), watch every %.0fs",
            self.settings.timeframe,
            self.settings.cycle_delay_seconds,
            self.settings.position_watch_seconds,
        )

    async def stop(self) -> None:
        if self.scheduler is not None:
            self.scheduler.shutdown(wait=False)
            self.scheduler = None
        await self.pool.close_all()
        for store in self.market.stores.values():
            try:
                await store.client.close()
            except Exception as exc:  # shutting down: report and go on
                log.warning("closing the market client failed: %s", type(exc).__name__)
        await self.market.close()

    async def _cycle_job(self) -> None:
        try:
            await self.run_cycle_once()
        except Exception:
            log.exception("trading cycle failed")

    async def _watch_job(self) -> None:
        try:
            await self.watch_once()
        except Exception:
            log.exception("position watch failed")

    def exclusive(self) -> asyncio.Lock:
        """Held by every cycle and watch tick; whoever else changes positions (manual closes) takes it."""
        return self._busy

    async def reconcile(self) -> dict[int, Repair]:
        self.last_reconciliation = await reconcile(
            self.sessionmaker, self.live, self.exchanges, concurrency=self.settings.user_concurrency
        )
        return self.last_reconciliation

    # ---------------------------------------------------------------- the cycle
    async def run_cycle_once(self, now: datetime | None = None) -> CycleStats:
        """One whole cycle; its stats are kept and stored even when a stage fails (then it raises)."""
        async with self._busy:
            stats = CycleStats(started_at=self.clock())
            try:
                return await self._cycle(now or stats.started_at, stats)
            except BaseException:
                stats.errors += 1
                stats.finished_at = self.clock()
                await self.stats.record(self.sessionmaker, stats)
                raise

    async def _cycle(self, now: datetime, stats: CycleStats) -> CycleStats:
        sent_before = self.executor.sent
        frames = {}
        with stats.stage("market"):
            for ex in self.exchanges:
                result = await self.market.run(ex, None, self.settings.timeframe, self.history)
                frames[ex] = result.frame
                if self.model is not None:
                    await asyncio.to_thread(self._predict, result.frame)
                stats.symbols += result.frame.n_symbols
        with stats.stage("snapshot"):
            async with self.sessionmaker() as session:
                snap = await load_snapshot(session, now, self.exchanges)
        with stats.stage("signals"):
            markets: dict[str, CycleMarket] = {}
            for ex, frame in frames.items():
                held = sorted({p.symbol for ps in snap.positions.values() for p in ps if p.exchange == ex})
                cm = CycleMarket.build(
                    ex, frame, await self.market.registry.get(ex), now, snap.blacklist, self.builder, held
                )
                groups = {u.strategies for u in snap.users}
                await asyncio.to_thread(_build_views, cm, groups)
                markets[ex] = cm
            stats.candle_time = markets[self.primary].candle_time if self.primary in markets else None
        with stats.stage("users"):
            await _all_awaited(
                self._paper_stage(snap, markets.get(self.primary), stats, now, entries=True),
                self._live_stage(snap, markets, stats, entries=True),
            )
        stats.orders_sent += self.executor.sent - sent_before
        stats.finished_at = self.clock()
        await self.stats.record(self.sessionmaker, stats)
        await self.pool.evict_idle(idle_seconds=3 * self.tf_ms / 1000)
        log.info(
            "cycle %s: %d symbols, %d users, %d orders, %d errors, stages %s",
            stats.candle_time,
            stats.symbols,
            stats.users_processed,
            stats.orders_sent,
            stats.errors,
            stats.stage_seconds,
        )
        return stats

    def _predict(self, frame: Any) -> None:
        try:
            from core.strategy.ml_strategy import attach_predictions

            attach_predictions(frame, cast(Any, self.model))
        except Exception:
            log.exception("model inference failed; the ml strategy gives no signals this cycle")

    # ---------------------------------------------------------------- paper users
    async def _paper_stage(
        self,
        snap: Snapshot,
        cm: CycleMarket | MarketView | None,
        stats: CycleStats,
        now: datetime,
        *,
        entries: bool,
    ) -> None:
        if cm is None:
            return
        batch: list[UserWrites] = []
        failed: dict[int, str] = {}
        by_id: dict[int, UserRow] = {}
        writing: asyncio.Task[None] | None = None
        for n, user in enumerate(u for u in snap.users if u.mode == Mode.paper):
            stats.paper_users += 1
            try:
                if isinstance(cm, CycleMarket):
                    view = cm.view(user.strategies)
                    book = cm.book(user.strategies) if entries and user.may_enter else None
                else:
                    view, book = cm, None
                balances = snap.balances.get(user.id, {})
                quote = balances.get(self.quote)
                plan = plan_user(
                    user,
                    book,
                    snap.positions.get(user.id, []),
                    snap.orders.get(user.id, []),
                    quote.free if quote is not None else ZERO,
                    snap.realized_today.get(user.id, ZERO),
                    view,
                    self.policy,
                )
                if plan.intents or plan.state_updates or plan.daily_limit_notice or plan.unsendable_exits:
                    batch.append(self.paper.writes_for(user, plan, balances, view, now))
                    by_id[user.id] = user
                stats.users_processed += 1
            except Exception as exc:
                log.exception("paper user %s failed", user.id)
                failed[user.id] = f"{type(exc).__name__}"
                by_id[user.id] = user
            if len(batch) >= self.paper_batch:
                # one batch is written while the next is planned: SQLite works in its own thread
                if writing is not None:
                    await writing
                writing = asyncio.create_task(self._flush_paper(batch, stats, failed, now))
                batch = []
            if n % 100 == 99:
                await asyncio.sleep(0)  # let the write, live jobs and the bot move on
        if writing is not None:
            await writing
        await self._flush_paper(batch, stats, failed, now)
        for uid, what in failed.items():
            stats.user_failed(uid, what)
            await self._tell_failure(by_id[uid], what)

    async def _flush_paper(
        self, batch: list[UserWrites], stats: CycleStats, failed: dict[int, str], now: datetime
    ) -> None:
        if not batch:
            return
        with stats.stage("paper_write"):
            written, errors = await write_batch(self.sessionmaker, batch, now)
        stats.orders_sent += sum(w.orders_filled for w in written)
        failed.update(errors)

    async def _tell_failure(self, user: UserRow, what: str) -> None:
        """Tell the user their cycle failed: once per kind of failure and UTC day, not every candle."""
        day = self.clock().date().isoformat()
        try:
            async with self.sessionmaker() as session, session.begin():
                await notify(
                    session,
                    user_id=user.id,
                    chat_id=user.telegram_id,
                    language=user.language,
                    kind="cycle_error",
                    dedupe_key=f"cycle_error:{user.id}:{day}:{what}",
                    reason=what,
                )
        except Exception as exc:
            log.warning("could not tell user %s about a failure: %s", user.id, type(exc).__name__)

    # ---------------------------------------------------------------- live users
    def _user_lock(self, user_id: int) -> asyncio.Lock:
        lock = self._user_locks.get(user_id)
        if lock is None:
            lock = self._user_locks[user_id] = asyncio.Lock()
        return lock

    async def _live_stage(
        self,
        snap: Snapshot,
        markets: dict[str, CycleMarket] | dict[str, MarketView],
        stats: CycleStats,
        *,
        entries: bool,
    ) -> None:
        bound = asyncio.Semaphore(self.settings.user_concurrency)
        timeout = self.settings.user_timeout_seconds

        async def one(user: UserRow) -> None:
            account = snap.accounts.get(user.id)
            cm = markets.get(account.exchange) if account is not None else None
            if account is None or cm is None:
                return
            positions, orders = snap.positions.get(user.id, []), snap.orders.get(user.id, [])
            if not positions and not orders:
                book = cm.book(user.strategies) if entries and isinstance(cm, CycleMarket) else None
                if book is None or not user.may_enter or not wants_entries(book, positions, orders):
                    stats.users_processed += 1  # nothing to do: no client, no request
                    return
            stats.live_users += 1
            async with bound, self._user_lock(user.id):
                if isinstance(cm, CycleMarket):
                    view, book = cm.view(user.strategies), cm.book(user.strategies)
                else:
                    view, book = cm, None
                try:
                    await asyncio.wait_for(
                        self.live.run(
                            user,
                            account,
                            positions,
                            orders,
                            book,
                            view,
                            snap.realized_today.get(user.id, ZERO),
                            entries=entries,
                        ),
                        timeout,
                    )
                    stats.users_processed += 1
                except KeysInvalid as exc:
                    stats.user_failed(user.id, "exchange keys invalid")
                    await self.live.keys_invalid(user, account, f"the exchange refused the keys: {exc}"[:255])
                except TimeoutError:
                    stats.timeouts += 1
                    stats.user_failed(user.id, f"timed out after {timeout:.0f}s")
                    await self._tell_failure(user, "the exchange did not answer in time")
                except Exception as exc:
                    log.warning("live user %s failed: %s: %s", user.id, type(exc).__name__, exc)
                    stats.user_failed(user.id, f"{type(exc).__name__}")
                    await self._tell_failure(user, f"an error ({type(exc).__name__})")

        await asyncio.gather(*(one(u) for u in snap.users if u.mode == Mode.live))

    # ---------------------------------------------------------------- the position watch
    async def _tickers(self, exchange: str, symbols: list[str]) -> dict[str, Any]:
        """One public tickers request for the symbols held on `exchange` (with the stage's backoff)."""
        store = self.market.stores[exchange]
        client = store.client

        async def fetch() -> dict[str, Any]:
            result: dict[str, Any] = await client.fetch_tickers(symbols)
            return result

        return await store.backoff.call(client, fetch)

    async def watch_once(self, now: datetime | None = None) -> CycleStats | None:
        """Stops and targets from tickers between candle closes. Skipped while a cycle runs."""
        if self._busy.locked():
            return None
        async with self._busy:
            now = now or self.clock()
            stats = CycleStats(started_at=now)
            async with self.sessionmaker() as session:
                snap = await load_snapshot(session, now, self.exchanges)
            views: dict[str, MarketView] = {}
            bucket = int(now.timestamp() * 1000)
            for ex in self.exchanges:
                symbols = sorted({p.symbol for ps in snap.positions.values() for p in ps if p.exchange == ex})
                if not symbols:
                    continue
                tickers = await self._tickers(ex, symbols)
                prices: dict[str, Decimal] = {}
                for s, t in tickers.items():
                    last = t.get("last") if t.get("last") is not None else t.get("close")
                    if last is not None and last > 0:
                        prices[s] = dec(float(last))
                rules = rules_for(await self.market.registry.get(ex), symbols)
                views[ex] = MarketView(now, bucket, prices, rules)
            if not views:
                stats.finished_at = self.clock()
                self.last_watch = stats
                return stats
            stats.candle_time = bucket
            sent_before = self.executor.sent
            await _all_awaited(
                self._paper_stage(snap, views.get(self.primary), stats, now, entries=False),
                self._live_stage(snap, views, stats, entries=False),
            )
            stats.orders_sent += self.executor.sent - sent_before
            stats.finished_at = self.clock()
            self.last_watch = stats
            return stats


async def _all_awaited(*jobs: Awaitable[Any]) -> None:
    """Run the paper and live stages together; if one fails, the other still finishes inside the
    cycle lock before the error goes up (no job may outlive its cycle)."""
    results = await asyncio.gather(*jobs, return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException):
            raise result


def _build_views(cm: CycleMarket, groups: set[tuple[str, ...]]) -> None:
    """Signal books (strategies over the frame) for every strategy set in use: CPU work, in a thread."""
    for names in groups:
        cm.view(names)
