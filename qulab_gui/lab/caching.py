"""Lab 4 · Caching: the read-through cache, its counters, the fail-open switch and the workload."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from redis.asyncio import Redis

from qulab_gui.data import profile_edits, samples, workload
from qulab_gui.data.cache import (
    CACHE_TIMEOUT_S,
    REDIS_ERRORS,
    CachedUserRepository,
    CacheKeys,
    CachePolicy,
    Listing,
    Lookup,
    cache_client,
)
from qulab_gui.data.errors import ValidationError, number_in_range, require_user, whole_number
from qulab_gui.data.redis_client import client_options
from qulab_gui.data.repositories import UserRepository
from qulab_gui.net import free_port

from . import kept
from .context import LabContext
from .results import CacheCounters, CacheHealth, FormValue


def unreachable_client() -> Redis:
    """A real client pointed at a port nobody listens on: every command fails like a dead server."""
    return Redis(host="127.0.0.1", port=free_port(), **client_options(CACHE_TIMEOUT_S, fail_fast=True))


class CachingLab:
    def __init__(self, lab: LabContext) -> None:
        self.lab = lab
        self.cache: CachedUserRepository | None = None
        self._unreachable: Redis | None = None  # the client of the simulated outage, once switched on

    async def start(self) -> None:
        lab = self.lab
        assert lab.redis is not None and lab.sessions is not None
        self.cache = CachedUserRepository(cache_client(lab.redis), lab.sessions, backend=lab.redis.backend,
                                          names=CacheKeys(lab.sandbox.names.cache_prefix))
        await self.cache.reset_stats()

    async def stop(self) -> None:
        if self.cache is not None:
            await self.cache.close()
        if self._unreachable is not None:
            try:
                await self._unreachable.aclose()
            except REDIS_ERRORS + (RuntimeError,):  # closing must never fail a shutdown
                pass

    @property
    def prefix(self) -> str:
        """The key prefix of this lab's cache: `qulab:cache:`, or a classroom learner's own."""
        return self.lab.sandbox.names.cache_prefix

    @property
    def policy(self) -> CachePolicy:
        """TTLs and breaker interval in force, for the page to state them as they are."""
        return self.cache.policy if self.cache is not None else CachePolicy()

    async def _cache(self) -> CachedUserRepository:
        await self.lab.ready()
        assert self.cache is not None
        return self.cache

    async def healthy(self) -> bool:
        """False while the cache is degraded (its client failing, or the simulate switch on)."""
        return self.cache is None or await self.cache.check()

    async def _note_health(self, cache: CachedUserRepository) -> None:
        """A read found the cache failing: re-check now so the Redis chip turns orange at once."""
        if cache.degraded:
            await self.lab.refresh_status()

    async def read(self, family: str, user_id: str | None) -> Lookup:
        """A profile or latest-score read through the cache, labelled HIT/MISS/ERROR/BYPASS with its latency."""
        cache = await self._cache()
        lookup = await cache.read(family, require_user(user_id))
        await self._note_health(cache)
        return lookup

    async def invalidate_user(self, user_id: str | None) -> int:
        return await (await self._cache()).invalidate(require_user(user_id))

    async def invalidate_all(self) -> int:
        return await (await self._cache()).invalidate_all()

    async def entries(self, limit: int = 50) -> Listing | None:
        return await (await self._cache()).entries(limit)

    async def counters(self) -> CacheCounters:
        """The cache's own counters per key family (a snapshot), and Redis' INFO counters on a real server."""
        cache = await self._cache()
        server = await cache.server_counters()
        return CacheCounters({family: replace(stats) for family, stats in cache.stats.items()}, cache.totals(),
                             server, self.health())

    async def reset_counters(self) -> None:
        await (await self._cache()).reset_stats()

    def health(self) -> CacheHealth:
        cache = self.cache
        return CacheHealth(degraded=bool(cache and cache.degraded), last_error=cache.last_error if cache else None,
                           pending_invalidations=cache.pending_invalidations if cache else 0,
                           probe_errors=cache.probe_errors if cache else 0,
                           simulating_unreachable=self.simulating_unreachable)

    @property
    def simulating_unreachable(self) -> bool:
        return self.cache is not None and self._unreachable is not None and self.cache.client is self._unreachable

    async def simulate_unreachable(self, on: bool) -> None:
        """Point the cache at a closed port (on) or back at Redis (off); re-check the backends at once.

        Nothing is faked above the socket: the cache sees the same ConnectionError a dead server
        gives, and takes its real fail-open path.
        """
        cache = await self._cache()
        if on:
            self._unreachable = self._unreachable or unreachable_client()
        cache.use_client(self._unreachable if on else None)
        await self.lab.refresh_status()

    async def edit_profile(self, user_id: str | None, *, name: str | None = None,
                           years_experience: FormValue = None, fail_before_commit: bool = False) -> dict[str, Any]:
        await self.lab.ready()
        assert self.lab.sessions is not None
        return await profile_edits.update_profile(self.lab.sessions, require_user(user_id), name=name,
                                                  years_experience=years_experience,
                                                  fail_before_commit=fail_before_commit)

    async def run_workload(self, reads: FormValue, skew: FormValue, *, cold: bool = True,
                           on_progress: workload.Progress | None = None) -> workload.WorkloadResult:
        """K Zipf-skewed reads of the latest score, through the cache and uncached, in one run."""
        try:  # reads are checked whole, never truncated: 2.5 is refused, not run as 2
            spec = workload.WorkloadSpec(reads=whole_number(reads, "Reads", 1, workload.MAX_READS),
                                         skew=number_in_range(skew, "Skew", 0, 3, " (0 is uniform)"))
        except ValueError as problem:  # ValidationError included
            raise ValidationError(str(problem)) from None
        async with self.lab.exclusive("The cache workload", heavy=True):
            cache = await self._cache()
            async with self.lab.session() as session:
                user_ids = await UserRepository(session).ids(limit=samples.MAX_SAMPLE_USERS)
            spec.validate(len(user_ids))
            if cold:
                await cache.invalidate_all()
            result = await workload.run_workload(cache, user_ids, spec, on_progress)
            await self._note_health(cache)
            await kept.keep(self.lab.notebook, kept.CACHING, "workload", result.summary())
            return result

    def last_workload(self) -> workload.WorkloadSummary | None:
        """The kept summary of the last workload run: the page's chart and numbers after a restart."""
        return kept.last(self.lab.notebook, kept.CACHING, "workload", workload.WorkloadSummary)
