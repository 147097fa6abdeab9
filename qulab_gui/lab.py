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
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from . import __version__
from .data import database, pooling, samples, users
from .data.database import PoolSettings, StatementRecorder, masked_url
from .data.models import Base, DomainEvent, User
from .data.redis_client import RedisConnection, connect
from .settings import Settings

log = logging.getLogger(__name__)

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
        self.started_at = datetime.now(UTC)
        self.startup_error: str | None = None
        self._ready = asyncio.Event()
        self._busy: set[str] = set()
        # Last known health per backend (None until checked); the header chips show it.
        self.backend_status: dict[str, bool | None] = {"database": None, "redis": None}

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
        except Exception as error:
            self.startup_error = f"{type(error).__name__}: {error}"
            log.exception("QuLab could not start")
            raise
        finally:
            self._ready.set()

    async def stop(self) -> None:
        if self.redis is not None:
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
            return bool(await self.redis.client.ping())
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

    async def probe_pool(self, sessions: int, pool: PoolSettings, hold_s: float, on_snapshot: Any = None):
        async with self.exclusive("The concurrency probe"):
            await self.ready()
            return await pooling.run_probe(self.settings.database_url, sessions, pool, hold_s, on_snapshot)

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
        outbox["publisher"] = "paused"
        return {
            "status": "ok" if db_ok and redis_ok else "degraded",
            "version": __version__,
            "database": {"dialect": self.dialect, "url": self.database_url, "ok": db_ok},
            "redis": {"backend": self.redis_backend, "url": self.settings.redis_url, "ok": redis_ok},
            "outbox": outbox,
        }
