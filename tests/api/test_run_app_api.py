"""`run_app` starts the API next to the bot when API_PORT is set and stops it on shutdown (real
sandbox Telegram and exchange servers, a migrated SQLite file)."""

from __future__ import annotations

import asyncio
import base64
import os
import socket
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from core.config import load_settings
from migrations import cli
from run_bot import run_app
from tests.fixtures.exchange import ExchangeServer
from tests.fixtures.telegram import TelegramServerHandle


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _idle(engine: Any) -> None:  # no cycles: this test is about the API's lifetime
    await asyncio.Event().wait()


async def test_api_lives_and_dies_with_the_bot(
    tmp_path: Path, telegram_server: TelegramServerHandle, exchange_server: ExchangeServer
) -> None:
    port = _free_port()
    settings = load_settings(
        telegram_bot_token=telegram_server.server.token,
        telegram_api_url=telegram_server.server.url,
        exchange_api_url=exchange_server.url,
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'bot.sqlite3'}",
        master_keys=base64.urlsafe_b64encode(os.urandom(32)).decode(),
        models_dir=tmp_path / "models",
        api_port=port,
    )
    await asyncio.to_thread(cli.upgrade, settings.database_url)
    stop = asyncio.Event()
    app = asyncio.create_task(
        run_app(settings, stop=stop, handle_signals=False, market_rate_limit=False, drive_cycles=_idle)
    )
    url = f"http://127.0.0.1:{port}/api/v1/health"
    try:
        async with aiohttp.ClientSession() as http:
            body = None
            for _ in range(200):
                assert not app.done(), app.exception()
                try:
                    async with http.get(url) as resp:
                        body = (resp.status, await resp.json())
                        break
                except aiohttp.ClientConnectionError:
                    await asyncio.sleep(0.05)
            assert body == (200, {"ok": True, "last_cycle": None})
            stop.set()
            assert await asyncio.wait_for(app, 30) == 0
            with pytest.raises(aiohttp.ClientConnectionError):
                async with http.get(url):
                    pass
    finally:
        stop.set()
        await asyncio.gather(app, return_exceptions=True)
