"""The read-through cache in front of the user repository: counts itself, invalidates after commit,
fails open.

    cache = CachedUserRepository(cache_client(redis_connection), sessions)
    lookup = await cache.profile(user_id)         # Lookup(value, outcome "hit"/"miss"/..., seconds)

Values are JSON (codec.py). A user with no score yet is cached as `null` with a short TTL
(negative caching), so asking again does not hit the database every time. TTLs carry ±jitter so
entries written together do not expire together. The cache subscribes to every unit of work
over its engine and deletes what a commit wrote before `commit()` returns (invalidation.py);
writers need not know it exists, and a rollback invalidates nothing. Concurrent misses share one
load (single_flight.py). Any Redis error sends the read to the database and opens a small breaker
(breaker.py).
"""

from __future__ import annotations

import random
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import TypeVar

from redis.asyncio import Redis
from redis.exceptions import RedisError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ..redis_client import RedisConnection
from ..repositories import AIRScoreRepository, UserRepository
from ..unit_of_work import UnitOfWork, on_commit
from . import codec, listing
from .breaker import Breaker
from .codec import Json
from .counters import FamilyStats, total
from .invalidation import PendingInvalidations, written_keys
from .keys import BYPASS, ERROR, FAMILIES, HIT, MISS, PROFILE, SCORE, SINGLE_USER_KEYS, CacheKeys
from .listing import Listing, ServerCounters
from .single_flight import Flight, SingleFlight

REDIS_ERRORS = (RedisError, OSError)  # OSError covers socket errors and builtin TimeoutError
CACHE_TIMEOUT_S = 0.5  # a cache that answers slower than the database is worse than none
T = TypeVar("T")


@dataclass(frozen=True)
class CachePolicy:
    ttl_s: float = 300.0
    negative_ttl_s: float = 30.0  # "no score yet" changes sooner than a profile does
    jitter: float = 0.1  # each TTL is drawn from ttl·(1 ± jitter)
    retry_after_s: float = 2.0  # circuit breaker: after a Redis error, skip Redis this long


@dataclass(frozen=True, slots=True)
class Lookup:
    value: Json | None  # None: no such user / no score yet
    outcome: str  # HIT, MISS, ERROR (Redis failed, served by the database) or BYPASS (breaker open)
    seconds: float


def cache_client(connection: RedisConnection) -> Redis:
    """A client for the cache: short timeouts and no retry loop (the cache fails open instead)."""
    return connection.new_client(timeout_s=CACHE_TIMEOUT_S, fail_fast=True)


