"""Engine, pool, session factory, statement recorder and schema lifecycle.

Everything the labs measure about the database starts here: the `StatementRecorder` hooks the
engine's own cursor events, so a count shown on a page is the number of statements the DBAPI
really executed, not an estimate.
"""

from __future__ import annotations

import asyncio
import re
import time
import weakref
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy
from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.pool import AsyncAdaptedQueuePool, NullPool, StaticPool

from .errors import BUSY_TIMEOUT_S
from .latency import Latency, delay_statements
from .models import Base

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
CLOSE_WAIT_S = 2.0  # how long stopping waits for connections in use (a query in flight takes ms)


@dataclass(frozen=True)
class PoolSettings:
    size: int = 5
    max_overflow: int = 10
    timeout_s: float = 10.0
    pre_ping: bool = True


def masked_url(url: str | URL) -> str:
    """The URL as it may be shown on a page or in /api/health: any password replaced by ***."""
    return make_url(url).render_as_string(hide_password=True)


def is_memory_sqlite(url: URL) -> bool:
    return url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:")


def create_engine(url: str, pool: PoolSettings | None = None, latency: Latency | None = None,
                  schema: str | None = None) -> AsyncEngine:
    """An async engine with the pool that suits the dialect.

    In-memory SQLite lives inside one connection, so it gets a StaticPool (one shared connection,
    where size and overflow arguments are invalid). Files and PostgreSQL get a queue pool whose
    limits the connectivity lab makes visible. With `latency`, every statement waits that long.
    With `schema` (PostgreSQL: a classroom learner's own), every connection's search_path is that
    schema, so the same unqualified tables and migrations serve each learner apart.
    """
    parsed = make_url(url)
    pool = pool or PoolSettings()
    if is_memory_sqlite(parsed):
        engine = create_async_engine(parsed, poolclass=StaticPool, connect_args={"check_same_thread": False})
    else:
        engine = create_async_engine(
            parsed,
            connect_args={"server_settings": {"search_path": schema}} if schema else {},
            poolclass=AsyncAdaptedQueuePool,
            pool_size=pool.size,
            max_overflow=pool.max_overflow,
            pool_timeout=pool.timeout_s,
            pool_pre_ping=pool.pre_ping,
        )
    if parsed.get_backend_name() == "sqlite":
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        if parsed.database and not is_memory_sqlite(parsed):
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    if latency is not None:
        delay_statements(engine, latency)  # before any StatementRecorder: recorded times include the wait
    return engine


async def close_engine(engine: AsyncEngine, wait_s: float = CLOSE_WAIT_S) -> None:
    """Close every connection of `engine`, letting those still checked out come back first.

    `dispose()` closes only the connections in the pool. One still checked out (a page's session
    or a timer's check in flight when the lab stops) would come back to a pool nobody closes and
    be left to the garbage collector: aiosqlite's thread then reports into a closed event loop,
    and a PostgreSQL backend stays open until then. The wait is bounded, so stopping never hangs.
    """
    checked_out = getattr(engine.pool, "checkedout", None)  # a StaticPool or NullPool keeps no count
    deadline = time.monotonic() + wait_s
    while callable(checked_out) and checked_out() and time.monotonic() < deadline:
        await asyncio.sleep(0.01)
    await engine.dispose()


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")  # SQLite ignores foreign keys (and so cascades) without it
    cursor.execute("PRAGMA journal_mode=WAL")  # readers do not block the writer
    # Wait this long for another writer's lock, then fail ("database is busy" on the page). The one
    # setting: sqlite3's own connect(timeout=...) would set the same thing and be overridden here.
    cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_S * 1000}")
    cursor.execute("PRAGMA synchronous=NORMAL")  # safe with WAL, much faster commits
    cursor.close()


def create_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    # expire_on_commit=False: objects stay readable after commit without a surprise lazy refresh.
    return async_sessionmaker(engine, expire_on_commit=False)


# -- statement recorder -------------------------------------------------------------------------

_NUMBERS = re.compile(r"\b\d+\b")
_PLACEHOLDER_LISTS = re.compile(r"\((?:\s*(?:\?|%s|\$\d+|__\[POSTCOMPILE_\w+\]|:\w+)(?:::\w+)?\s*,?)+\)")  # ::cast
_SPACES = re.compile(r"\s+")


def sql_shape(statement: str) -> str:
    """A statement with literals and IN-list lengths folded, so 'similar queries' group together."""
    shape = _PLACEHOLDER_LISTS.sub("(?)", statement)
    shape = _NUMBERS.sub("N", shape)
    return _SPACES.sub(" ", shape).strip()


@dataclass
class RecordedStatement:
    sql: str
    duration_s: float
    many: bool
    rows: int = 0  # rows the statement returned to Python


