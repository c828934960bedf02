"""The shared-service fixtures hand each test its own Redis database, even across pytest runs."""

from __future__ import annotations

import pytest
import redis.asyncio as aioredis


@pytest.mark.redis
async def test_redis_url_is_a_leased_empty_database(redis_url: str) -> None:
    base, _, number = redis_url.rpartition("/")
    db = int(number)
    assert 1 <= db <= 15
    admin, client = aioredis.from_url(f"{base}/0"), aioredis.from_url(redis_url)
    try:
        assert await admin.get(f"tests:redis-db-lease:{db}") is not None  # another run skips this number
        assert await client.dbsize() == 0
    finally:
        await admin.aclose()
        await client.aclose()
