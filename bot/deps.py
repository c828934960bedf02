"""What every handler may use, injected by DepsMiddleware as `deps`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.pacing import Pacer
from core.config import Settings
from core.services.exchanges import ClientFactory
from core.services.positions import PositionCloser
from core.services.prices import PriceSource
from core.vault import KeyVault

# Starts a retraining run and returns a short description (a version or a job id) for the admin.
RetrainStarter = Callable[[], Awaitable[str]]


@dataclass
class BotDeps:
    settings: Settings
    sessionmaker: async_sessionmaker[AsyncSession]
    vault: KeyVault
    client_factory: ClientFactory
    prices: PriceSource
    closer: PositionCloser
    strategies: tuple[str, ...]
    pacer: Pacer
    retrain: RetrainStarter | None = None
    admin_ids: frozenset[int] = field(default_factory=frozenset)

    @property
    def quote(self) -> str:
        return self.settings.quote_currency
