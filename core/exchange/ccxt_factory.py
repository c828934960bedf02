"""The one place core builds ccxt clients: async, spot only, rate-limited, optionally pointed at a sandbox.

`make_client("binance", api_url=EXCHANGE_API_URL)` points every `urls['api']` entry of a Binance-dialect
client at that base URL (the sandbox exchange serves /api/v3, /sapi/v1, /fapi/v1 ... under one host).
Keys are handed to ccxt and never logged or put into an exception message here.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import ccxt.async_support as ccxt_async

from core.vault import REDACTOR

BINANCE_DIALECT = frozenset({"binance", "binanceus"})
SPOT_OPTIONS: dict[str, Any] = {
    "defaultType": "spot",
    "fetchMarkets": {"types": ["spot"]},  # ccxt 4.5: no futures/options exchangeInfo calls
    "fetchMargins": False,  # no /sapi margin pair look-ups while loading markets
    "fetchCurrencies": False,  # /sapi/v1/capital/config/getall is signed and not needed for spot trading
}


def _rebase(url: str, base: str) -> str:
    """Keep the path of a ccxt API URL (e.g. /api/v3) and put it under `base`."""
    return base.rstrip("/") + urlsplit(url).path


def make_client(
    exchange_id: str,
    *,
    api_key: str | None = None,
    secret: str | None = None,
    password: str | None = None,
    api_url: str | None = None,
    markets: Any = None,
    timeout_ms: int | None = None,
    rate_limit: bool = True,
) -> ccxt_async.Exchange:
    """A ccxt async client limited to spot. Close it with `await client.close()`.

    `rate_limit=False` turns off ccxt's own throttle (tests and benchmarks against the sandbox, which
    enforces Binance's weight budget itself)."""
    cls = getattr(ccxt_async, exchange_id, None)
    if cls is None or not isinstance(cls, type):
        raise ValueError(f"unknown exchange {exchange_id!r}")
    REDACTOR.remember(api_key, secret, password)  # whoever passes them in, they never reach a log line
    config: dict[str, Any] = {"enableRateLimit": rate_limit, "options": dict(SPOT_OPTIONS)}
    if api_key is not None:
        config["apiKey"] = api_key
    if secret is not None:
        config["secret"] = secret
    if password is not None:
        config["password"] = password
    if timeout_ms is not None:
        config["timeout"] = timeout_ms
    client: ccxt_async.Exchange = cls(config)
    if api_url:
        if exchange_id not in BINANCE_DIALECT:
            raise ValueError(f"api_url is only supported for Binance-dialect exchanges, not {exchange_id!r}")
        api_urls = client.urls["api"]
        client.urls["api"] = {
            name: _rebase(url, api_url) if isinstance(url, str) else url for name, url in api_urls.items()
        }
        _apply_spot_exceptions(client)
    if markets is not None:
        share_markets(client, markets)
    return client


def _apply_spot_exceptions(client: ccxt_async.Exchange) -> None:
    """ccxt picks Binance's spot-only error codes by URL host (https://api.binance.com/); on another host it
    would skip them (e.g. -1131 would become a bare ExchangeError), so merge them into the general tables."""
    spot = client.exceptions.get("spot")
    if not isinstance(spot, dict):
        return
    client.exceptions = {
        **client.exceptions,
        "exact": {**client.exceptions.get("exact", {}), **spot.get("exact", {})},
        "broad": {**client.exceptions.get("broad", {}), **spot.get("broad", {})},
    }


def share_markets(client: ccxt_async.Exchange, markets: Any) -> None:
    """Give `client` already-loaded markets: another client (shares its tables, no copy) or a markets dict."""
    if isinstance(markets, ccxt_async.Exchange):
        source = markets
        if not source.markets:
            raise ValueError("the source client has not loaded its markets")
        for attr in (
            "markets",
            "markets_by_id",
            "symbols",
            "ids",
            "currencies",
            "currencies_by_id",
            "codes",
            "baseCurrencies",
            "quoteCurrencies",
        ):
            setattr(client, attr, getattr(source, attr))
        return
    client.set_markets(markets)
