"""Shared fixtures: a fresh database and Redis per test, on SQLite/fakeredis always and on the real
servers named by QULAB_TEST_DATABASE_URL / QULAB_TEST_REDIS_URL when those are set (CI sets both).
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import pytest

TEST_DATABASE_URL = os.environ.get("QULAB_TEST_DATABASE_URL")
TEST_REDIS_URL = os.environ.get("QULAB_TEST_REDIS_URL")

DATABASES = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgresql", id="postgresql", marks=pytest.mark.skipif(
        not TEST_DATABASE_URL, reason="QULAB_TEST_DATABASE_URL is not set: no PostgreSQL to test on")),
]
T = TypeVar("T")

REDISES = [
    pytest.param("fakeredis", id="fakeredis"),
    pytest.param("redis", id="redis", marks=pytest.mark.skipif(
        not TEST_REDIS_URL, reason="QULAB_TEST_REDIS_URL is not set: no Redis server to test on")),
]


@pytest.fixture(params=DATABASES)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An async database URL for one test: a temp SQLite file, or the test PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'test.db'}"
    assert TEST_DATABASE_URL
    return TEST_DATABASE_URL


@pytest.fixture
async def engine(database_url: str):
    """A migrated, empty database (reset first: the PostgreSQL test database is shared across tests)."""
    from qulab_gui.data import database

    engine = database.create_engine(database_url)
    await database.reset(engine)
    yield engine
    await engine.dispose()


@pytest.fixture
def recorder(engine):
    from qulab_gui.data.database import StatementRecorder

    return StatementRecorder(engine)


@pytest.fixture
def sessions(engine):
    from qulab_gui.data.database import create_session_factory

    return create_session_factory(engine)


@pytest.fixture(params=REDISES)
async def redis_conn(request: pytest.FixtureRequest) -> AsyncIterator:
    """A RedisConnection with an empty keyspace: fakeredis, or the test Redis after FLUSHDB."""
    from qulab_gui.data import redis_client

    if request.param == "fakeredis":
        conn = redis_client.fake_connection("test")
    else:
        assert TEST_REDIS_URL
        conn = await redis_client.connect(TEST_REDIS_URL)
        assert conn.backend == "redis", f"QULAB_TEST_REDIS_URL={TEST_REDIS_URL} did not answer"
        await conn.client.flushdb()
    yield conn
    await conn.close()


async def until(condition: Callable[[], bool | Awaitable[bool]], timeout_s: float = 5.0, *,
                message: str = "condition") -> None:
    """Wait for `condition` (a plain or async callable) to hold; fail with `message` after `timeout_s`.

    The one way tests wait for something to happen: no fixed sleeps where a condition can be awaited.
    """
    deadline = time.monotonic() + timeout_s
    while True:
        result = condition()
        if asyncio.iscoroutine(result) or isinstance(result, Awaitable):
            result = await result
        if result:
            return
        assert time.monotonic() < deadline, f"timed out after {timeout_s} s waiting for {message}"
        await asyncio.sleep(0.01)


def until_sync(condition: Callable[[], T], timeout_s: float = 5.0, *, message: str = "condition",
               interval_s: float = 0.05) -> T:
    """`until` for the synchronous end-to-end tests (Playwright's sync API, a process to watch).

    Returns the condition's first truthy value; fails with `message` after `timeout_s`.
    """
    deadline = time.monotonic() + timeout_s
    while not (result := condition()):
        assert time.monotonic() < deadline, f"timed out after {timeout_s} s waiting for {message}"
        time.sleep(interval_s)
    return result
