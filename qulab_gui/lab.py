"""The running application: the one object pages talk to.

`Lab` owns the engine, the session factory, the statement recorder and the Redis connection.
`start()` runs once at app startup (migrations, Redis probe); `stop()` disposes everything at
shutdown. NiceGUI does not await async startup handlers, so every public method first waits
for `ready()`: a page opened during startup simply waits a moment instead of failing.

Pages call the methods below with plain values and get plain values or model objects back;
they never see a session, a query or a Redis command.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

from redis.exceptions import RedisError
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from . import __version__
from .data import database, loading, pooling, profile_edits, samples, score_calculation, users, workload
from .data.cache import CachedUserRepository, Listing, Lookup, cache_client
from .data.consumer import ConsumerState, ProjectionConsumer, stream_tail
from .data.database import PoolSettings, StatementRecorder, masked_url
from .data.loading import LoadResult
from .data.models import Base, DomainEvent, User
from .data.outbox import Faults, OutboxPublisher, PublisherConfig, TickResult, default_name, retry_failed
from .data.redis_client import RedisConnection, connect
from .data.repositories import UserRepository
from .settings import Settings

log = logging.getLogger(__name__)

PUBLISH_INTERVAL_S = 0.5  # lab 5: the outbox publisher's default timer interval
MAX_BATCHES_PER_TICK = 20  # a backlog drains within a tick, yet a tick stays bounded
CONSUME_INTERVAL_S = 0.25
CONSUME_BLOCK_MS = 200  # real Redis: wait this long inside XREADGROUP for new entries
NPLUS1_RUN = "The N+1 measurement"  # lab 3: one run or sweep at a time

_current: Lab | None = None


def current_lab() -> Lab:
    """The Lab created by `setup()`; tests use it to seed and inspect state."""
    if _current is None:
        raise RuntimeError("QuLab is not set up: call qulab_gui.main.setup() first")
    return _current


class Lab:
    def __init__(self, settings: Settings) -> None:
        global _current
        _current = self
        self.settings = settings
        self.engine: AsyncEngine | None = None
        self.sessions: async_sessionmaker[AsyncSession] | None = None
        self.recorder: StatementRecorder | None = None
        self.redis: RedisConnection | None = None
        self.cache: CachedUserRepository | None = None  # lab 4
        self.started_at = datetime.now(UTC)
        self.startup_error: str | None = None
        self._ready = asyncio.Event()
        self._busy: set[str] = set()
        self.last_probe: pooling.ProbeResult | None = None  # shown again when the page is reopened
        # Last known health per backend (None until checked); the header chips show it.
        self.backend_status: dict[str, bool | None] = {"database": None, "redis": None}
        # Lab 5: the publisher and consumer exist once start() has a database and Redis; their
        # app.timers are created by setup() through register_outbox_timers().
        self.outbox_config = PublisherConfig()
        self.outbox_faults = Faults()
        self.publisher: OutboxPublisher | None = None
        self.consumer: ProjectionConsumer | None = None
        self._outbox_timers: dict[str, Any] = {}

    # -- lifecycle ------------------------------------------------------------------------------

    async def start(self) -> None:
        try:
            self.engine = database.create_engine(self.settings.database_url)
            self.recorder = StatementRecorder(self.engine)
            self.sessions = database.create_session_factory(self.engine)
            if self.settings.reset:
                await database.reset(self.engine)
            else:
                await database.migrate(self.engine)
            self.redis = await connect(self.settings.redis_url)
            self.cache = CachedUserRepository(cache_client(self.redis), self.sessions, backend=self.redis.backend)
            await self.cache.reset_stats()
            self._start_outbox()
        except Exception as error:
            self.startup_error = f"{type(error).__name__}: {error}"
            log.exception("QuLab could not start")
            raise
        finally:
            self._ready.set()

    async def stop(self) -> None:
        await self._stop_outbox()
        if self.redis is not None:
            if self.cache is not None:
                await self.cache.close()
            await self.redis.close()
        if self.engine is not None:
            await self.engine.dispose()

    async def ready(self) -> None:
        await self._ready.wait()
        if self.startup_error:
            raise RuntimeError(f"QuLab failed to start: {self.startup_error}")

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """One session per task or user action; callers open the transaction they need."""
        await self.ready()
        assert self.sessions is not None
        async with self.sessions() as session:
            yield session

    @asynccontextmanager
    async def exclusive(self, name: str) -> AsyncIterator[None]:
        """Refuse a second run of the same long action while one is going (double clicks)."""
        if name in self._busy:
            raise users.ValidationError(f"{name} is already running: wait for it to finish")
        self._busy.add(name)
        try:
            yield
        finally:
            self._busy.discard(name)

    def is_busy(self, name: str) -> bool:
        return name in self._busy

    # -- backends -------------------------------------------------------------------------------

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name if self.engine else "starting"

    @property
    def database_url(self) -> str:
        return masked_url(self.settings.database_url)

    @property
    def redis_backend(self) -> str:
        return self.redis.backend if self.redis else "starting"

    def pool_status(self) -> dict[str, object]:
        return pooling.pool_status(self.engine) if self.engine else {}

    async def database_ok(self) -> bool:
        try:
            async with self.session() as session:
                await session.execute(select(1))
            return True
        except Exception as error:  # a health check reports, it does not raise
            log.warning("database check failed: %s", error)
            return False

    async def refresh_status(self) -> None:
        """Re-check both backends; run by an app.timer so every open page sees the same state."""
        if self._ready.is_set() and not self.startup_error:
            database_ok, redis_ok = await asyncio.gather(self.database_ok(), self.redis_ok())
            self.backend_status = {"database": database_ok, "redis": redis_ok}

    async def redis_ok(self) -> bool:
        try:
            await self.ready()
            assert self.redis is not None
            # a degraded cache (its own client failing, or the lab-4 switch) counts as Redis degraded
            return bool(await self.redis.client.ping()) and (self.cache is None or await self.cache.check())
        except Exception as error:
            log.warning("redis check failed: %s", error)
            return False

    # -- lab 1: models --------------------------------------------------------------------------

    async def create_user(self, **form: Any) -> User:
        new = users.NewUser.parse(**form)  # raises ValidationError before any session exists
        async with self.session() as session:
            return await users.create_user(session, new)

    async def delete_user(self, user_id: str) -> users.DeletedUser:
        async with self.session() as session:
            return await users.delete_user(session, user_id)

    async def list_users(self, limit: int = 200) -> list[User]:
        async with self.session() as session:
            return await users.recent_users(session, limit)

    async def count_rows(self) -> dict[str, int]:
        async with self.session() as session:
            return {
                table.name: await session.scalar(select(func.count()).select_from(table)) or 0
                for table in Base.metadata.sorted_tables
            }

    async def reset_database(self) -> None:
        await self.ready()
        assert self.engine is not None
        await database.reset(self.engine)

    # -- lab 2: connectivity --------------------------------------------------------------------

    async def load_samples(self, n_users: int, scores_per_user: int = 1, progress: Any = None) -> int:
        async with self.exclusive("Loading sample data"), self.session() as session:
            return await samples.load_samples(session, n_users, scores_per_user, progress=progress)

    async def probe_pool(self, sessions: int, pool: PoolSettings, hold_s: float,
                         on_snapshot: Any = None) -> pooling.ProbeResult:
        async with self.exclusive("The concurrency probe"):
            await self.ready()
            self.last_probe = await pooling.run_probe(self.settings.database_url, sessions, pool, hold_s,
                                                      on_snapshot)
            return self.last_probe

    # -- lab 3: repository & N+1 ----------------------------------------------------------------

    async def add_sample_scores(self, per_user: int, progress: Any = None) -> int:
        async with self.exclusive("Loading sample data"), self.session() as session:
            return await samples.add_scores(session, per_user, progress=progress)

    async def measure_loading(self, strategies: Sequence[str], n: Any, on_result: Any = None) -> list[LoadResult]:
        """Load the first N users with each strategy; `on_result` sees every result as it completes."""
        async with self.exclusive(NPLUS1_RUN):
            n = await self._checked_n(n)
            return await self._run_loading_plan([(strategy, n) for strategy in strategies], on_result)

    async def sweep_loading(self, up_to: Any, on_result: Any = None) -> list[LoadResult]:
        """Lazy, selectin and joined at N = 10, 50, 100, 500, ... up to `up_to`, point by point."""
        async with self.exclusive(NPLUS1_RUN):
            up_to = await self._checked_n(up_to)
            return await self._run_loading_plan(loading.sweep_plan(up_to), on_result)

    async def _checked_n(self, n: Any) -> int:
        async with self.session() as session:
            return loading.check_n(n, await loading.count_users(session))

    async def _run_loading_plan(self, plan: list[tuple[str, int]], on_result: Any) -> list[LoadResult]:
        if loading.needs_app_engine(self.settings.database_url):
            assert self.sessions is not None and self.recorder is not None
            return await loading.run_plan(self.sessions, self.recorder, plan, on_result)
        return await loading.run_plan_off_loop(self.settings.database_url, plan, on_result)

    # -- lab 4: caching -------------------------------------------------------------------------

    async def _cache(self) -> CachedUserRepository:
        await self.ready()
        assert self.cache is not None
        return self.cache

    def _note_cache_health(self, cache: CachedUserRepository) -> None:
        """Turn the Redis chip orange at once when a read found the cache failing (the timer confirms)."""
        if cache.degraded and self.backend_status.get("redis"):
            self.backend_status = {**self.backend_status, "redis": False}

    async def cached_read(self, family: str, user_id: str | None) -> Lookup:
        """A profile or latest-score read through the cache, labelled HIT/MISS/ERROR/BYPASS with its latency."""
        if not user_id:
            raise users.ValidationError("Pick a user first")
        cache = await self._cache()
        lookup = await cache.read(family, user_id)
        self._note_cache_health(cache)
        return lookup

    async def invalidate_cached_user(self, user_id: str | None) -> int:
        if not user_id:
            raise users.ValidationError("Pick a user first")
        return await (await self._cache()).invalidate(user_id)

    async def invalidate_cache(self) -> int:
        return await (await self._cache()).invalidate_all()

    async def cache_entries(self, limit: int = 50) -> Listing | None:
        return await (await self._cache()).entries(limit)

    async def cache_counters(self) -> dict[str, Any]:
        """The cache's own counters per key family, and Redis' INFO counters on a real server."""
        cache = await self._cache()
        return {"families": {family: stats.as_dict() for family, stats in cache.stats.items()},
                "total": cache.totals().as_dict(), "server": await cache.server_counters(),
                **self.cache_health()}

    async def reset_cache_counters(self) -> None:
        await (await self._cache()).reset_stats()

    def cache_health(self) -> dict[str, Any]:
        cache = self.cache
        return {"degraded": bool(cache and cache.degraded), "last_error": cache.last_error if cache else None,
                "pending_invalidations": cache.pending_invalidations if cache else 0,
                "probe_errors": cache.probe_errors if cache else 0,
                "simulating_unreachable": bool(cache and cache.simulating_unreachable)}

    async def simulate_redis_unreachable(self, on: bool) -> None:
        """Point the cache at a closed port (the real fail-open path) or back at Redis; re-check at once."""
        (await self._cache()).simulate_unreachable(on)
        await self.refresh_status()

    async def edit_profile(self, user_id: str | None, *, name: str | None = None, years_experience: Any = None,
                           fail_before_commit: bool = False) -> dict[str, Any]:
        if not user_id:
            raise users.ValidationError("Pick a user first")
        await self.ready()
        assert self.sessions is not None
        return await profile_edits.update_profile(self.sessions, user_id, name=name, years_experience=years_experience,
                                                  fail_before_commit=fail_before_commit)

    async def run_cache_workload(self, reads: Any, skew: Any, *, cold: bool = True,
                                 on_progress: workload.Progress | None = None) -> workload.WorkloadResult:
        """K Zipf-skewed reads of the latest score, through the cache and uncached, in one run."""
        try:
            spec = workload.WorkloadSpec(reads=int(reads), skew=float(skew))
        except (TypeError, ValueError):
            raise users.ValidationError("Reads and skew must be numbers") from None
        async with self.exclusive("The cache workload"):
            cache = await self._cache()
            async with self.session() as session:
                user_ids = await UserRepository(session).ids(limit=samples.MAX_SAMPLE_USERS)
            spec.validate(len(user_ids))
            if cold:
                await cache.invalidate_all()
            result = await workload.run_workload(cache, user_ids, spec, on_progress)
            self._note_cache_health(cache)
            return result

    # -- lab 5: transactional outbox ------------------------------------------------------------

    def register_outbox_timers(self, timer: Any) -> None:
        """Called by setup() with NiceGUI's `app.timer`: the publisher and the consumer run on timers.

        An app.timer never overlaps itself; "publish now" shares the publisher's lock, so a manual
        tick waits for the timer's and the other way round.
        """
        self._outbox_timers["publisher"] = timer(PUBLISH_INTERVAL_S, self.publish_tick)
        self._outbox_timers["consumer"] = timer(CONSUME_INTERVAL_S, self.consume_tick)

    def _start_outbox(self) -> None:
        assert self.sessions is not None and self.redis is not None
        self.publisher = OutboxPublisher(self.sessions, self.redis.client, name=f"app:{default_name()}",
                                         config=self.outbox_config, faults=self.outbox_faults)
        # Its own connection: a blocking XREADGROUP must not hold up the publisher's commands.
        self.consumer = ProjectionConsumer(self.redis.new_client(blocking=True))

    async def _stop_outbox(self) -> None:
        for timer in self._outbox_timers.values():
            timer.active = False
        if self.publisher is not None:
            await self.publisher.stop()
        if self.consumer is not None:
            await self.consumer.stop()

    def _outbox_running(self) -> bool:
        return self._ready.is_set() and not self.startup_error and self.publisher is not None

    async def publish_tick(self) -> TickResult | None:
        """The publisher timer's callback (skipped until the Lab has started)."""
        if not self._outbox_running():
            return None
        assert self.publisher is not None
        return await self.publisher.drain(max_batches=MAX_BATCHES_PER_TICK)

    async def consume_tick(self) -> None:
        if not self._outbox_running():
            return
        assert self.consumer is not None and self.redis is not None
        try:
            await self.consumer.poll(block_ms=None if self.redis.is_fake else CONSUME_BLOCK_MS)
        except (RedisError, OSError) as error:  # Redis went away: the next tick tries again
            log.warning("outbox consumer: %s", error)

    async def publish_now(self) -> TickResult:
        await self.ready()
        assert self.publisher is not None
        return await self.publisher.drain(max_batches=MAX_BATCHES_PER_TICK)

    @property
    def publisher_running(self) -> bool:
        timer = self._outbox_timers.get("publisher")
        return bool(timer is not None and timer.active)

    def set_publisher_running(self, running: bool) -> None:
        timer = self._outbox_timers.get("publisher")
        if timer is not None:
            timer.active = running

    @property
    def publisher_interval_s(self) -> float:
        timer = self._outbox_timers.get("publisher")
        return float(timer.interval) if timer is not None else PUBLISH_INTERVAL_S

    def configure_publisher(self, *, interval_s: float | None = None, batch_size: int | None = None) -> None:
        if interval_s is not None:
            if not 0.1 <= interval_s <= 60:
                raise users.ValidationError("The publisher interval must be between 0.1 and 60 seconds")
            timer = self._outbox_timers.get("publisher")
            if timer is not None:
                timer.interval = interval_s
        if batch_size is not None:
            if not 1 <= batch_size <= 5000:
                raise users.ValidationError("The batch size must be between 1 and 5,000 events")
            self.outbox_config.batch_size = batch_size

    async def calculate_score(self, user_id: str | None, *, fail_after_write: bool = False
                              ) -> score_calculation.ScoreRecorded | score_calculation.RolledBack:
        """Score row + AIRScoreCalculated event in one transaction; with the failure switch, the proof
        that neither row exists afterwards (counted in a fresh session)."""
        if not user_id:
            raise users.ValidationError("Pick a user first")
        await self.ready()
        assert self.sessions is not None
        try:
            return await score_calculation.record_score(self.sessions, user_id, fail_after_write=fail_after_write)
        except score_calculation.SimulatedFailure as failure:
            async with self.session() as session:
                scores, events = await score_calculation.rows_for(session, failure.score_id, failure.event_id)
            return score_calculation.RolledBack(failure.score_id, failure.event_id, scores, events)

    async def score_burst(self, count: int) -> int:
        async with self.exclusive("A burst of scores"):
            await self.ready()
            assert self.sessions is not None
            return len(await score_calculation.record_burst(self.sessions, count))

    async def retry_dead_letters(self) -> int:
        async with self.session() as session:
            return await retry_failed(session)

    async def recent_events(self, limit: int = 30) -> list[DomainEvent]:
        async with self.session() as session:
            query = select(DomainEvent).order_by(DomainEvent.occurred_at.desc(), DomainEvent.id.desc()).limit(limit)
            return list(await session.scalars(query))

    async def stream_tail(self, count: int = 10) -> list[dict[str, str]]:
        await self.ready()
        assert self.redis is not None
        return await stream_tail(self.redis.client, count)

    async def consumer_state(self) -> ConsumerState | None:
        if not self._outbox_running():
            return None
        assert self.consumer is not None
        try:
            return await self.consumer.state()
        except (RedisError, OSError) as error:
            log.warning("outbox consumer state: %s", error)
            return None

    def publisher_health(self) -> dict[str, Any]:
        """What /api/health and the page show about the publisher itself."""
        stats = self.publisher.stats if self.publisher else None
        last = stats.last_tick if stats else None
        return {
            "publisher": "running" if self.publisher_running else "paused",
            "interval_s": self.publisher_interval_s,
            "batch_size": self.outbox_config.batch_size,
            "published_per_s": round(stats.published_per_s(), 1) if stats else 0.0,
            "published_total": stats.published if stats else 0,
            "broker_failures": stats.broker_failures if stats else 0,
            "dead_lettered": stats.dead_lettered if stats else 0,
            "crashes": stats.crashes if stats else 0,
            "last_tick_ms": round(last.duration_s * 1000, 1) if last else None,
            "last_tick_error": last.error if last else None,
            "latency_p50_ms": stats.latency_ms(50) if stats else None,
            "latency_p95_ms": stats.latency_ms(95) if stats else None,
        }

    async def outbox_status(self) -> dict[str, Any]:
        return {**await self.outbox_counts(), **self.publisher_health()}

    # -- health ---------------------------------------------------------------------------------

    async def outbox_counts(self) -> dict[str, Any]:
        async with self.session() as session:
            rows = await session.execute(select(DomainEvent.status, func.count()).group_by(DomainEvent.status))
            counts = {status: n for status, n in rows.all()}
            oldest = await session.scalar(
                select(func.min(DomainEvent.occurred_at)).where(DomainEvent.status == "pending")
            )
        age = (datetime.now(UTC) - oldest).total_seconds() if oldest else None
        return {
            "pending": counts.get("pending", 0),
            "published": counts.get("published", 0),
            "failed": counts.get("failed", 0),
            "oldest_pending_age_s": round(age, 3) if age is not None else None,
        }

    async def health(self) -> dict[str, Any]:
        db_ok, redis_ok = await asyncio.gather(self.database_ok(), self.redis_ok())
        self.backend_status = {"database": db_ok, "redis": redis_ok}
        outbox: dict[str, Any] = {"pending": None, "published": None, "failed": None,
                                  "oldest_pending_age_s": None}
        if db_ok:
            outbox = await self.outbox_counts()
        outbox.update(self.publisher_health())
        return {
            "status": "ok" if db_ok and redis_ok else "degraded",
            "version": __version__,
            "database": {"dialect": self.dialect, "url": self.database_url, "ok": db_ok},
            "redis": {"backend": self.redis_backend, "url": self.settings.redis_url, "ok": redis_ok},
            "outbox": outbox,
            "cache": self.cache_health(),
        }
