"""API keys, HMAC-SHA256 signatures, `timestamp` and `recvWindow`, as Binance checks them.

Binance signs `totalParams` = query string + request body (concatenated as sent, without the signature).
"""

from __future__ import annotations

import hashlib
import hmac
from urllib.parse import parse_qsl

from aiohttp import web

from sandbox.exchange import errors as err
from sandbox.exchange.accounts import KEY_FORMAT, Account
from sandbox.exchange.clock import wall_ms
from sandbox.exchange.errors import BinanceError

MAX_RECV_WINDOW = 60_000
DEFAULT_RECV_WINDOW = 5_000
AHEAD_TOLERANCE = 1_000


class RequestParts:
    """The raw query and body as sent (needed for the signature) and the merged parameters."""

    def __init__(self, raw_query: str, raw_body: str):
        self.raw_query, self.raw_body = raw_query, raw_body
        self.params: dict[str, str] = {}
        for raw in (raw_query, raw_body):
            for key, value in parse_qsl(raw, keep_blank_values=True):
                self.params[key] = value

    def signed_payload(self) -> str:
        def strip(raw: str) -> str:
            return "&".join(p for p in raw.split("&") if p and not p.startswith("signature="))

        return strip(self.raw_query) + strip(self.raw_body)


async def read_parts(request: web.Request) -> RequestParts:
    raw_query = request.raw_path.partition("?")[2]
    raw_body = (await request.text()) if request.can_read_body else ""
    return RequestParts(raw_query, raw_body)


class Authenticator:
    def __init__(self, accounts: dict[str, Account]):
        self.accounts = accounts

    def by_key(self, request: web.Request) -> Account:
        key = request.headers.get("X-MBX-APIKEY")
        if not key or not KEY_FORMAT.match(key):
            raise err.error(err.KEY_FORMAT, 401)
        account = self.accounts.get(key)
        if account is None or account.revoked:
            raise err.error(err.KEY_INVALID, 401)
        return account

    def signed(self, request: web.Request, parts: RequestParts) -> Account:
        account = self.by_key(request)
        params = parts.params
        signature = params.get("signature")
        if not signature:
            raise err.mandatory("signature")
        raw_ts = params.get("timestamp")
        if not raw_ts:
            raise err.mandatory("timestamp")
        if not raw_ts.isdigit():
            raise err.illegal("timestamp")
        raw_window = params.get("recvWindow")
        window = DEFAULT_RECV_WINDOW
        if raw_window:
            try:
                window = int(float(raw_window))
            except (ValueError, OverflowError) as exc:  # "abc", "nan", "inf"
                raise err.illegal("recvWindow") from exc
            if window > MAX_RECV_WINDOW:
                raise BinanceError(-1131, "recvWindow must be less than 60000")
        expected = hmac.new(
            account.secret.encode(), parts.signed_payload().encode(), hashlib.sha256
        ).hexdigest()
        # bytes: compare_digest refuses non-ASCII str with a TypeError (a 500 instead of -1022)
        if not hmac.compare_digest(expected.encode(), signature.lower().encode()):
            raise err.error(err.BAD_SIGNATURE)
        timestamp, now = int(raw_ts), wall_ms()
        if timestamp >= now + AHEAD_TOLERANCE:
            raise err.error(err.AHEAD_OF_SERVER)
        if now - timestamp > window:
            raise err.error(err.OUTSIDE_RECV_WINDOW)
        return account
