"""The engine as its own process for the crash test.

    python -m tests.engine.engine_proc PHASE DB_URL EXCHANGE_URL SYMBOLS

PHASE `cycle` runs one cycle (the test kills it mid-way); `recover` reconciles, runs the same cycle
again and prints what it repaired as one JSON line.
"""

from __future__ import annotations

import asyncio
import json
import sys
from functools import partial

from core.config import load_settings
from core.db.session import make_engine, make_sessionmaker
from core.engine.app import Engine
from core.exchange.ccxt_factory import make_client
from core.market.stage import build_stage
from core.vault import KeyVault
from tests.engine.conftest import MASTER, fixed_entries


async def main(phase: str, db_url: str, api_url: str, symbols: list[str]) -> None:
    settings = load_settings(
        exchange_api_url=api_url, master_keys=MASTER, timeframe="5m", database_url=db_url, user_concurrency=8
    )
    db = make_engine(db_url)
    stage = build_stage({"binance": make_client("binance", api_url=api_url, rate_limit=False)})
    engine = Engine(
        settings,
        make_sessionmaker(db),
        KeyVault(settings.master_key_list()),
        stage,
        fixed_entries(symbols),
        make_client=partial(make_client, rate_limit=False),
        history=120,
        client_timeout_ms=60_000,  # creates hang until the test kills us
        pending_grace_seconds=1.0,
    )
    try:
        if phase == "cycle":
            print("cycle starting", flush=True)
            await engine.run_cycle_once()
            print("cycle finished", flush=True)
        else:
            repairs = await engine.reconcile()
            stats = await engine.run_cycle_once()
            out = {
                "repairs": {
                    str(uid): {"applied": r.applied, "canceled": r.canceled, "unresolved": r.unresolved}
                    for uid, r in repairs.items()
                },
                "orders_sent": stats.orders_sent,
                "errors": stats.errors,
            }
            print(json.dumps(out), flush=True)
    finally:
        await engine.stop()
        await db.dispose()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4].split(",")))