class CachedUserRepository:
    def __init__(self, client: Redis, sessions: async_sessionmaker[AsyncSession], policy: CachePolicy | None = None,
                 *, backend: str = "redis", clock: Callable[[], float] = time.monotonic,
                 rng: random.Random | None = None, names: CacheKeys = SINGLE_USER_KEYS) -> None:
        self.policy = policy or CachePolicy()
        self.names = names  # the key prefix: the desktop's, or one learner's
        self.backend = backend
        self.stats = {family: FamilyStats() for family in FAMILIES}
        self.probe_errors = 0  # Redis errors outside reads and writes: health checks, key listing, INFO
        self.breaker = Breaker(self.policy.retry_after_s, clock)
        self.pending = PendingInvalidations(names)
        self._primary = self._client = client
        self._sessions = sessions
        self._rng = rng or random.Random()
        self._flights = SingleFlight()
        self._info_baseline = ServerCounters(0, 0)
        self._unsubscribe = on_commit(sessions, self._invalidate_written)

    @property
    def client(self) -> Redis:
        """The client the cache talks through right now (the benchmark's raw GET floor uses it too)."""
        return self._client

    def use_client(self, client: Redis | None) -> None:
        """Talk through `client` from now on (None: the one it was built with); the next read tries it at once."""
        self._client = client or self._primary
        self.breaker.retry_now()

    # -- reads (the hot path: one GET and one json.loads on a hit) --------------------------------

    async def profile(self, user_id: str) -> Lookup:
        return await self.read(PROFILE, user_id)

    async def latest_score(self, user_id: str) -> Lookup:
        return await self.read(SCORE, user_id)

    async def read(self, family: str, user_id: str) -> Lookup:
        started = time.perf_counter()
        stats = self.stats[family]
        key = self.names.key(family, user_id)
        if self.breaker.tripped or self.pending:
            refused = await self._refuse_redis(stats)
            if refused:
                value = await self._load(stats, family, user_id, key, store=False)
                return Lookup(value, refused, time.perf_counter() - started)
        try:
            raw = await self._client.get(key)
        except REDIS_ERRORS as error:
            stats.errors += 1
            self.breaker.failed(error)
            value = await self._load(stats, family, user_id, key, store=False)
            return Lookup(value, ERROR, time.perf_counter() - started)
        if self.breaker.failing:
            self.breaker.recovered()
        if raw is not None:
            stats.hits += 1
            value = codec.decode(raw)
            if value is None:
                stats.negative_hits += 1
            return Lookup(value, HIT, time.perf_counter() - started)
        stats.misses += 1
        value = await self._load(stats, family, user_id, key, store=True)
        return Lookup(value, MISS, time.perf_counter() - started)

    async def from_database(self, family: str, user_id: str) -> Json | None:
        """The uncached path: what a miss loads, and what the workload compares the cache against."""
        async with self._sessions() as session:
            if family == PROFILE:
                user = await UserRepository(session).get(user_id)
                return codec.profile_json(user) if user else None
            score = await AIRScoreRepository(session).latest_for(user_id)
            return codec.score_json(score) if score else None

    async def _refuse_redis(self, stats: FamilyStats) -> str | None:
        """Why this read must skip Redis (BYPASS: breaker open; ERROR: pending invalidations failed)."""
        if self.breaker.is_open():
            stats.bypassed += 1
            return BYPASS
        if self.pending and not await self._flush_invalidations():
            stats.errors += 1
            return ERROR
        return None

    async def _load(self, stats: FamilyStats, family: str, user_id: str, key: str, *, store: bool) -> Json | None:
        async def load() -> Json | None:
            started = time.perf_counter()
            value = await self.from_database(family, user_id)
            stats.loads += 1
            stats.load_seconds += time.perf_counter() - started
            return value

        async def write_back(value: Json | None, flight: Flight) -> None:
            if store and flight.invalidated:
                stats.stale += 1
            elif store:
                await self._store(stats, key, value)

        def joined() -> None:
            stats.coalesced += 1

        return await self._flights.load(key, load, on_join=joined, store=write_back)

    async def _store(self, stats: FamilyStats, key: str, value: Json | None) -> None:
        ttl_s = self.policy.ttl_s if value is not None else self.policy.negative_ttl_s
        ttl_ms = max(1, round(ttl_s * 1000 * (1 + self._rng.uniform(-self.policy.jitter, self.policy.jitter))))
        try:
            await self._client.set(key, codec.encode(value), px=ttl_ms)
        except REDIS_ERRORS as error:
            stats.errors += 1
            self.breaker.failed(error)

    # -- invalidation -------------------------------------------------------------------------------

    async def _invalidate_written(self, uow: UnitOfWork) -> None:
        """After any committed unit of work over our sessions: drop what its writes made stale."""
        if keys := written_keys(uow, self.names):
            await self._invalidate_keys(keys)

    async def invalidate(self, user_id: str, families: Iterable[str] = FAMILIES) -> int:
        """Delete one user's keys; returns how many existed. Never raises on a Redis failure."""
        return await self._invalidate_keys([self.names.key(family, user_id) for family in families])

    async def _invalidate_keys(self, keys: list[str]) -> int:
        families = [self.names.parse(key)[0] for key in keys]
        self._flights.invalidate(keys)
        for family in families:
            self.stats[family].invalidations += 1
        if self.breaker.is_open():  # known down: remember the keys instead of making the writer wait
            self.pending.keys.update(keys)
            return 0
        try:
            return int(await self._client.delete(*keys))
        except REDIS_ERRORS as error:
            self.pending.keys.update(keys)
            for family in families:
                self.stats[family].errors += 1
            self.breaker.failed(error)
            return 0

    async def invalidate_all(self) -> int:
        """Delete every key of this cache (other `qulab:` keys, such as the event stream, stay)."""
        self._flights.invalidate_all()
        for stats in self.stats.values():
            stats.invalidations += 1
        if self.breaker.is_open():
            self.pending.everything = True
            return 0
        try:
            deleted = await self.names.delete_all(self._client)
        except REDIS_ERRORS as error:
            self.pending.everything = True
            self.breaker.failed(error)
            return 0
        self.pending.keys.clear()
        return deleted

    async def _flush_invalidations(self) -> bool:
        """Apply invalidations remembered during an outage; True once Redis holds no stale entry."""
        try:
            await self.pending.flush(self._client)
        except REDIS_ERRORS as error:
            self.breaker.failed(error)
            return False
        return True

    # -- health -----------------------------------------------------------------------------------

    @property
    def degraded(self) -> bool:
        """True from a Redis failure until Redis answers again (and pending invalidations are applied)."""
        return self.breaker.failing or bool(self.pending)

    @property
    def last_error(self) -> str | None:
        return self.breaker.last_error

    @property
    def pending_invalidations(self) -> int:
        return len(self.pending)

    async def check(self) -> bool:
        """Ping through the cache's own client (ignoring the breaker); run by the status timer."""
        try:
            await self._client.ping()
        except REDIS_ERRORS as error:
            self.probe_errors += 1
            self.breaker.failed(error, trip=False)
            return False
        if not await self._flush_invalidations():
            return False
        self.breaker.recovered()
        return True

    # -- what the page shows ------------------------------------------------------------------------

    async def _guarded(self, operation: Callable[[], Awaitable[T]]) -> T | None:
        """Run a listing or INFO unless Redis is known down (breaker, or one failed lately); None then."""
        if self.breaker.probe_blocked():
            return None
        try:
            return await operation()
        except REDIS_ERRORS as error:
            self.probe_errors += 1
            self.breaker.probe_failed(error)
            return None

    async def entries(self, limit: int = 50) -> Listing | None:
        """The cache's keys with remaining TTL (first `limit` by key); None while Redis is unreachable."""
        return await self._guarded(lambda: listing.list_entries(self._client, limit, self.names))

    async def server_counters(self) -> ServerCounters | None:
        """Redis' own keyspace_hits/misses since `reset_stats` (server-wide); None on fakeredis."""
        if self.backend != "redis":
            return None
        now = await self._guarded(lambda: listing.server_counters(self._client))
        if now is None:
            return None
        return ServerCounters(now.keyspace_hits - self._info_baseline.keyspace_hits,
                              now.keyspace_misses - self._info_baseline.keyspace_misses)

    async def reset_stats(self) -> None:
        self.stats = {family: FamilyStats() for family in FAMILIES}
        self.probe_errors = 0
        self._info_baseline = ServerCounters(0, 0)
        self._info_baseline = await self.server_counters() or ServerCounters(0, 0)

    def totals(self) -> FamilyStats:
        return total(self.stats.values())

    async def close(self) -> None:
        self._unsubscribe()
        try:
            await self._primary.aclose()
        except REDIS_ERRORS + (RuntimeError,):  # closing must never fail a shutdown
            pass
