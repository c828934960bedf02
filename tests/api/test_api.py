"""The read-only HTTP API over a real aiohttp server (port 0) on a real SQLite file, with a real
aiohttp client: keys, isolation between users, admin stats, exact money strings, no key in logs."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from datetime import timedelta
from decimal import Decimal
from typing import Any
from uuid import uuid4

import aiohttp
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.api import ApiServer, build_api, money, start_api
from core.config import load_settings
from core.db.models import ApiKey, CycleRun, Mode, ModelVersion, Order, OrderStatus, Position, User
from core.db.types import utcnow
from core.services import api_keys

ADMIN, ALICE, BOB = 500, 501, 502


@pytest.fixture
async def api(sessionmaker: async_sessionmaker[AsyncSession]) -> AsyncIterator[ApiServer]:
    settings = load_settings(admin_ids=[ADMIN])
    server = await start_api(build_api(sessionmaker, settings), "127.0.0.1", 0)
    yield server
    await server.stop()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def _user(sm: async_sessionmaker[AsyncSession], telegram_id: int, **fields: Any) -> tuple[User, str]:
    async with sm() as s, s.begin():
        user = User(telegram_id=telegram_id, **fields)
        s.add(user)
        await s.flush()
        key = await api_keys.create(s, user, "test")
    return user, key


def _position(user: User, symbol: str, amount: str, entry: str, stop: str | None) -> Position:
    return Position(
        user_id=user.id,
        mode=Mode.paper,
        exchange="binance",
        symbol=symbol,
        amount=Decimal(amount),
        initial_amount=Decimal(amount),
        entry_price=Decimal(entry),
        stop_price=Decimal(stop) if stop is not None else None,
        targets=[{"price": "1.5", "fraction": "0.5", "done": False}],
    )


async def _get(
    http: aiohttp.ClientSession, api: ApiServer, path: str, key: str | None = None
) -> tuple[int, Any]:
    headers = {"Authorization": f"Bearer {key}"} if key is not None else {}
    async with http.get(f"{api.url}{path}", headers=headers) as resp:
        assert resp.content_type == "application/json"
        return resp.status, await resp.json()


async def test_health_needs_no_key(api: ApiServer, http: aiohttp.ClientSession, sessionmaker: Any) -> None:
    status, body = await _get(http, api, "/api/v1/health")
    assert (status, body) == (200, {"ok": True, "last_cycle": None})
    finished = utcnow().replace(microsecond=0)
    async with sessionmaker() as s, s.begin():
        s.add(CycleRun(started_at=finished - timedelta(seconds=3), finished_at=finished))
    status, body = await _get(http, api, "/api/v1/health")
    assert status == 200 and body["last_cycle"] == finished.isoformat()
    assert body["last_cycle"].endswith("+00:00")


async def test_key_works_and_is_stored_only_hashed(
    api: ApiServer,
    http: aiohttp.ClientSession,
    sessionmaker: async_sessionmaker[AsyncSession],
    db_url: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    user, key = await _user(
        sessionmaker,
        ALICE,
        deposit=Decimal("1234.5678"),
        trading_enabled=True,
        risk_per_trade_pct=Decimal("0.75"),
    )
    assert api_keys.KEY_RE.fullmatch(key) and len(key) == 3 + 8 + 1 + 32
    status, body = await _get(http, api, "/api/v1/me", key)
    assert status == 200
    assert body["telegram_id"] == ALICE and body["mode"] == "paper" and body["trading"] is True
    assert body["deposit"] == "1234.5678" and body["risk"]["risk_per_trade_pct"] == "0.75"
    assert body["open_positions"] == 0 and body["realized_today"] == "0"
    logging.getLogger("tradebot.test").debug("request with %s", key)  # even a careless log line
    async with sessionmaker() as s:
        row = (await s.scalars(select(ApiKey))).one()
        dump = [str(v) for r in (await s.execute(text("SELECT * FROM api_keys"))).all() for v in r]
    assert row.last_used_at is not None and row.user_id == user.id
    assert row.key_hash == api_keys.key_hash(key) and row.prefix == key[3:11]
    assert not any(key in v for v in dump)
    assert key not in caplog.text and "[REDACTED]" in caplog.text
    with open(db_url.removeprefix("sqlite+aiosqlite:///"), "rb") as f:
        assert key.encode() not in f.read()


async def test_missing_wrong_and_revoked_keys_get_401(
    api: ApiServer, http: aiohttp.ClientSession, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    _, key = await _user(sessionmaker, ALICE)
    wrong = key[:-4] + ("AAAA" if not key.endswith("AAAA") else "BBBB")
    for presented in (None, "", "garbage", wrong):
        for path in ("/api/v1/me", "/api/v1/positions", "/api/v1/stats"):
            status, body = await _get(http, api, path, presented)
            assert status == 401 and "error" in body
            assert wrong not in str(body)
    async with http.get(f"{api.url}/api/v1/me", headers={"Authorization": f"Basic {key}"}) as resp:
        assert resp.status == 401 and key not in await resp.text()
    async with sessionmaker() as s, s.begin():
        assert await api_keys.revoke(s, key[3:11])
        assert not await api_keys.revoke(s, key[3:11])  # already revoked
    status, body = await _get(http, api, "/api/v1/me", key)
    assert status == 401 and key not in str(body)


async def test_users_see_only_their_own_positions(
    api: ApiServer, http: aiohttp.ClientSession, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    alice, alice_key = await _user(sessionmaker, ALICE)
    bob, bob_key = await _user(sessionmaker, BOB)
    async with sessionmaker() as s, s.begin():
        s.add(_position(alice, "BTC/USDT", "0.00012345", "43210.123456789", "41000"))
        s.add(_position(bob, "ETH/USDT", "2", "2500", None))
        s.add(_position(bob, "SOL/USDT", "10", "100", "90"))
    _, a = await _get(http, api, "/api/v1/positions", alice_key)
    _, b = await _get(http, api, "/api/v1/positions", bob_key)
    assert [p["symbol"] for p in a["positions"]] == ["BTC/USDT"]
    assert sorted(p["symbol"] for p in b["positions"]) == ["ETH/USDT", "SOL/USDT"]
    btc = a["positions"][0]
    assert btc["amount"] == "0.00012345" and btc["entry_price"] == "43210.123456789"
    assert btc["stop_price"] == "41000" and btc["targets"][0]["price"] == "1.5"
    assert btc["opened_at"].endswith("+00:00")
    eth = next(p for p in b["positions"] if p["symbol"] == "ETH/USDT")
    assert eth["stop_price"] is None
    _, me = await _get(http, api, "/api/v1/me", bob_key)
    assert me["open_positions"] == 2


async def test_stats_for_admins_only(
    api: ApiServer, http: aiohttp.ClientSession, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    _, user_key = await _user(sessionmaker, ALICE)
    admin, admin_key = await _user(sessionmaker, ADMIN)
    status, body = await _get(http, api, "/api/v1/stats", user_key)
    assert status == 403 and "error" in body
    now = utcnow()
    async with sessionmaker() as s, s.begin():
        s.add(
            CycleRun(
                started_at=now - timedelta(seconds=10),
                finished_at=now - timedelta(seconds=6),
                stage_seconds={"market": 1.5, "strategies": 0.25},
                symbols=120,
                users_processed=7,
                orders_sent=3,
                errors=2,
            )
        )
        s.add(ModelVersion(version="v7", path="/m/v7", kind="torch", active=True))
        for i, st_ in enumerate([OrderStatus.closed, OrderStatus.closed, OrderStatus.rejected]):
            s.add(
                Order(
                    user_id=admin.id,
                    mode=Mode.paper,
                    exchange="binance",
                    client_order_id=str(uuid4()),
                    symbol="BTC/USDT",
                    side="buy",
                    leg=f"entry{i}",
                    amount=Decimal("0.1"),
                    status=st_,
                )
            )
    status, body = await _get(http, api, "/api/v1/stats", admin_key)
    assert status == 200
    assert body["cycles_today"] >= 1  # the cycle may straddle midnight only in theory: 10 s ago
    assert body["orders_today"] == 3 and body["rejected_today"] == 1
    assert body["cycle_errors_today"] == 2 and body["model_version"] == "v7"
    assert body["avg_cycle_seconds"] == pytest.approx(4.0)
    assert body["stage_seconds"] == {"market": 1.5, "strategies": 0.25}
    last = body["last_cycle"]
    assert (last["symbols"], last["users_processed"], last["orders_sent"], last["errors"]) == (120, 7, 3, 2)


async def test_unknown_path_and_method_are_json(api: ApiServer, http: aiohttp.ClientSession) -> None:
    status, body = await _get(http, api, "/api/v1/nope")
    assert status == 404 and "error" in body
    async with http.post(f"{api.url}/api/v1/me") as resp:
        assert resp.status == 405 and "error" in await resp.json()


@given(st.decimals(allow_nan=False, allow_infinity=False))
def test_money_strings_round_trip_exactly(value: Decimal) -> None:
    out = money(value)
    assert out is not None and "E" not in out.upper()
    assert Decimal(out) == value


async def test_decimals_round_trip_through_the_api(
    api: ApiServer, http: aiohttp.ClientSession, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    values = ["0.000000000000000001", "12345678901234567890.123456789012345678", "1E+3", "0.10"]
    user, key = await _user(sessionmaker, ALICE)
    async with sessionmaker() as s, s.begin():
        for i, v in enumerate(values):
            s.add(_position(user, f"X{i}/USDT", v, v, v))
    _, body = await _get(http, api, "/api/v1/positions", key)
    got = {p["symbol"]: p for p in body["positions"]}
    for i, v in enumerate(values):
        p = got[f"X{i}/USDT"]
        for field in ("amount", "entry_price", "stop_price"):
            assert isinstance(p[field], str) and Decimal(p[field]) == Decimal(v)
            assert p[field] == format(Decimal(v), "f")  # digits kept as stored ("0.10"), no exponent
