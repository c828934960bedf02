"""Balances for /balance and deposit validation: the paper rows, or the exchange's own answer."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import ccxt.async_support as ccxt
from sqlalchemy.ext.asyncio import AsyncSession

from core.db.models import Mode, User
from core.services.errors import UserError
from core.services.exchanges import ClientFactory
from core.services.keys import account_credentials, make_exchange_client, primary_account
from core.services.l10n import N_
from core.services.paper import paper_balances
from core.services.prices import PriceSource
from core.vault import KeyVault

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AssetLine:
    currency: str
    free: Decimal
    used: Decimal
    total: Decimal
    value: Decimal | None  # in the quote currency; None when no price is known


@dataclass(frozen=True)
class BalanceView:
    mode: Mode
    exchange: str | None
    quote: str
    assets: list[AssetLine] = field(default_factory=list)

    @property
    def total_value(self) -> Decimal:
        return sum((a.value for a in self.assets if a.value is not None), Decimal(0))

    def quote_free(self) -> Decimal:
        return next((a.free for a in self.assets if a.currency == self.quote), Decimal(0))


def _dec(value: Any) -> Decimal:
    return Decimal(str(value)) if value is not None else Decimal(0)


async def _value(currency: str, total: Decimal, quote: str, prices: PriceSource) -> Decimal | None:
    if currency == quote:
        return total
    if total == 0:
        return Decimal(0)
    price = await prices.last_price(f"{currency}/{quote}")
    return None if price is None else total * price


async def user_balance(
    session: AsyncSession,
    user: User,
    *,
    vault: KeyVault,
    factory: ClientFactory,
    api_url: str | None,
    prices: PriceSource,
    quote: str,
) -> BalanceView:
    if user.mode == Mode.paper:
        lines = []
        for row in await paper_balances(session, user.id):
            total = row.free + row.used
            if total == 0 and row.currency != quote:  # sold out of a position: nothing to show
                continue
            lines.append(
                AssetLine(
                    row.currency, row.free, row.used, total, await _value(row.currency, total, quote, prices)
                )
            )
        return BalanceView(Mode.paper, None, quote, lines)
    account = await primary_account(session, user.id)
    if account is None:
        raise UserError(N_("Live mode needs valid exchange keys. Add them with /keys first."))
    creds = account_credentials(vault, account)
    client = make_exchange_client(factory, account.exchange, api_url, **creds)
    try:
        raw = await client.fetch_balance()
    except (ccxt.AuthenticationError, ccxt.PermissionDenied):
        account.valid = False
        account.invalid_reason = "authentication failed"
        await session.commit()  # keep this fact even though the request itself is refused
        raise UserError(N_("The exchange rejected your keys. Add new ones with /keys.")) from None
    except ccxt.BaseError as exc:
        log.warning("balance for user %s failed: %s", user.id, type(exc).__name__)
        raise UserError(N_("Could not get your balance from the exchange. Please try again later.")) from None
    finally:
        await client.close()
    lines = []
    totals = raw.get("total") or {}
    for currency in sorted(totals):
        total = _dec(totals.get(currency))
        if total == 0 and currency != quote:
            continue
        free, used = _dec((raw.get("free") or {}).get(currency)), _dec((raw.get("used") or {}).get(currency))
        lines.append(AssetLine(currency, free, used, total, await _value(currency, total, quote, prices)))
    return BalanceView(Mode.live, account.exchange, quote, lines)
