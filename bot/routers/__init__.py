"""One router per feature; `feature_routers()` returns fresh instances in dispatch order."""

from __future__ import annotations

from aiogram import Router

from bot.routers import (
    admin,
    balance,
    deposit,
    fallback,
    keys,
    lang,
    mode,
    pnl,
    positions,
    settings,
    start,
    status,
    trading,
)


def feature_routers(admin_ids: frozenset[int]) -> list[Router]:
    # admin first (it only matches admins), the fallback last (it matches everything left)
    return [
        admin.make_router(admin_ids),
        start.make_router(),
        keys.make_router(),
        mode.make_router(),
        deposit.make_router(),
        balance.make_router(),
        status.make_router(),
        positions.make_router(),
        trading.make_router(),
        settings.make_router(),
        pnl.make_router(),
        lang.make_router(),
        fallback.make_router(),
    ]
