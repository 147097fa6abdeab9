"""Key names of the cache: `qulab:cache:<family>:<user id>`, and the outcomes a read can have."""

from __future__ import annotations

from collections.abc import AsyncIterator

from redis.asyncio import Redis

PREFIX = "qulab:cache:"
PROFILE, SCORE = "profile", "score"
FAMILIES = (PROFILE, SCORE)
HIT, MISS, ERROR, BYPASS = "hit", "miss", "error", "bypass"


def key_for(family: str, user_id: str) -> str:
    return f"{PREFIX}{family}:{user_id}"


def parse_key(key: str) -> tuple[str, str]:
    """(family, user id) of a cache key."""
    family, _, user_id = key.removeprefix(PREFIX).partition(":")
    return family, user_id


async def scan_keys(client: Redis) -> AsyncIterator[list[str]]:
    """Every key of the cache, a SCAN batch at a time (never KEYS: it would block the server)."""
    cursor = 0
    while True:
        cursor, keys = await client.scan(cursor, match=f"{PREFIX}*", count=1000)
        if keys:
            yield keys
        if not cursor:
            return


async def delete_all(client: Redis) -> int:
    """Delete every key of this cache (other `qulab:` keys, such as the event stream, stay)."""
    return sum([int(await client.unlink(*keys)) async for keys in scan_keys(client)])
