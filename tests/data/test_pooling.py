"""The concurrency probe runs a real pool into its limits: waits and timeouts are the pool's own."""

import asyncio

import pytest
from sqlalchemy import event, text

from qulab_gui.data import database
from qulab_gui.data.database import PoolSettings
from qulab_gui.data.pooling import run_probe


async def test_within_the_pool_limit_nobody_times_out(engine, database_url) -> None:
    result = await run_probe(database_url, 4, PoolSettings(size=2, max_overflow=2, timeout_s=2), hold_s=0.05)
    assert (result.completed, result.timeouts, result.errors) == (4, 0, [])
    assert max(s.checked_out for s in result.snapshots) <= 4


async def test_past_size_plus_overflow_sessions_wait_then_time_out(engine, database_url) -> None:
    pool = PoolSettings(size=2, max_overflow=1, timeout_s=0.2)
    result = await run_probe(database_url, 6, pool, hold_s=0.6)
    assert result.completed == 3  # size + overflow got a connection
    assert result.timeouts == 3  # the rest waited the full timeout, then the pool gave up
    peak = max(result.snapshots, key=lambda s: s.checked_out)
    assert (peak.checked_out, peak.overflow) == (3, 1)
    # a session counts as waiting from its checkout call, so while the pool is still opening its first
    # connections (slow on a busy PostgreSQL) all six may wait; once it is full, only the three beyond it do
    assert max(s.waiting for s in result.snapshots) >= 3
    assert max(s.waiting for s in result.snapshots if s.checked_out == 3) <= 3


async def test_waiters_get_a_connection_when_one_is_returned_in_time(engine, database_url) -> None:
    result = await run_probe(database_url, 4, PoolSettings(size=1, max_overflow=0, timeout_s=5), hold_s=0.1)
    assert (result.completed, result.timeouts) == (4, 0)
    assert result.max_wait_s >= 0.25  # the last one waited for three holds before it


@pytest.mark.parametrize("sessions,pool,hold,message", [
    (0, PoolSettings(), 0.1, "between 1 and"),
    (5, PoolSettings(size=0), 0.1, "Pool size"),
    (5, PoolSettings(max_overflow=-1), 0.1, "Max overflow"),
    (5, PoolSettings(timeout_s=0), 0.1, "timeout"),
    (5, PoolSettings(), -1, "Hold time"),
])
async def test_bad_probe_settings_are_refused(sessions, pool, hold, message, tmp_path) -> None:
    with pytest.raises(ValueError, match=message):
        await run_probe(f"sqlite+aiosqlite:///{tmp_path / 'x.db'}", sessions, pool, hold)


async def test_closing_the_engine_also_closes_a_connection_still_in_use(database_url) -> None:
    """The lab stopping while a page's query is in flight: that connection is closed too, not left behind."""
    engine = database.create_engine(database_url)
    opened, closed = [], []
    event.listen(engine.sync_engine, "connect", lambda dbapi_connection, _: opened.append(dbapi_connection))
    event.listen(engine.sync_engine, "close", lambda dbapi_connection, _: closed.append(dbapi_connection))
    in_use = asyncio.Event()

    async def query_in_flight() -> None:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
            in_use.set()
            await asyncio.sleep(0.2)

    query = asyncio.create_task(query_in_flight())
    await in_use.wait()
    await database.close_engine(engine)
    await query
    assert (len(opened), closed) == (1, opened)
