"""The Lab: the running application's context, and labs 1 and 2.

`Lab` owns the engine, the session factory, the statement recorder and the Redis connection.
`start()` runs once at app startup (migrations, Redis probe); `stop()` disposes everything at
shutdown. NiceGUI does not await async startup handlers, so every public method first waits
for `ready()`: a page opened during startup simply waits a moment instead of failing.

Pages call the methods below (and those of the lab sections `nplus1`, `caching`, `outbox`)
with plain values and get plain values or model objects back; they never see a session, a
query or a Redis command.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import asdict
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from qulab_gui import __version__
from qulab_gui.data import database, pooling, samples, users
from qulab_gui.data.database import PoolSettings, StatementRecorder, masked_url
from qulab_gui.data.latency import Latency, NetworkLatency
from qulab_gui.data.models import User
from qulab_gui.data.notebook import Notebook
from qulab_gui.data.redis_client import RedisConnection, connect
from qulab_gui.data.redis_client import masked_url as redis_masked_url
from qulab_gui.data.repositories import UserRepository, row_counts
from qulab_gui.settings import Settings

from . import kept
from .caching import CachingLab
from .nplus1 import NPlus1Lab
from .outbox import OutboxLab
from .results import FormValue, OnSnapshot, Progress, TableCounts
from .runs import Runs, Slots
from .sandbox import Sandbox
from .timers import StartTimer, Timer

log = logging.getLogger(__name__)

HEALTH_PING_TIMEOUT_S = 0.3  # /api/health answers within a second even while Redis hangs


STATUS_INTERVAL_S = 3.0  # how often the header chips' backend check runs


class Lab:
    def __init__(self, settings: Settings, sandbox: Sandbox | None = None, slots: Slots | None = None) -> None:
        self.settings = settings
        self.sandbox = sandbox or Sandbox.single_user(settings)  # whose lab this is, and where its data lives
        self.engine: AsyncEngine | None = None
        self.sessions: async_sessionmaker[AsyncSession] | None = None
        self.recorder: StatementRecorder | None = None
        self.redis: RedisConnection | None = None
        self.startup_error: str | None = None
        self.notebook = Notebook(self.sandbox.workspace)  # the learner's kept answers and results
        self.latency = Latency()  # the network knob: 0 ms on a desktop, shared by the engine and Redis
        self._ready = asyncio.Event()
        self._schema_in_place = asyncio.Event()  # cleared while reset_database() recreates the tables
        self._schema_in_place.set()
        self.runs = Runs(slots)  # long actions: one of each at a time, heavy ones share the room's slots
        self._timers: list[Timer] = []
        # Last known health per backend (None until checked); the header chips show it.
        self.backend_status: dict[str, bool | None] = {"database": None, "redis": None}
        # The labs that need more than the shell, each a section in the module named like its page.
        self.nplus1 = NPlus1Lab(self)
        self.caching = CachingLab(self)
        self.outbox = OutboxLab(self)

    # -- lifecycle ------------------------------------------------------------------------------

    def register_timers(self, timer: StartTimer) -> None:
        """Start this lab's timers with NiceGUI's `app.timer`: the backend check, the outbox publisher and consumer."""
        self._timers.append(timer(STATUS_INTERVAL_S, self.refresh_status))
        self._timers += self.outbox.register_timers(timer)

    async def start(self) -> None:
        sandbox = self.sandbox
        try:
            self.engine = database.create_engine(sandbox.database_url, sandbox.pool, self.latency, sandbox.schema)
            self.recorder = StatementRecorder(self.engine)
            self.sessions = database.create_session_factory(self.engine)
            if self.settings.reset and sandbox.learner is None:
                await database.reset(self.engine, sandbox.schema)
            else:
                await database.migrate(self.engine, sandbox.schema)
            self.redis = await connect(self.settings.redis_url, latency=self.latency)
            await self.caching.start()
            self.outbox.start()
            self._ready.set()  # before the first check, which waits for it
            await self.refresh_status()  # the header and home page know the backends from the first view
        except Exception as error:  # shown by every page and /api/health instead of a traceback
            self.startup_error = f"{type(error).__name__}: {error}"
            log.error("QuLab could not start: %s", self.startup_error)
        finally:
            self._ready.set()

    async def stop(self) -> None:
        for timer in self._timers:
            timer.cancel()
        self._timers.clear()
        await self.outbox.stop()
        await self.caching.stop()
        if self.redis is not None:
            await self.redis.close()
        if self.engine is not None:
            await database.close_engine(self.engine)

    @property
    def started(self) -> bool:
        """True once start() has succeeded (timers use it to skip ticks during startup)."""
        return self._ready.is_set() and not self.startup_error

    async def ready(self) -> None:
        await self._ready.wait()
        if self.startup_error:
            raise RuntimeError(f"QuLab failed to start: {self.startup_error}")

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """One session per task or user action; callers open the transaction they need."""
        await self.ready()
        await self._schema_in_place.wait()  # a reset is recreating the tables: wait, do not fail
        assert self.sessions is not None
        async with self.sessions() as session:
            yield session

    def exclusive(self, name: str, *, heavy: bool = False) -> AbstractAsyncContextManager[None]:
        """Refuse a second run of the same long action while one is going (double clicks); see runs.py."""
        return self.runs.exclusive(name, heavy=heavy)

    @asynccontextmanager
    async def sample_session(self) -> AsyncIterator[AsyncSession]:
        """A session for adding sample data: one such load at a time, whichever page starts it."""
        async with self.exclusive("Loading sample data", heavy=True), self.session() as session:
            yield session

    def is_busy(self, name: str) -> bool:
        return self.runs.is_busy(name)

    # -- backends -------------------------------------------------------------------------------

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name if self.engine else "starting"

    @property
    def database_url(self) -> str:
        return masked_url(self.sandbox.database_url)

    @property
    def redis_url(self) -> str:
        return redis_masked_url(self.settings.redis_url)

    @property
    def redis_backend(self) -> str:
        return self.redis.backend if self.redis else "starting"

    def set_latency(self, ms: Any) -> NetworkLatency:
        """Simulate a network: every statement and Redis command waits `ms` from now on (0 to 20)."""
        return self.latency.set(ms)

    def pool_status(self) -> pooling.PoolStatus | None:
        return pooling.pool_status(self.engine) if self.engine else None

    async def database_ok(self) -> bool:
        try:
            async with self.session() as session:
                await session.execute(select(1))
            return True
        except Exception as error:  # a health check reports, it does not raise
            log.warning("database check failed: %s", error)
            return False

    async def refresh_status(self) -> dict[str, bool | None]:
        """Re-check both backends: the one writer of `backend_status`, which the header chips show.

        Run by an app.timer (so every open page sees the same state) and by /api/health.
        """
        if self.started:
            database_ok, redis_ok = await asyncio.gather(self.database_ok(), self.redis_ok())
            self.backend_status = {"database": database_ok, "redis": redis_ok}
        return self.backend_status

    async def redis_ok(self) -> bool:
        try:
            await self.ready()
            assert self.redis is not None
            # a degraded cache (its own client failing, or the lab-4 switch) counts as Redis degraded
            # bounded: a server that hangs (CLIENT PAUSE) must not hold up /api/health
            return bool(await asyncio.wait_for(self.redis.client.ping(), HEALTH_PING_TIMEOUT_S)) \
                and await self.caching.healthy()
        except Exception as error:
            log.warning("redis check failed: %s", error)
            return False

    # -- lab 1: models --------------------------------------------------------------------------

    async def create_user(self, **form: FormValue) -> User:
        new = users.NewUser.parse(**form)  # raises ValidationError before any session exists
        async with self.session() as session:
            return await users.create_user(session, new)

    async def delete_user(self, user_id: str) -> users.DeletedUser:
        async with self.session() as session:
            return await users.delete_user(session, user_id)

    async def list_users(self, limit: int = 200) -> list[User]:
        async with self.session() as session:
            return await UserRepository(session).recent(limit=limit)

    async def count_rows(self) -> TableCounts:
        async with self.session() as session:
            return TableCounts(**await row_counts(session))

    async def reset_database(self) -> None:
        await self.ready()
        assert self.engine is not None
        async with self.exclusive("Resetting the database"):
            # a run in flight would fail on missing tables: it is stopped with a message instead
            await self.runs.interrupt_all("the database was reset")
            self._schema_in_place.clear()
            try:
                await database.reset(self.engine, self.sandbox.schema)
            finally:
                self._schema_in_place.set()
        await self.caching.invalidate_all()  # the rows behind every cached entry are gone

    # -- lab 2: connectivity --------------------------------------------------------------------

    async def load_samples(self, n_users: int, scores_per_user: int = 1, progress: Progress | None = None) -> int:
        async with self.sample_session() as session:
            return await samples.load_samples(session, n_users, scores_per_user, progress=progress)

    async def probe_pool(self, sessions: int, pool: PoolSettings, hold_s: float,
                         on_snapshot: OnSnapshot | None = None) -> pooling.ProbeResult:
        async with self.exclusive("The concurrency probe"):
            await self.ready()
            result = await pooling.run_probe(self.sandbox.database_url, sessions, pool, hold_s, on_snapshot)
        await kept.keep(self.notebook, kept.CONNECTIVITY, "probe", result)
        return result

    @property
    def last_probe(self) -> pooling.ProbeResult | None:
        """The last probe, kept in the learner's notebook: drawn again when the page is reopened."""
        return kept.last(self.notebook, kept.CONNECTIVITY, "probe", pooling.ProbeResult)

    # -- health ---------------------------------------------------------------------------------

    async def health(self) -> dict[str, Any]:
        """/api/health: always an answer (degraded, never an error) while the app serves."""
        await self._ready.wait()  # a request during startup waits for it, however it ends
        status = await self.refresh_status()
        db_ok, redis_ok = bool(status["database"]), bool(status["redis"])
        outbox: dict[str, Any] = {"pending": None, "published": None, "failed": None,
                                  "oldest_pending_age_s": None}
        if db_ok:
            try:
                outbox = await self.outbox.counts()
            except SQLAlchemyError as error:  # e.g. the tables are being recreated by a reset
                log.warning("outbox counts unavailable: %s", error)
                db_ok = False
        outbox.update(self.outbox.publisher_health())
        return {
            "status": "ok" if db_ok and redis_ok and outbox["breaker"] == "closed" else "degraded",
            "version": __version__,
            "database": {"dialect": self.dialect, "url": self.database_url, "ok": db_ok},
            "redis": {"backend": self.redis_backend, "url": self.redis_url, "ok": redis_ok},
            "outbox": outbox,
            "cache": asdict(self.caching.health()),
            "latency_ms": self.latency.ms,
            **({"startup_error": self.startup_error} if self.startup_error else {}),
        }
