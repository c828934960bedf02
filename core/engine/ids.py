"""Client order ids: the same (user, signal, leg) always gives the same Binance-legal id."""

from __future__ import annotations

import hashlib
import re

LEGAL = re.compile(r"^[A-Za-z0-9_-]{1,36}$")
PREFIX = "tb"


def client_order_id(user_id: int, signal_id: str, leg: str) -> str:
    """'tb' + 32 hex of sha256(user|signal|leg): 34 characters, Binance-legal (<= 36, [A-Za-z0-9_-])."""
    digest = hashlib.sha256(f"{user_id}|{signal_id}|{leg}".encode()).hexdigest()[:32]
    return PREFIX + digest


def exit_signal_id(position_id: int, bucket_ms: int, amount: object) -> str:
    """An exit's signal id: the position, the candle it was decided in and the amount it sold from.

    A retried job decides the same exit with the same id; a later candle, or what is left after a
    partial close, gets a new one, so a rejected exit can be tried again later.
    """
    return f"exit:{position_id}:{bucket_ms}:{amount}"
