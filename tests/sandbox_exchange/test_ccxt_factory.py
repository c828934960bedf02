"""core.exchange.make_client: spot-only ccxt clients aimed at the sandbox, shared markets, no secret logs."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import ccxt.async_support as ccxt
import pytest

from core.exchange import make_client, share_markets
from tests.fixtures.exchange import ExchangeServer, binance_client

ROOT = Path(__file__).resolve().parents[2]


def test_every_api_url_points_at_the_sandbox_and_options_are_spot_only() -> None:
    client = make_client("binance", api_key="k", secret="s", api_url="http://127.0.0.1:9999/")
    try:
        urls = client.urls["api"]
        assert urls["public"] == "http://127.0.0.1:9999/api/v3"
        assert urls["sapi"] == "http://127.0.0.1:9999/sapi/v1"
        assert urls["fapiPublic"] == "http://127.0.0.1:9999/fapi/v1"
        assert all(u.startswith("http://127.0.0.1:9999/") for u in urls.values())
        assert client.options["defaultType"] == "spot"
        assert client.options["fetchMarkets"]["types"] == ["spot"]
        assert client.options["fetchCurrencies"] is False and client.enableRateLimit is True
    finally:
        import asyncio

        asyncio.run(client.close())


def test_api_url_is_refused_for_other_dialects_and_unknown_ids() -> None:
    with pytest.raises(ValueError, match="Binance-dialect"):
        make_client("kraken", api_url="http://127.0.0.1:1")
    with pytest.raises(ValueError, match="unknown exchange"):
        make_client("no-such-exchange")


async def test_without_api_url_the_real_hosts_stay() -> None:
    client = make_client("binance")
    try:
        assert client.urls["api"]["public"] == "https://api.binance.com/api/v3"
    finally:
        await client.close()


async def test_share_markets_from_a_client_or_a_dict(exchange_server: ExchangeServer) -> None:
    loader = binance_client(exchange_server)
    markets = await loader.load_markets()
    shared = binance_client(exchange_server, markets=loader)
    from_dict = binance_client(exchange_server, markets=markets)
    try:
        assert shared.markets is loader.markets  # no copy per client
        assert from_dict.market("BTC/USDT")["id"] == "BTCUSDT"
        before = (await exchange_server.stats())["requests"].get("GET /api/v3/exchangeInfo", 0)
        assert (await shared.fetch_ticker("BTC/USDT"))["symbol"] == "BTC/USDT"
        assert await from_dict.fetch_ohlcv("BTC/USDT", "5m", limit=2)
        after = (await exchange_server.stats())["requests"].get("GET /api/v3/exchangeInfo", 0)
        assert after == before  # neither client loaded markets again
        empty = make_client("binance")
        with pytest.raises(ValueError, match="not loaded"):
            share_markets(shared, empty)
        await empty.close()
    finally:
        for c in (loader, shared, from_dict):
            await c.close()


async def test_secret_never_appears_in_logs_or_errors(
    exchange_server: ExchangeServer, caplog: pytest.LogCaptureFixture
) -> None:
    secret = "very-secret-value-123"
    caplog.set_level(logging.DEBUG)
    client = binance_client(exchange_server, "ghost", secret)
    try:
        with pytest.raises(ccxt.AuthenticationError) as caught:
            await client.fetch_balance()
        assert secret not in str(caught.value)
    finally:
        await client.close()
    assert secret not in caplog.text


async def test_keys_handed_to_a_client_are_redacted_from_logs(caplog: pytest.LogCaptureFixture) -> None:
    api_key, secret = f"factoryKEY{os.urandom(6).hex()}", f"factorySECRET{os.urandom(8).hex()}"
    caplog.set_level(logging.INFO)
    client = make_client("binance", api_key=api_key, secret=secret)
    try:
        logging.getLogger("tradebot.test").warning("careless: %s / %s", api_key, secret)
    finally:
        await client.close()
    assert "careless: [REDACTED] / [REDACTED]" in caplog.text
    assert api_key not in caplog.text and secret not in caplog.text


def test_command_line_server_answers(tmp_path: Path) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sandbox.exchange",
            "--port",
            str(port),
            "--symbols",
            "5",
            "--seed",
            "3",
            "--speed",
            "0",
        ],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                with urllib.request.urlopen(
                    f"http://127.0.0.1:{port}/api/v3/exchangeInfo", timeout=2
                ) as resp:
                    import json

                    assert len(json.load(resp)["symbols"]) == 5
                    break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise
                time.sleep(0.2)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    assert proc.returncode == 0
