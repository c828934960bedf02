"""Migrations bring empty SQLite and PostgreSQL databases to head, down to base and back, and agree
with the models (autogenerate finds nothing to do)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from core.db.models import Base
from core.db.session import make_engine
from migrations import cli

ROOT = Path(__file__).resolve().parents[2]


def _run(*args: str, url: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(ROOT / "run_bot.py"), "db", *args, "--database-url", url],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=dict(os.environ),
        timeout=180,
    )


async def _diff_and_tables(url: str) -> tuple[list[Any], set[str]]:
    engine = make_engine(url)
    try:
        async with engine.connect() as conn:

            def check(sync_conn: Any) -> tuple[list[Any], set[str]]:
                ctx = MigrationContext.configure(sync_conn, opts={"compare_type": True})
                return compare_metadata(ctx, Base.metadata), set(inspect(sync_conn).get_table_names())

            return await conn.run_sync(check)
    finally:
        await engine.dispose()


def _roundtrip(url: str) -> None:
    res = _run("upgrade", url=url)
    assert res.returncode == 0, res.stderr
    assert "database at revision" in res.stdout
    diff, tables = asyncio.run(_diff_and_tables(url))
    assert diff == []
    assert set(Base.metadata.tables) <= tables

    res = _run("downgrade", "base", url=url)
    assert res.returncode == 0, res.stderr
    _, tables = asyncio.run(_diff_and_tables(url))
    assert tables <= {"alembic_version"}
    assert cli.current(url) is None

    res = _run("upgrade", url=url)
    assert res.returncode == 0, res.stderr
    assert cli.current(url) == cli.head()
    res = _run("current", url=url)
    assert res.stdout.startswith(cli.head() or "?")


def test_sqlite_upgrade_downgrade_upgrade(tmp_path: Path) -> None:
    _roundtrip(f"sqlite+aiosqlite:///{tmp_path / 'fresh.sqlite3'}")


@pytest.mark.postgres
def test_postgres_upgrade_downgrade_upgrade(postgres_url: str) -> None:
    _roundtrip(postgres_url)
