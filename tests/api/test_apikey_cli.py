"""`run_bot.py apikey create/revoke` as a subprocess on a real SQLite file; the key it prints works
against the real API until revoked."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import aiohttp
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.api import build_api, start_api
from core.config import load_settings
from core.db.models import ApiKey, User
from core.services import api_keys

ROOT = Path(__file__).resolve().parents[2]


def _cli(args: list[str], db_url: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in {"MASTER_KEYS", "API_PORT"}}
    env["DATABASE_URL"] = db_url
    return subprocess.run(
        [sys.executable, str(ROOT / "run_bot.py"), "apikey", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=120,
    )


async def test_create_use_revoke(sessionmaker: async_sessionmaker[AsyncSession], db_url: str) -> None:
    async with sessionmaker() as s, s.begin():
        s.add(User(telegram_id=777))
    missing = await asyncio.to_thread(_cli, ["create", "--telegram-id", "778"], db_url)
    assert missing.returncode == 1 and "no user with Telegram id 778" in missing.stderr

    created = await asyncio.to_thread(_cli, ["create", "--telegram-id", "777", "--name", "grafana"], db_url)
    assert created.returncode == 0, created.stderr
    key = created.stdout.strip().splitlines()[-1]
    assert api_keys.KEY_RE.fullmatch(key)
    async with sessionmaker() as s:
        row = (await s.scalars(select(ApiKey))).one()
    assert row.name == "grafana" and row.prefix == key[3:11] and row.key_hash != key

    server = await start_api(build_api(sessionmaker, load_settings()), "127.0.0.1", 0)
    try:
        async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {key}"}) as http:
            async with http.get(f"{server.url}/api/v1/me") as resp:
                assert resp.status == 200 and (await resp.json())["telegram_id"] == 777
            revoked = await asyncio.to_thread(_cli, ["revoke", row.prefix], db_url)
            assert revoked.returncode == 0 and row.prefix in revoked.stdout
            assert key not in revoked.stdout + revoked.stderr
            async with http.get(f"{server.url}/api/v1/me") as resp:
                assert resp.status == 401
    finally:
        await server.stop()
    again = await asyncio.to_thread(_cli, ["revoke", row.prefix], db_url)
    assert again.returncode == 1 and "no live key" in again.stderr


def test_apikey_commands_have_help() -> None:
    for command in (["--help"], ["create", "--help"], ["revoke", "--help"]):
        res = _cli(command, "sqlite+aiosqlite:///unused.sqlite3")
        assert res.returncode == 0 and res.stdout.startswith("usage: run_bot.py apikey"), res.stderr