def fetched_rows(cursor: Any) -> int:
    """How many rows a statement returned, read without consuming them.

    SQLAlchemy's async adapters (aiosqlite, asyncpg) fetch a whole non-streaming result into
    the adapted cursor's `_rows` buffer during execute, so its length is exact and costs nothing.
    Other cursors report `rowcount` (-1 for SELECT on many drivers: then 0 is shown).
    """
    if cursor.description is None:
        return 0  # no result set: INSERT/UPDATE/DDL
    buffered = getattr(cursor, "_rows", None)
    return len(buffered) if buffered is not None else max(cursor.rowcount, 0)


@dataclass
class Capture:
    """The statements executed inside one `StatementRecorder.capture()` block."""

    statements: list[RecordedStatement] = field(default_factory=list)
    started: float = field(default_factory=time.perf_counter)
    elapsed_s: float = 0.0

    @property
    def count(self) -> int:
        return len(self.statements)

    @property
    def db_time_s(self) -> float:
        return sum(s.duration_s for s in self.statements)

    @property
    def rows(self) -> int:
        return sum(s.rows for s in self.statements)

    def shapes(self) -> list[tuple[str, int]]:
        """Distinct statement shapes with how often each ran, most frequent first."""
        return Counter(sql_shape(s.sql) for s in self.statements).most_common()


_active: ContextVar[tuple[Capture, ...]] = ContextVar("qulab_active_captures", default=())


class StatementRecorder:
    """Counts and times the statements an engine executes, per block of code.

    `capture()` works per asyncio task (a context variable, which SQLAlchemy carries into its
    greenlets), so two labs measuring at the same time never see each other's statements.
    The engine-wide `total` counts everything, for the header statistics.
    """

    def __init__(self, engine: AsyncEngine) -> None:
        self.total = 0
        sync_engine = engine.sync_engine
        event.listen(sync_engine, "before_cursor_execute", self._before)
        event.listen(sync_engine, "after_cursor_execute", self._after)

    def _before(self, conn: Connection, cursor: Any, statement: str, params: Any, context: Any, many: bool) -> None:
        conn.info["qulab_t0"] = time.perf_counter()

    def _after(self, conn: Connection, cursor: Any, statement: str, params: Any, context: Any, many: bool) -> None:
        self.total += 1
        captures = _active.get()
        if captures:
            recorded = RecordedStatement(statement, time.perf_counter() - conn.info.pop("qulab_t0"), many,
                                         fetched_rows(cursor))
            for capture in captures:
                capture.statements.append(recorded)

    @contextmanager
    def capture(self) -> Iterator[Capture]:
        capture = Capture()
        token = _active.set((*_active.get(), capture))
        try:
            yield capture
        finally:
            _active.reset(token)
            capture.elapsed_s = time.perf_counter() - capture.started


# -- schema lifecycle ---------------------------------------------------------------------------


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    return config


# Alembic keeps the running migration in module globals (`alembic.context`): two migrations that
# interleave on one loop (a classroom opening sandboxes at once) would run in each other's context.
_migration_locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = weakref.WeakKeyDictionary()


async def migrate(engine: AsyncEngine, schema: str | None = None) -> None:
    """Bring the schema to the newest migration; a student's existing data survives upgrades.

    With `schema` (the engine's search_path), the schema is created first if it does not exist.
    """
    lock = _migration_locks.setdefault(asyncio.get_running_loop(), asyncio.Lock())
    if engine.url.get_backend_name() == "sqlite" and not is_memory_sqlite(engine.url):
        async with lock:  # a classroom opens thirty sandboxes: their migrations leave the loop free
            await asyncio.to_thread(_upgrade_sqlite_file, engine.url)
        return
    async with lock, engine.begin() as conn:
        if schema:
            await conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))  # a checked name: [a-z0-9_]
        await conn.run_sync(lambda sync_conn: command.upgrade(alembic_config(sync_conn), "head"))


def _upgrade_sqlite_file(url: URL) -> None:
    """Alembic is synchronous: through the async engine its Python work (reading the scripts,
    comparing revisions) runs on the event loop. A file can be upgraded with the standard sqlite3
    driver on a thread instead; an in-memory database lives in the async engine's connection only."""
    sync_engine = sqlalchemy.create_engine(url.set(drivername="sqlite"), poolclass=NullPool)
    event.listen(sync_engine, "connect", _sqlite_pragmas)
    try:
        with sync_engine.begin() as conn:
            command.upgrade(alembic_config(conn), "head")
    finally:
        sync_engine.dispose()


async def reset(engine: AsyncEngine, schema: str | None = None) -> None:
    """Drop every lab table (and Alembic's bookkeeping), then migrate from scratch."""
    if schema:
        await migrate(engine, schema)  # the schema exists before its tables are dropped
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.drop_all)
        await conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
    await migrate(engine, schema)


async def current_revision(engine: AsyncEngine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    async with engine.connect() as conn:
        return await conn.run_sync(lambda c: MigrationContext.configure(c).get_current_revision())
