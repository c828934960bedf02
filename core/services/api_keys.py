"""Keys for the read-only HTTP API: created once in plaintext, stored only as SHA-256.

A key is `tb_<prefix>_<secret>`: the 8-character hex prefix is stored in the clear so an admin can
name a key to revoke (`run_bot.py apikey revoke PREFIX`) without ever seeing the key again.
"""

from __future__ import annotations

import hashlib
import re
import secrets

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from core.db.models import ApiKey, User
from core.db.types import utcnow
from core.vault import REDACTOR

KEY_RE = re.compile(r"tb_([0-9a-f]{8})_[A-Za-z0-9_-]{32}")


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


async def create(session: AsyncSession, user: User, name: str) -> str:
    """Store a new key for `user` and return its plaintext: the only time it exists outside a request."""
    while True:  # prefixes name keys for `revoke`: keep them unique
        prefix = secrets.token_hex(4)
        if await session.scalar(select(ApiKey.id).where(ApiKey.prefix == prefix)) is None:
            break
    key = f"tb_{prefix}_{secrets.token_urlsafe(24)}"  # 24 bytes -> 32 url-safe characters
    REDACTOR.remember(key)
    session.add(ApiKey(user_id=user.id, name=name[:64], prefix=prefix, key_hash=key_hash(key)))
    await session.flush()
    return key


async def authenticate(session: AsyncSession, presented: str) -> User | None:
    """The key's owner, or None for a malformed, unknown or revoked key. Marks the key used."""
    if KEY_RE.fullmatch(presented) is None:
        return None
    row = await session.scalar(select(ApiKey).where(ApiKey.key_hash == key_hash(presented)))
    if row is None:
        return None
    # a real key (even a revoked one): keep it out of logs. Unknown keys are not remembered, so
    # strangers cannot grow the redactor without bound; nothing here logs them either.
    REDACTOR.remember(presented)
    if row.revoked_at is not None:
        return None
    row.last_used_at = utcnow()
    return await session.get(User, row.user_id)


async def revoke(session: AsyncSession, prefix: str) -> bool:
    """Revoke the live key with this prefix; False if there is none (unknown or already revoked)."""
    result = await session.execute(
        update(ApiKey)
        .where(ApiKey.prefix == prefix.strip().removeprefix("tb_"), ApiKey.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
    return bool(getattr(result, "rowcount", 0))
