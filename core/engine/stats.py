"""A cycle's timings and counters: kept in memory for /stats and stored as a CycleRun row."""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.db.models import CycleRun
from core.engine.ledger import ms_to_dt

log = logging.getLogger(__name__)


@dataclass
class CycleStats:
    started_at: datetime
    finished_at: datetime | None = None
    candle_time: int | None = None  # ms, open time of the candle the signals were taken on
    stage_seconds: dict[str, float] = field(default_factory=dict)
    symbols: int = 0
    users_processed: int = 0
    paper_users: int = 0
    live_users: int = 0
    orders_sent: int = 0
    errors: int = 0
    timeouts: int = 0
    user_errors: dict[int, str] = field(default_factory=dict)  # user id -> what went wrong (capped)

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self.stage_seconds[name] = round(self.stage_seconds.get(name, 0.0) + time.perf_counter() - t0, 6)

    def user_failed(self, user_id: int, what: str, cap: int = 100) -> None:
        self.errors += 1
        if len(self.user_errors) < cap:
            self.user_errors[user_id] = what[:300]

    @property
    def total_seconds(self) -> float:
        if self.finished_at is None:
            return 0.0
        return (self.finished_at - self.started_at).total_seconds()


class StatsKeeper:
    """The last cycles in memory, each also written to cycle_runs."""

    def __init__(self, keep: int = 100, slow_seconds: float = 30.0) -> None:
        self.recent: deque[CycleStats] = deque(maxlen=keep)
        self.slow_seconds = slow_seconds

    @property
    def last(self) -> CycleStats | None:
        return self.recent[-1] if self.recent else None

    async def record(self, sessionmaker: async_sessionmaker[AsyncSession], stats: CycleStats) -> None:
        self.recent.append(stats)
        if stats.total_seconds >= self.slow_seconds:
            log.warning("slow cycle: %.1fs, stages %s", stats.total_seconds, stats.stage_seconds)
        try:
            async with sessionmaker() as session, session.begin():
                session.add(
                    CycleRun(
                        started_at=stats.started_at,
                        finished_at=stats.finished_at,
                        candle_time=ms_to_dt(stats.candle_time) if stats.candle_time is not None else None,
                        stage_seconds=dict(stats.stage_seconds),
                        symbols=stats.symbols,
                        users_processed=stats.users_processed,
                        orders_sent=stats.orders_sent,
                        errors=stats.errors,
                    )
                )
        except Exception as exc:  # statistics must never fail a cycle
            log.warning("cycle stats not stored: %s", exc)
