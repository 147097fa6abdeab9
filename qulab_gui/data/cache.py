"""A read-through Redis cache in front of the user repository: counts itself, invalidates after
commit, and fails open.

    cache = CachedUserRepository(cache_client(redis_connection), sessions)
    lookup = await cache.profile(user_id)         # Lookup(value, outcome "hit"/"miss"/..., seconds)

Keys are `qulab:cache:<family>:<user id>` (families "profile" and "score"), values JSON. A user
with no score yet is cached as JSON `null` with a short TTL (negative caching), so asking again
does not hit the database every time. TTLs carry ±jitter so entries written together do not
expire together.

Invalidation follows the transaction: every write of users and scores goes through a
`UnitOfWork`, the cache subscribes to every unit of work over its engine (`unit_of_work.on_commit`)
and, right after a commit, deletes the keys of the users and scores that transaction wrote (ORM
objects and Core bulk inserts alike), before `commit()` returns (the writer's next read is fresh). Writers need not
know the cache exists; a rollback invalidates nothing, because nothing was written. Resetting the
whole database is followed by `invalidate_all()`.

Concurrency (per process): N concurrent misses of one key share one database load (single-flight).
A load that raced an invalidation is not written back (it may hold pre-commit data): it is
counted as "stale". Across processes the same race would need leases or versioned values.

Fail-open: any Redis error sends the read to the database, counts the error and opens a small
circuit breaker (reads skip Redis for `retry_after_s`, counted as "bypassed") so a dead server
costs one timeout per interval instead of one per read. An invalidation that could not reach
Redis is remembered and retried before Redis is trusted again, so no stale entry survives an
outage.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError
from sqlalchemy import inspect
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from qulab_gui.net import free_port

from .models import AIRScore, User
from .redis_client import RedisConnection, client_options
from .repositories import AIRScoreRepository, UserRepository
from .unit_of_work import UnitOfWork, on_commit

log = logging.getLogger(__name__)

PREFIX = "qulab:cache:"
PROFILE, SCORE = "profile", "score"
FAMILIES = (PROFILE, SCORE)
HIT, MISS, ERROR, BYPASS = "hit", "miss", "error", "bypass"
REDIS_ERRORS = (RedisError, OSError)  # OSError covers socket errors and builtin TimeoutError
CACHE_TIMEOUT_S = 0.5  # a cache that answers slower than the database is worse than none


def key_for(family: str, user_id: str) -> str:
    return f"{PREFIX}{family}:{user_id}"


@dataclass(frozen=True)
class CachePolicy:
    ttl_s: float = 300.0
    negative_ttl_s: float = 30.0  # "no score yet" changes sooner than a profile does
    jitter: float = 0.1  # each TTL is drawn from ttl·(1 ± jitter)
    retry_after_s: float = 2.0  # circuit breaker: after a Redis error, skip Redis this long


@dataclass(frozen=True, slots=True)
class Lookup:
    value: dict[str, Any] | None  # None: no such user / no score yet
    outcome: str  # HIT, MISS, ERROR (Redis failed, served by the database) or BYPASS (breaker open)
    seconds: float


@dataclass(slots=True)
class FamilyStats:
    """Counted by the cache on its own paths; `hit_ratio` is over the reads that reached Redis."""

    hits: int = 0
    negative_hits: int = 0  # hits on a cached "nothing there" (included in hits)
    misses: int = 0
    loads: int = 0  # database loads (misses sharing one load count once)
    coalesced: int = 0  # misses that waited for another task's load
    stale: int = 0  # loads not written back because an invalidation raced them
    errors: int = 0  # Redis operations that failed
    bypassed: int = 0  # reads sent to the database while the breaker was open
    invalidations: int = 0
    load_seconds: float = 0.0

    @property
    def hit_ratio(self) -> float | None:
        lookups = self.hits + self.misses
        return self.hits / lookups if lookups else None

    @property
    def mean_load_ms(self) -> float | None:
        return self.load_seconds / self.loads * 1000 if self.loads else None

    def as_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)} | {
            "hit_ratio": self.hit_ratio, "mean_load_ms": self.mean_load_ms}


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


@dataclass(eq=False)
class _Flight:
    """One database load in progress; later misses of the same key await its future."""

    future: asyncio.Future[dict[str, Any] | None]
    invalidated: bool = False


# -- clients -------------------------------------------------------------------------------------


def cache_client(connection: RedisConnection) -> Redis:
    """A client for the cache: short timeouts and no retry loop (the cache fails open instead)."""
    return connection.new_client(timeout_s=CACHE_TIMEOUT_S, fail_fast=True)


def unreachable_client() -> Redis:
    """A real client pointed at a port nobody listens on: every command fails like a dead server."""
    return Redis(host="127.0.0.1", port=free_port(), **client_options(CACHE_TIMEOUT_S, fail_fast=True))


# -- JSON shapes ---------------------------------------------------------------------------------


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def profile_json(user: User) -> dict[str, Any]:
    return {"id": user.id, "email": user.email, "name": user.name, "occupation_code": user.occupation_code,
            "education_level": user.education_level, "years_experience": user.years_experience,
            "updated_at": _iso(user.updated_at)}


def score_json(score: AIRScore) -> dict[str, Any]:
    return {"id": score.id, "user_id": score.user_id, "air_score": score.air_score, "vr_score": score.vr_score,
            "hr_score": score.hr_score, "synergy_score": score.synergy_score, "ci_lower": score.ci_lower,
            "ci_upper": score.ci_upper, "parameter_version": score.parameter_version,
            "created_at": _iso(score.created_at)}


# -- the cached repository -----------------------------------------------------------------------


class CachedUserRepository:
    def __init__(self, client: Redis, sessions: async_sessionmaker[AsyncSession], policy: CachePolicy | None = None,
                 *, backend: str = "redis", clock: Callable[[], float] = time.monotonic,
                 rng: random.Random | None = None) -> None:
        self.policy = policy or CachePolicy()
        self.backend = backend
        self.stats = {family: FamilyStats() for family in FAMILIES}
        self.last_error: str | None = None
        self.probe_errors = 0  # Redis errors outside reads and writes: health checks, key listing, INFO
        self._primary = self._client = client
        self._unreachable: Redis | None = None
        self._sessions = sessions
        self._clock = clock
        self._rng = rng or random.Random()
        self._inflight: dict[str, _Flight] = {}
        self._failing = False  # the last Redis operation failed
        self._retry_at: float | None = None  # breaker: reads skip Redis until then (set by a failed read)
        self._listing_retry_at = 0.0  # key listing and INFO: likewise, after one of them failed
        self._dirty: set[str] = set()  # invalidations that could not reach Redis yet
        self._dirty_all = False
        self._info_baseline: dict[str, int] = {}
        self._unsubscribe = on_commit(sessions, self._invalidate_written)

    @property
    def client(self) -> Redis:
        """The client the cache talks through right now (the benchmark's raw GET floor uses it too)."""
        return self._client

    # -- reads (the hot path: one GET and one json.loads on a hit) --------------------------------

    async def profile(self, user_id: str) -> Lookup:
        return await self.read(PROFILE, user_id)

    async def latest_score(self, user_id: str) -> Lookup:
        return await self.read(SCORE, user_id)

    async def read(self, family: str, user_id: str) -> Lookup:
        started = time.perf_counter()
        stats = self.stats[family]
        key = f"{PREFIX}{family}:{user_id}"
        if self._retry_at is not None or self._dirty or self._dirty_all:
            refused = await self._refuse_redis(stats)
            if refused:
                value = await self._load(stats, family, user_id, key, store=False)
                return Lookup(value, refused, time.perf_counter() - started)
        try:
            raw = await self._client.get(key)
        except REDIS_ERRORS as error:
            stats.errors += 1
            self._failed(error)
            value = await self._load(stats, family, user_id, key, store=False)
            return Lookup(value, ERROR, time.perf_counter() - started)
        if self._failing:
            self._recovered()
        if raw is not None:
            stats.hits += 1
            value = json.loads(raw)
            if value is None:
                stats.negative_hits += 1
            return Lookup(value, HIT, time.perf_counter() - started)
        stats.misses += 1
        value = await self._load(stats, family, user_id, key, store=True)
        return Lookup(value, MISS, time.perf_counter() - started)

    async def from_database(self, family: str, user_id: str) -> dict[str, Any] | None:
        """The uncached path: what a miss loads, and what the workload compares the cache against."""
        async with self._sessions() as session:
            if family == PROFILE:
                user = await UserRepository(session).get(user_id)
                return profile_json(user) if user else None
            score = await AIRScoreRepository(session).latest_for(user_id)
            return score_json(score) if score else None

    async def _refuse_redis(self, stats: FamilyStats) -> str | None:
        """Why this read must skip Redis (BYPASS: breaker open; ERROR: pending invalidations failed)."""
        if self._breaker_open():
            stats.bypassed += 1
            return BYPASS
        if (self._dirty or self._dirty_all) and not await self._flush_invalidations():
            stats.errors += 1
            return ERROR
        return None

    async def _load(self, stats: FamilyStats, family: str, user_id: str, key: str, *, store: bool):
        """Load from the database once per key however many tasks miss at the same time."""
        while (flight := self._inflight.get(key)) is not None:
            stats.coalesced += 1
            try:
                return await asyncio.shield(flight.future)  # a waiter's cancellation must not cancel the load
            except asyncio.CancelledError:
                task = asyncio.current_task()
                if not flight.future.cancelled() or (task is not None and task.cancelling()):
                    raise
                # the task doing the load was cancelled (e.g. its page closed): take the load over
        flight = _Flight(asyncio.get_running_loop().create_future())
        self._inflight[key] = flight
        started = time.perf_counter()
        try:
            value = await self.from_database(family, user_id)
        except BaseException as error:
            self._land(key, flight)
            if isinstance(error, Exception):
                flight.future.set_exception(error)
                flight.future.exception()  # mark retrieved: nobody waiting is fine, not an asyncio error
            else:
                flight.future.cancel()
            raise
        stats.loads += 1
        stats.load_seconds += time.perf_counter() - started
        flight.future.set_result(value)  # waiters go on now; late arrivals still find the flight until stored
        try:
            if store and flight.invalidated:
                stats.stale += 1
            elif store:
                await self._store(stats, key, value)
        finally:
            self._land(key, flight)
        return value

    def _land(self, key: str, flight: _Flight) -> None:
        if self._inflight.get(key) is flight:
            del self._inflight[key]

    async def _store(self, stats: FamilyStats, key: str, value: dict[str, Any] | None) -> None:
        ttl_s = self.policy.ttl_s if value is not None else self.policy.negative_ttl_s
        ttl_ms = max(1, round(ttl_s * 1000 * (1 + self._rng.uniform(-self.policy.jitter, self.policy.jitter))))
        try:
            await self._client.set(key, json.dumps(value, separators=(",", ":")), px=ttl_ms)
        except REDIS_ERRORS as error:
            stats.errors += 1
            self._failed(error)

    # -- invalidation -------------------------------------------------------------------------------

    async def _invalidate_written(self, uow: UnitOfWork) -> None:
        """After any committed unit of work over our sessions: drop what its writes made stale."""
        keys: dict[str, None] = {}  # ordered and unique
        for entity in uow.written:
            if isinstance(entity, User):
                keys[key_for(PROFILE, entity.id)] = None
                if inspect(entity).was_deleted:  # the database cascade took the scores with it
                    keys[key_for(SCORE, entity.id)] = None
            elif isinstance(entity, AIRScore):
                keys[key_for(SCORE, entity.user_id)] = None
        for model, rows in uow.bulk_written:  # Core bulk inserts: no ORM objects, only their rows
            if model is User:
                keys.update((key_for(PROFILE, row["id"]), None) for row in rows)  # "no such user" was cacheable
            elif model is AIRScore:
                keys.update((key_for(SCORE, row["user_id"]), None) for row in rows)
        if keys:
            await self._invalidate_keys(list(keys))

    async def invalidate(self, user_id: str, families: Iterable[str] = FAMILIES) -> int:
        """Delete one user's keys; returns how many existed. Never raises on a Redis failure."""
        return await self._invalidate_keys([key_for(family, user_id) for family in families])

    async def _invalidate_keys(self, keys: list[str]) -> int:
        families = [key.removeprefix(PREFIX).partition(":")[0] for key in keys]
        for key in keys:  # a load in flight may hold the old row: it must not be written back
            if (flight := self._inflight.pop(key, None)) is not None:
                flight.invalidated = True
        for family in families:
            self.stats[family].invalidations += 1
        if self._breaker_open():  # known down: remember the keys instead of making the writer wait
            self._dirty.update(keys)
            return 0
        try:
            return int(await self._client.delete(*keys))
        except REDIS_ERRORS as error:
            self._dirty.update(keys)
            for family in families:
                self.stats[family].errors += 1
            self._failed(error)
            return 0

    async def invalidate_all(self) -> int:
        """Delete every key of this cache (other `qulab:` keys, such as the event stream, stay)."""
        for flight in self._inflight.values():
            flight.invalidated = True
        self._inflight.clear()
        for stats in self.stats.values():
            stats.invalidations += 1
        if self._breaker_open():
            self._dirty_all = True
            return 0
        try:
            deleted = await self._delete_all()
        except REDIS_ERRORS as error:
            self._dirty_all = True
            self._failed(error)
            return 0
        self._dirty.clear()
        return deleted

    async def _cached_keys(self) -> AsyncIterator[list[str]]:
        """Every key of the cache, a SCAN batch at a time (never KEYS: it would block the server)."""
        cursor = 0
        while True:
            cursor, keys = await self._client.scan(cursor, match=f"{PREFIX}*", count=1000)
            if keys:
                yield keys
            if not cursor:
                return

    async def _delete_all(self) -> int:
        return sum([int(await self._client.unlink(*keys)) async for keys in self._cached_keys()])

    async def _flush_invalidations(self) -> bool:
        """Apply invalidations remembered during an outage; True once Redis holds no stale entry."""
        try:
            if self._dirty_all:
                covered = set(self._dirty)
                await self._delete_all()
                self._dirty_all = False
                self._dirty.difference_update(covered)
            if self._dirty:
                sent = set(self._dirty)  # keys added while DELETE is awaited stay for the next flush
                await self._client.delete(*sent)
                self._dirty.difference_update(sent)
        except REDIS_ERRORS as error:
            self._failed(error)
            return False
        return True

    # -- health -----------------------------------------------------------------------------------

    @property
    def degraded(self) -> bool:
        """True from a Redis failure until Redis answers again (and pending invalidations are applied)."""
        return self._failing or bool(self._dirty) or self._dirty_all

    @property
    def pending_invalidations(self) -> int:
        return len(self._dirty) + (1 if self._dirty_all else 0)

    async def check(self) -> bool:
        """Ping through the cache's own client (ignoring the breaker); run by the status timer."""
        try:
            await self._client.ping()
        except REDIS_ERRORS as error:
            self.probe_errors += 1
            self._failed(error, breaker=False)
            return False
        if not await self._flush_invalidations():
            return False
        self._recovered()
        return True

    def _breaker_open(self) -> bool:
        return self._retry_at is not None and self._clock() < self._retry_at

    def _failed(self, error: BaseException, *, breaker: bool = True) -> None:
        """Note a Redis failure; a failed read or write also opens the breaker (probes only report)."""
        if not self._failing:
            log.warning("Redis cache unavailable, reads go to the database: %s: %s", type(error).__name__, error)
        self.last_error = f"{type(error).__name__}: {error}"
        self._failing = True
        if breaker:
            self._retry_at = self._clock() + self.policy.retry_after_s

    def _recovered(self) -> None:
        if self._failing:
            log.info("Redis cache reachable again")
        self._failing = False
        self._retry_at = None
        self._listing_retry_at = 0.0
        self.last_error = None

    @property
    def simulating_unreachable(self) -> bool:
        return self._client is not self._primary

    def simulate_unreachable(self, on: bool) -> None:
        """Point the cache at a closed port (on) or back at the real server (off).

        Nothing is faked above the socket: the cache sees the same ConnectionError a dead server
        gives. Switching back lets the next read try Redis at once instead of after the breaker.
        """
        if on:
            self._unreachable = self._unreachable or unreachable_client()
            self._client = self._unreachable
        else:
            self._client = self._primary
            if self._retry_at is not None:
                self._retry_at = self._clock()
            self._listing_retry_at = 0.0

    # -- what the page shows ------------------------------------------------------------------------

    async def _guarded(self, operation: Callable[[], Awaitable[Any]]) -> Any:
        """Run a listing or INFO unless Redis is known down (breaker, or one failed lately); None then."""
        if self._breaker_open() or self._clock() < self._listing_retry_at:
            return None
        try:
            return await operation()
        except REDIS_ERRORS as error:
            self.probe_errors += 1
            self._listing_retry_at = self._clock() + self.policy.retry_after_s
            self._failed(error, breaker=False)
            return None

    async def entries(self, limit: int = 50) -> Listing | None:
        """The cache's keys with remaining TTL (first `limit` by key); None while Redis is unreachable."""

        async def scan() -> Listing:
            keys = [key async for batch in self._cached_keys() for key in batch]
            shown = sorted(keys)[:limit]
            pipe = self._client.pipeline(transaction=False)
            for key in shown:
                pipe.pttl(key)
                pipe.get(key)
            replies = await pipe.execute() if shown else []
            entries = []
            for key, ttl_ms, raw in zip(shown, replies[::2], replies[1::2], strict=True):
                if raw is None:
                    continue  # expired between SCAN and GET
                family, _, user_id = key.removeprefix(PREFIX).partition(":")
                entries.append(CacheEntry(key, family, user_id, ttl_ms / 1000 if ttl_ms >= 0 else None,
                                          raw == "null"))
            return Listing(entries, len(keys))

        return await self._guarded(scan)

    async def server_counters(self) -> dict[str, int] | None:
        """Redis' own keyspace_hits/misses since `reset_stats` (server-wide); None on fakeredis."""
        if self.backend != "redis":
            return None
        info = await self._guarded(lambda: self._client.info("stats"))
        if not info:
            return None
        return {name: int(info.get(name, 0)) - self._info_baseline.get(name, 0)
                for name in ("keyspace_hits", "keyspace_misses")}

    async def reset_stats(self) -> None:
        self.stats = {family: FamilyStats() for family in FAMILIES}
        self.probe_errors = 0
        self._info_baseline = {}
        counters = await self.server_counters()
        self._info_baseline = counters or {}

    def totals(self) -> FamilyStats:
        total = FamilyStats()
        for stats in self.stats.values():
            for f in fields(FamilyStats):
                setattr(total, f.name, getattr(total, f.name) + getattr(stats, f.name))
        return total

    async def close(self) -> None:
        self._unsubscribe()
        for client in {id(c): c for c in (self._primary, self._unreachable) if c is not None}.values():
            try:
                await client.aclose()
            except REDIS_ERRORS + (RuntimeError,):  # closing must never fail a shutdown
                pass
