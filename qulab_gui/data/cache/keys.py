"""Key names of the cache: `<prefix><family>:<user id>`, and the outcomes a read can have.

The prefix is `qulab:cache:` on the desktop and `qulab:<learner>:cache:` in a classroom (namespace.py).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

from redis.asyncio import Redis

from ..namespace import SINGLE_USER

PREFIX = SINGLE_USER.cache_prefix
PROFILE, SCORE = "profile", "score"
FAMILIES = (PROFILE, SCORE)
HIT, MISS, ERROR, BYPASS = "hit", "miss", "error", "bypass"


@dataclass(frozen=True)
class CacheKeys:
    prefix: str = PREFIX

    def key(self, family: str, user_id: str) -> str:
        return f"{self.prefix}{family}:{user_id}"

    def parse(self, key: str) -> tuple[str, str]:
        """(family, user id) of a cache key."""
        family, _, user_id = key.removeprefix(self.prefix).partition(":")
        return family, user_id

    async def scan(self, client: Redis) -> AsyncIterator[list[str]]:
        """Every key of the cache, a SCAN batch at a time (never KEYS: it would block the server)."""
        cursor = 0
        while True:
            cursor, keys = await client.scan(cursor, match=f"{self.prefix}*", count=1000)
            if keys:
                yield keys
            if not cursor:
                return

    async def delete_all(self, client: Redis) -> int:
        """Delete every key of this cache (other keys, such as the event stream, stay)."""
        return sum([int(await client.unlink(*keys)) async for keys in self.scan(client)])


SINGLE_USER_KEYS = CacheKeys()
key_for = SINGLE_USER_KEYS.key  # the desktop's key names, for tests and the benchmark
