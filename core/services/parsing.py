"""Pure parsers for everything users type. Each returns a clean value or raises UserError.

They never touch the database, so hypothesis can throw any text at them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Literal

from core.services.errors import UserError
from core.services.l10n import N_

MAX_AMOUNT = Decimal("1000000000000")  # 1e12: far above any real deposit, far below overflow
AMOUNT_DECIMALS = 8
_AMOUNT_RE = re.compile(r"^(\d{1,13})(?:[.,](\d{1,8}))?$")
_SYMBOL_RE = re.compile(r"^([A-Z0-9]{1,15})/([A-Z0-9]{2,10})$")
_KNOWN_QUOTES = ("USDT", "USDC", "FDUSD", "BUSD", "TUSD", "BTC", "ETH", "BNB", "EUR", "TRY")
_TTL_RE = re.compile(r"^(\d{1,4})([mhdw])$")
_TTL_UNITS = {"m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
MIN_TTL = timedelta(minutes=1)
BLACKLIST_USAGE = N_("Usage: /blacklist, /blacklist add SYMBOL [reason] [ttl], /blacklist remove SYMBOL")
NOT_AN_AMOUNT = N_("“{text}” is not an amount. Send a number such as 500 or 250.5.")
MAX_TTL = timedelta(days=365)
MAX_REASON = 200


def parse_amount(text: str | None, quote: str = "USDT") -> Decimal:
    """A positive amount such as `250`, `99.5`, `99,5` or `100 USDT`; at most 8 decimals."""
    raw = (text or "").strip()
    if raw.upper().endswith(quote.upper()):
        raw = raw[: -len(quote)].strip()
    if not raw:
        raise UserError(N_("Send the amount as a number, for example 500 or 250.5."))
    match = _AMOUNT_RE.match(raw)
    if match is None:
        raise UserError(NOT_AN_AMOUNT, text=_clip(raw))
    whole, frac = match.group(1), match.group(2) or "0"
    try:
        value = Decimal(f"{whole}.{frac}")
    except InvalidOperation:  # pragma: no cover - the regex admits only digits
        raise UserError(
            N_("“{text}” is not an amount. Send a number such as 500 or 250.5."), text=_clip(raw)
        ) from None
    if value <= 0:
        raise UserError(N_("The amount must be greater than zero."))
    if value > MAX_AMOUNT:
        raise UserError(N_("The amount is too large."))
    # 500.00 -> 500 (not normalize(): that gives 5E+2)
    return value.quantize(Decimal(1)) if value == value.to_integral_value() else value


def parse_symbol(text: str | None) -> str:
    """`BTC/USDT`, `btc/usdt`, `BTCUSDT` or `BTC-USDT` -> `BTC/USDT`."""
    raw = (text or "").strip().upper().replace("-", "/").replace("_", "/")
    if "/" not in raw:
        for quote in _KNOWN_QUOTES:
            if raw.endswith(quote) and len(raw) > len(quote):
                raw = f"{raw[: -len(quote)]}/{quote}"
                break
    if _SYMBOL_RE.match(raw) is None:
        raise UserError(N_("“{text}” is not a market symbol. Use the form BTC/USDT."), text=_clip(text or ""))
    return raw


def parse_ttl(text: str) -> timedelta:
    """`30m`, `12h`, `7d`, `2w`, between one minute and a year."""
    match = _TTL_RE.match(text.strip().lower())
    if match is None:
        raise UserError(N_("“{text}” is not a duration. Use 30m, 12h, 7d or 2w."), text=_clip(text))
    ttl = timedelta(seconds=int(match.group(1)) * _TTL_UNITS[match.group(2)])
    if not MIN_TTL <= ttl <= MAX_TTL:
        raise UserError(N_("The duration must be between 1 minute and 365 days."))
    return ttl


def is_ttl(text: str) -> bool:
    return _TTL_RE.match(text.strip().lower()) is not None


@dataclass(frozen=True)
class BlacklistCommand:
    action: Literal["list", "add", "remove"]
    symbol: str | None = None
    reason: str | None = None
    ttl: timedelta | None = None


def parse_blacklist_args(args: str | None) -> BlacklistCommand:
    """`` (list) | `add SYMBOL [reason words] [ttl]` | `remove SYMBOL`."""
    tokens = (args or "").split()
    if not tokens:
        return BlacklistCommand("list")
    action, rest = tokens[0].lower(), tokens[1:]
    if action not in ("add", "remove"):
        raise UserError(
            N_("Usage: /blacklist, /blacklist add SYMBOL [reason] [ttl], /blacklist remove SYMBOL")
        )
    if not rest:
        raise UserError(N_("Name the symbol, for example: /blacklist {action} BTC/USDT"), action=action)
    symbol = parse_symbol(rest[0])
    if action == "remove":
        if len(rest) > 1:
            raise UserError(N_("Usage: /blacklist remove SYMBOL"))
        return BlacklistCommand("remove", symbol)
    extra = rest[1:]
    ttl = None
    if extra and is_ttl(extra[-1]):
        ttl = parse_ttl(extra[-1])
        extra = extra[:-1]
    reason = " ".join(extra) or None
    if reason is not None and len(reason) > MAX_REASON:
        raise UserError(N_("The reason is too long (at most {limit} characters)."), limit=MAX_REASON)
    return BlacklistCommand("add", symbol, reason, ttl)


class Period(StrEnum):
    day = "day"
    week = "week"
    month = "month"
    all = "all"


def parse_period(text: str | None) -> Period:
    raw = (text or "").strip().lower()
    if not raw:
        return Period.day
    try:
        return Period(raw)
    except ValueError:
        raise UserError(N_("Choose a period: day, week, month or all.")) from None


def parse_broadcast(text: str | None) -> str:
    body = (text or "").strip()
    if not body:
        raise UserError(N_("Usage: /broadcast TEXT"))
    if len(body) > 4000:
        raise UserError(N_("The message is too long (at most {limit} characters)."), limit=4000)
    return body


def _clip(text: str, limit: int = 40) -> str:
    text = text.replace("\n", " ")
    return text if len(text) <= limit else text[: limit - 1] + "…"
