"""The exchanges a user can connect, and how the bot gets a ccxt client for them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True)
class ExchangeInfo:
    id: str  # ccxt id
    label: str
    needs_passphrase: bool


EXCHANGES: dict[str, ExchangeInfo] = {
    e.id: e
    for e in (
        ExchangeInfo("binance", "Binance", False),
        ExchangeInfo("bybit", "Bybit", False),
        ExchangeInfo("okx", "OKX", True),
        ExchangeInfo("mexc", "MEXC", False),
    )
}


class ClientFactory(Protocol):
    """core/exchange/ccxt_factory.make_client's shape: an async ccxt client the caller must close."""

    def __call__(
        self,
        exchange_id: str,
        *,
        api_key: str | None = ...,
        secret: str | None = ...,
        password: str | None = ...,
        api_url: str | None = ...,
    ) -> Any: ...


def default_client_factory() -> ClientFactory:
    from core.exchange.ccxt_factory import make_client

    return make_client  # type: ignore[no-any-return]
