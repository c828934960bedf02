"""`keys rotate` re-encrypts rows under the current key, is safe twice and after an interruption;
`keys check` reports failures without secrets; a full round trip leaks no secret into any log."""

from __future__ import annotations

import asyncio
import base64
import logging
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core import key_rotation
from core.db.models import ExchangeAccount, User
from core.vault import KeyVault, mask

ROOT = Path(__file__).resolve().parents[2]
OLD, NEW = os.urandom(32), os.urandom(32)


def b64(key: bytes) -> str:
    return base64.urlsafe_b64encode(key).decode()


async def _seed(sm: async_sessionmaker[AsyncSession], vault: KeyVault, n: int) -> dict[int, tuple[str, str]]:
    plain: dict[int, tuple[str, str]] = {}
    async with sm() as s, s.begin():
        for i in range(n):
            user = User(telegram_id=10_000 + i)
            s.add(user)
            await s.flush()
            api_key, secret = f"APIKEY{i:04d}{os.urandom(8).hex()}", f"SECRET{i:04d}{os.urandom(16).hex()}"
            k = vault.encrypt(api_key, user_id=user.id, exchange="binance", field="api_key")
            sec = vault.encrypt(secret, user_id=user.id, exchange="binance", field="secret")
            s.add(
                ExchangeAccount(
                    user_id=user.id,
                    exchange="binance",
                    api_key_enc=k.ciphertext,
                    secret_enc=sec.ciphertext,
                    key_version=k.version,
                    api_key_masked=mask(api_key),
                )
            )
            plain[user.id] = (api_key, secret)
    return plain


async def _decrypt_all(sm: async_sessionmaker[AsyncSession], vault: KeyVault) -> dict[int, tuple[str, str]]:
    async with sm() as s:
        rows = (await s.scalars(select(ExchangeAccount))).all()
    out = {}
    for a in rows:
        assert a.key_version == vault.current_version
        out[a.user_id] = (
            vault.decrypt(
                a.api_key_enc, version=a.key_version, user_id=a.user_id, exchange=a.exchange, field="api_key"
            ),
            vault.decrypt(
                a.secret_enc, version=a.key_version, user_id=a.user_id, exchange=a.exchange, field="secret"
            ),
        )
    return out


def _cli(args: list[str], db_url: str, keys: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, MASTER_KEYS=keys, DATABASE_URL=db_url)
    return subprocess.run(
        [sys.executable, str(ROOT / "run_bot.py"), *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=120,
    )


async def test_cli_rotate_twice_then_check(
    sessionmaker: async_sessionmaker[AsyncSession], db_url: str
) -> None:
    plain = await _seed(sessionmaker, KeyVault([OLD]), 25)
    keys = f"{b64(NEW)},{b64(OLD)}"
    first = await asyncio.to_thread(_cli, ["keys", "rotate", "--batch-size", "7"], db_url, keys)
    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith("rotated 25 of 25 accounts")
    second = await asyncio.to_thread(_cli, ["keys", "rotate"], db_url, keys)
    assert second.stdout.startswith("rotated 0 of 0 accounts")
    # the old key can now be dropped
    check = await asyncio.to_thread(_cli, ["keys", "check"], db_url, b64(NEW))
    assert check.returncode == 0 and "25 accounts: 0 failures" in check.stdout
    assert await _decrypt_all(sessionmaker, KeyVault([NEW])) == plain
    for api_key, secret in plain.values():
        for out in (first, second, check):
            assert api_key not in out.stdout + out.stderr and secret not in out.stdout + out.stderr


async def test_killed_rotation_resumes(sessionmaker: async_sessionmaker[AsyncSession], db_url: str) -> None:
    n = 400
    plain = await _seed(sessionmaker, KeyVault([OLD]), n)
    vault = KeyVault([NEW, OLD])

    async def current_rows() -> int:
        async with sessionmaker() as s:
            return int(
                await s.scalar(
                    select(func.count()).where(ExchangeAccount.key_version == vault.current_version)
                )
                or 0
            )

    env = dict(os.environ, MASTER_KEYS=f"{b64(NEW)},{b64(OLD)}", DATABASE_URL=db_url)
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "run_bot.py"), "keys", "rotate", "--batch-size", "2"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        while await current_rows() == 0 and proc.poll() is None:
            await asyncio.sleep(0.005)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    done = await current_rows()
    assert 0 < done < n, "the process should have been killed in the middle"
    report = await key_rotation.rotate(sessionmaker, vault, batch_size=50)
    assert report.rotated == n - done and not report.failures
    assert await _decrypt_all(sessionmaker, vault) == plain


async def test_check_reports_tampered_row_without_secret(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    plain = await _seed(sessionmaker, KeyVault([OLD]), 3)
    async with sessionmaker() as s, s.begin():
        row = (await s.scalars(select(ExchangeAccount).order_by(ExchangeAccount.id))).first()
        assert row is not None
        blob = bytearray(row.secret_enc)
        blob[20] ^= 0xFF
        row.secret_enc = bytes(blob)
    report = await key_rotation.check(sessionmaker, KeyVault([OLD]))
    assert report.checked == 3 and len(report.failures) == 1
    assert "tampered" in report.failures[0]
    assert not any(secret in report.failures[0] for pair in plain.values() for secret in pair)


async def test_full_key_roundtrip_logs_no_secret(
    sessionmaker: async_sessionmaker[AsyncSession], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    logging.getLogger("sqlalchemy.engine").setLevel(logging.DEBUG)  # parameters of every statement
    try:
        plain = await _seed(sessionmaker, KeyVault([OLD]), 3)
        vault = KeyVault([NEW, OLD])
        await key_rotation.rotate(sessionmaker, vault)
        decrypted = await _decrypt_all(sessionmaker, vault)
        log = logging.getLogger("tradebot.test")
        for api_key, secret in decrypted.values():
            # careless code paths: the secret in a message, in args, in an exception
            log.info("using key %s with secret %s", api_key, secret)
            log.warning(f"inline {secret}")
            try:
                raise RuntimeError(f"exchange said no to {api_key}")
            except RuntimeError:
                log.exception("call failed")
    finally:
        logging.getLogger("sqlalchemy.engine").setLevel(logging.WARNING)
    text = "\n".join(caplog.messages) + caplog.text
    assert "[REDACTED]" in text
    assert len(caplog.records) > 20
    for api_key, secret in plain.values():
        assert api_key not in text and secret not in text


@pytest.mark.postgres
async def test_rotate_and_check_on_postgres(postgres_url: str) -> None:
    from core.db.models import Base
    from core.db.session import make_engine, make_sessionmaker

    engine = make_engine(postgres_url)
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    sm = make_sessionmaker(engine)
    try:
        plain = await _seed(sm, KeyVault([OLD]), 9)
        vault = KeyVault([NEW, OLD])
        first = await key_rotation.rotate(sm, vault, batch_size=4)
        again = await key_rotation.rotate(sm, vault, batch_size=4)
        assert (first.rotated, again.rotated, first.failures) == (9, 0, [])
        assert (await key_rotation.check(sm, KeyVault([NEW]))).failures == []
        assert await _decrypt_all(sm, KeyVault([NEW])) == plain
    finally:
        await engine.dispose()
