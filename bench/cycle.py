"""The trading cycle at scale: 100, 1,000 and 10,000 paper users over 200 sandbox symbols.

    .venv/bin/python bench/cycle.py [--users 100,1000,10000] [--symbols 200] [--entries 3]

For each user count, on a fresh SQLite file and the in-process sandbox exchange (real ccxt over HTTP):
1. a warm-up cycle without users (candle history, JIT), then N paper users are created;
2. a busy cycle: the signal book enters `--entries` symbols, so every user places that many orders;
3. an idle cycle: no signals, every user is loaded, planned and left alone.
Printed: market stage time, user stage time (snapshot + signals + users), candle close to last order,
per-user marginal cost between user counts, and RSS growth per user (peak during the idle cycle, and
what the process keeps after it).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import logging
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from functools import partial
from pathlib import Path

import psutil
from sqlalchemy import select

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.config import load_settings
from core.db.models import Base, Mode, PaperBalance, User
from core.db.session import make_engine, make_sessionmaker
from core.engine.app import Engine
from core.engine.bulk import table
from core.engine.stats import CycleStats
from core.exchange.ccxt_factory import make_client
from core.market.stage import build_stage
from core.strategy.book import BlacklistRule, Signal, SignalBook, signal_id
from core.strategy.frame import MarketFrame
from sandbox.exchange.server import ExchangeSandbox

MASTER = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="


class Book:
    """A signal book entering `entries` symbols per candle (rotating), or none when idle."""

    def __init__(self, entries: int) -> None:
        self.entries = entries
        self.idle = False

    def __call__(
        self, frame: MarketFrame, names: tuple[str, ...], blacklist: Sequence[BlacklistRule], now: datetime
    ) -> SignalBook:
        t = int(frame.times[-1])
        if self.idle or not frame.n_symbols:
            return SignalBook(t, ())
        start = (t // frame.timeframe_ms * self.entries) % frame.n_symbols
        picks = [frame.symbols[(start + i) % frame.n_symbols] for i in range(self.entries)]
        return SignalBook(
            t, tuple(Signal(s, "enter", "long", 1.0, ("bench",), t, signal_id("bench", s, t)) for s in picks)
        )


class PeakRss:
    """Samples the process RSS in a thread (the event loop is busy during a cycle)."""

    def __init__(self) -> None:
        self.proc = psutil.Process()
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.proc.memory_info().rss)
            time.sleep(0.002)

    def __enter__(self) -> PeakRss:
        self.peak = self.proc.memory_info().rss
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


@dataclass
class Result:
    users: int
    busy: CycleStats
    idle: CycleStats
    busy_cpu: float
    idle_cpu: float
    idle_peak_per_user: float
    kept_per_user: float


def user_stage(stats: CycleStats) -> float:
    return sum(stats.stage_seconds.get(k, 0.0) for k in ("snapshot", "signals", "users"))


async def add_users(sm, n: int) -> None:  # type: ignore[no-untyped-def]
    async with sm() as session, session.begin():
        start = (await session.scalar(select(User.id).order_by(User.id.desc()).limit(1))) or 0
        users = [
            {
                "id": start + i + 1,
                "telegram_id": 10_000_000 + start + i,
                "mode": Mode.paper,
                "trading_enabled": True,
                "deposit": Decimal(1000),
                "risk_per_trade_pct": Decimal(1),
                "max_symbol_share_pct": Decimal(25),
                "daily_loss_limit_pct": Decimal(5),
                "max_open_positions": 50,
                "strategies": ["sma_cross"],
                "language": "en",
                "exits_only": False,
                "is_active": True,
            }
            for i in range(n)
        ]
        await session.execute(table(User).insert(), users)
        await session.execute(
            table(PaperBalance).insert(),
            [
                {"user_id": u["id"], "currency": "USDT", "free": Decimal(10000), "used": Decimal(0)}
                for u in users
            ],
        )


async def run_one(sandbox: ExchangeSandbox, url: str, n: int, entries: int, workdir: Path) -> Result:
    db_url = f"sqlite+aiosqlite:///{workdir / f'bench-{n}.sqlite3'}"
    db = make_engine(db_url)
    async with db.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    sm = make_sessionmaker(db)
    settings = load_settings(exchange_api_url=url, master_keys=MASTER, timeframe="5m", database_url=db_url)
    from core.vault import KeyVault

    book = Book(entries)
    stage = build_stage({"binance": make_client("binance", api_url=url, rate_limit=False)})
    engine = Engine(
        settings,
        sm,
        KeyVault(settings.master_key_list()),
        stage,
        book,
        make_client=partial(make_client, rate_limit=False),
        history=200,
    )
    try:
        await engine.run_cycle_once()  # warm-up: history, JIT
        await add_users(sm, n)
        proc = psutil.Process()
        before = proc.memory_info().rss
        sandbox.state.clock.advance(300_000)
        cpu = time.process_time()
        busy = await engine.run_cycle_once()
        busy_cpu = time.process_time() - cpu
        book.idle = True
        sandbox.state.clock.advance(300_000)
        idle_before = proc.memory_info().rss
        cpu = time.process_time()
        with PeakRss() as peak:
            idle = await engine.run_cycle_once()
        idle_cpu = time.process_time() - cpu
        after = proc.memory_info().rss
        return Result(n, busy, idle, busy_cpu, idle_cpu, (peak.peak - idle_before) / n, (after - before) / n)
    finally:
        await engine.stop()
        await db.dispose()


def fmt_stats(s: CycleStats) -> str:
    st = s.stage_seconds
    return (
        f"market {st.get('market', 0):.3f}s  snapshot {st.get('snapshot', 0):.3f}s  "
        f"signals {st.get('signals', 0):.3f}s  users {st.get('users', 0):.3f}s "
        f"(paper writes {st.get('paper_write', 0):.3f}s)  "
        f"total {s.total_seconds:.3f}s  orders {s.orders_sent}  errors {s.errors}"
    )


async def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--users", default="100,1000,10000")
    parser.add_argument("--symbols", type=int, default=200)
    parser.add_argument("--entries", type=int, default=3, help="symbols every user enters in the busy cycle")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    counts = [int(x) for x in args.users.split(",")]
    sandbox = ExchangeSandbox(n_symbols=args.symbols, seed=7, speed=0, weight_limit=10**9)
    url = await sandbox.start()
    results: list[Result] = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for n in counts:
                r = await run_one(sandbox, url, n, args.entries, Path(tmp))
                results.append(r)
                print(f"\n{n} paper users, {r.busy.symbols} symbols")
                print(f"  busy cycle: {fmt_stats(r.busy)}  cpu {r.busy_cpu:.3f}s")
                print(f"  idle cycle: {fmt_stats(r.idle)}  cpu {r.idle_cpu:.3f}s")
                print(
                    f"  market stage {r.busy.stage_seconds.get('market', 0):.3f}s | user stage "
                    f"{user_stage(r.busy):.3f}s | candle close -> last order {r.busy.total_seconds:.3f}s"
                )
                print(
                    f"  RSS per user: {r.idle_peak_per_user / 1024:.1f} KB extra at the idle cycle's peak, "
                    f"{r.kept_per_user / 1024:.1f} KB kept from before the users to after both cycles"
                )
    finally:
        await sandbox.stop()
    print("\nper-user marginal cost (user stage, between consecutive user counts):")
    for a, b in itertools.pairwise(results):
        busy = (user_stage(b.busy) - user_stage(a.busy)) / (b.users - a.users)
        idle = (user_stage(b.idle) - user_stage(a.idle)) / (b.users - a.users)
        cpu_busy = (b.busy_cpu - a.busy_cpu) / (b.users - a.users)
        print(
            f"  {a.users:>6} -> {b.users:<6}: busy {busy * 1e6:8.1f} us/user (cpu {cpu_busy * 1e6:.1f})"
            f"   idle {idle * 1e6:8.1f} us/user"
        )
    markets = [r.busy.stage_seconds.get("market", 0) for r in results]
    print(f"market stage across user counts: {', '.join(f'{m:.3f}s' for m in markets)}")
    print(
        f"load average at the end: {', '.join(f'{x:.1f}' for x in psutil.getloadavg())} "
        f"on {psutil.cpu_count()} cores"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
