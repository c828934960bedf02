"""Live exchange clients: one ccxt async client per exchange account, made lazily from the vault.

Keys are decrypted only to build the client (plaintext lives in that client's memory, nowhere else);
the client gets its exchange's shared markets (no load_markets per user). A key change (new key
version or a newer `updated_at`) replaces the client; `close_all` closes every one on shutdown.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.db.models import ExchangeAccount
from core.engine.snapshot import AccountRow
from core.vault import KeyVault

log = logging.getLogger(__name__)

ClientMaker = Callable[..., Any]
MarketsAttacher = Callable[[Any], Awaitable[Any]]


@dataclass
class _Entry:
    client: Any
    stamp: tuple[int, datetime]
    used: float = 0.0  # monotonic time of the last get()


class ClientPool:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        vault: KeyVault,
        make_client: ClientMaker,
        attach_markets: MarketsAttacher,
        *,
        api_url: str | None = None,
        timeout_ms: int | None = None,
    ) -> None:
        self._sm = sessionmaker
        self._vault = vault
        self._make = make_client
        self._attach = attach_markets
        self._api_url = api_url
        self._timeout_ms = timeout_ms
        self._clients: dict[int, _Entry] = {}
        self._locks: dict[int, asyncio.Lock] = {}

    def __len__(self) -> int:
        return len(self._clients)

    async def get(self, account: AccountRow) -> Any:
        stamp = (account.key_version, account.updated_at)
        async with self._locks.setdefault(account.id, asyncio.Lock()):
            entry = self._clients.get(account.id)
            if entry is not None and entry.stamp == stamp:
                await self._attach(entry.client)  # cheap: picks up an hourly markets reload
                entry.used = time.monotonic()
                return entry.client
            if entry is not None:
                log.info("exchange account %s: keys changed, new client", account.id)
                await self._close(entry.client)
                del self._clients[account.id]
            client = await self._build(account.id)
            await self._attach(client)
            self._clients[account.id] = _Entry(client, stamp, time.monotonic())
            return client

    async def _build(self, account_id: int) -> Any:
        async with self._sm() as session:
            row = await session.get(ExchangeAccount, account_id)
            if row is None:
                raise LookupError(f"exchange account {account_id} is gone")

            def field(name: str, blob: bytes | None) -> str | None:
                if blob is None:
                    return None
                return self._vault.decrypt(
                    blob, version=row.key_version, user_id=row.user_id, exchange=row.exchange, field=name
                )

            kwargs: dict[str, Any] = {
                "api_key": field("api_key", row.api_key_enc),
                "secret": field("secret", row.secret_enc),
                "password": field("passphrase", row.passphrase_enc),
                "api_url": self._api_url,
            }
            if self._timeout_ms is not None:
                kwargs["timeout_ms"] = self._timeout_ms
            return self._make(row.exchange, **kwargs)

    async def evict_idle(self, idle_seconds: float) -> int:
        """Close clients nobody used for `idle_seconds` (a ccxt client is heavy; idle users need none)."""
        cutoff = time.monotonic() - idle_seconds
        stale = [aid for aid, e in self._clients.items() if e.used < cutoff and not self._busy(aid)]
        for aid in stale:
            await self.drop(aid)
        return len(stale)

    def _busy(self, account_id: int) -> bool:
        lock = self._locks.get(account_id)
        return lock is not None and lock.locked()

    async def drop(self, account_id: int) -> None:
        entry = self._clients.pop(account_id, None)
        if entry is not None:
            await self._close(entry.client)

    async def close_all(self) -> None:
        entries, self._clients = list(self._clients.values()), {}
        for entry in entries:
            await self._close(entry.client)

    @staticmethod
    async def _close(client: Any) -> None:
        try:
            await client.close()
        except Exception as exc:  # closing must never stop a shutdown
            log.warning("closing an exchange client failed: %s", type(exc).__name__)
