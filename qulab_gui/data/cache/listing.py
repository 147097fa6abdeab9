"""What the caching page shows of Redis itself: the cache's keys with their TTLs, and INFO counters."""

from __future__ import annotations

from dataclasses import dataclass

from redis.asyncio import Redis

from .keys import CacheKeys


@dataclass(frozen=True)
class CacheEntry:
    key: str
    family: str
    user_id: str
    ttl_s: float | None  # None: no expiry (never written by this cache)
    negative: bool


@dataclass(frozen=True)
class Listing:
    entries: list[CacheEntry]
    total: int  # keys under the cache prefix, of which `entries` is the first page


@dataclass(frozen=True)
class ServerCounters:
    """Redis' own keyspace counters (server-wide, so other clients' reads count too)."""

    keyspace_hits: int
    keyspace_misses: int


async def list_entries(client: Redis, limit: int, names: CacheKeys) -> Listing:
    """The first `limit` keys of the cache (by key) with remaining TTL, in one pipeline."""
    keys = [key async for batch in names.scan(client) for key in batch]
    shown = sorted(keys)[:limit]
    pipe = client.pipeline(transaction=False)
    for key in shown:
        pipe.pttl(key)
        pipe.get(key)
    replies = await pipe.execute() if shown else []
    entries = []
    for key, ttl_ms, raw in zip(shown, replies[::2], replies[1::2], strict=True):
        if raw is None:
            continue  # expired between SCAN and GET
        family, user_id = names.parse(key)
        entries.append(CacheEntry(key, family, user_id, ttl_ms / 1000 if ttl_ms >= 0 else None, raw == "null"))
    return Listing(entries, len(keys))


async def server_counters(client: Redis) -> ServerCounters:
    info = await client.info("stats")
    return ServerCounters(int(info.get("keyspace_hits", 0)), int(info.get("keyspace_misses", 0)))
