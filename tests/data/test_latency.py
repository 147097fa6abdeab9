"""The network latency knob: every statement and Redis round trip really waits, on SQLite/fakeredis and
PostgreSQL/real Redis; bad values are refused and change nothing; the event loop keeps running.

The asserts are lower bounds a real wait cannot miss (statements x delay), not speed benchmarks.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from pathlib import Path

import pytest

from qulab_gui.data import database, nplus1, redis_client, samples
from qulab_gui.data.errors import ValidationError
from qulab_gui.data.latency import MAX_MS, Latency, NetworkLatency
from qulab_gui.data.repositories import UserRepository
from tests.conftest import REDISES, TEST_REDIS_URL

DELAY_MS = 5
REFUSAL = f"Network latency must be a number of milliseconds from 0 to {MAX_MS}"


@pytest.fixture
async def delayed(database_url: str):
    """A migrated database with 10 users x 2 scores, on an engine whose statements wait `latency`."""
    latency = Latency()
    engine = database.create_engine(database_url, latency=latency)
    await database.reset(engine)
    sessions = database.create_session_factory(engine)
    async with sessions() as session:
        await samples.load_samples(session, 10, 2)
    yield latency, sessions, database.StatementRecorder(engine)
    await engine.dispose()


async def lazy_load(sessions, recorder) -> database.Capture:
    async with sessions() as session:
        query = UserRepository(session).first_users(10)
        with recorder.capture() as capture:
            await nplus1.load_lazy(session, query)
    return capture


async def test_every_lazy_statement_waits_the_delay_and_only_when_set(delayed) -> None:
    latency, sessions, recorder = delayed
    undelayed = await lazy_load(sessions, recorder)
    latency.set(DELAY_MS)
    slowed = await lazy_load(sessions, recorder)
    assert undelayed.count == slowed.count == 21  # 1 + 10 users x 2 relationships: the knob adds no statements
    assert min(s.duration_s for s in slowed.statements) >= DELAY_MS / 1000  # each statement paid the wait
    assert slowed.elapsed_s >= slowed.count * DELAY_MS / 1000
    assert statistics.median(s.duration_s for s in undelayed.statements) < DELAY_MS / 1000  # 0 ms: no wait


async def test_the_off_loop_worker_engine_waits_too(delayed, database_url: str) -> None:
    latency, _, _ = delayed
    latency.set(DELAY_MS)
    [result] = await nplus1.run_plan_off_loop(database_url, [("lazy", 10)], latency=latency)
    assert result.statements == 21
    assert result.elapsed_s >= result.statements * DELAY_MS / 1000


async def test_a_delayed_run_never_blocks_the_event_loop(delayed) -> None:
    latency, sessions, recorder = delayed
    delay_ms = 10
    latency.set(delay_ms)
    ticks: list[float] = []

    async def tick() -> None:
        while True:
            ticks.append(time.perf_counter())
            await asyncio.sleep(0.001)

    ticker = asyncio.create_task(tick())
    try:
        capture = await lazy_load(sessions, recorder)
    finally:
        ticker.cancel()
    gaps = [b - a for a, b in zip(ticks, ticks[1:], strict=False)]
    # A blocking sleep would leave one gap of >= the delay per statement: 21 of them.
    assert len(ticks) > capture.count * 3
    assert sum(gap >= delay_ms / 1000 for gap in gaps) < capture.count / 2, sorted(gaps)[-5:]


@pytest.fixture(params=REDISES)
async def delayed_redis(request: pytest.FixtureRequest):
    latency = Latency()
    if request.param == "fakeredis":
        conn = redis_client.fake_connection("test", latency=latency)
    else:
        assert TEST_REDIS_URL
        conn = await redis_client.connect(TEST_REDIS_URL, latency=latency)
        assert conn.backend == "redis"
    yield latency, conn
    await conn.close()


async def timed(commands) -> float:
    started = time.perf_counter()
    await commands()
    return time.perf_counter() - started


async def test_every_redis_command_waits_on_every_client_at_once(delayed_redis) -> None:
    latency, conn = delayed_redis
    extra = conn.new_client()
    await extra.set("qulab:test:latency", "0")  # both clients connected before the knob turns
    latency.set(DELAY_MS)  # applies to clients made before the change

    async def ten_commands() -> None:
        for i in range(5):
            await conn.client.set("qulab:test:latency", str(i))
            assert await extra.get("qulab:test:latency") == str(i)

    assert await timed(ten_commands) >= 10 * DELAY_MS / 1000

    async def one_pipeline() -> None:
        async with conn.client.pipeline(transaction=False) as pipe:
            await pipe.incr("qulab:test:latency").incr("qulab:test:latency").execute()

    assert await timed(one_pipeline) >= DELAY_MS / 1000  # a pipeline is one round trip: it waits once
    await conn.client.delete("qulab:test:latency")


@pytest.mark.parametrize("value", [-1, MAX_MS + 0.5, 1000, "fast", "", None, True, float("nan"), float("inf")])
def test_a_bad_value_is_refused_with_the_rule_and_changes_nothing(value) -> None:
    latency = Latency(3)
    with pytest.raises(ValidationError, match=REFUSAL):
        latency.set(value)
    assert latency.ms == 3


def test_the_range_ends_and_form_strings_are_accepted() -> None:
    latency = Latency()
    assert [latency.set(v).ms for v in (0, MAX_MS, "2.5", 7.0)] == [0, MAX_MS, 2.5, 7]
    assert str(NetworkLatency(2.5)) == "2.5 ms"


async def test_the_lab_applies_one_change_to_the_engine_and_redis(tmp_path: Path) -> None:
    from qulab_gui.lab import Lab
    from qulab_gui.settings import load_settings

    lab = Lab(load_settings([], {"QULAB_DATA_DIR": str(tmp_path), "QULAB_REDIS_URL": "fake"}))
    await lab.start()
    try:
        assert (await lab.health())["latency_ms"] == 0  # a desktop starts without a simulated network
        with pytest.raises(ValidationError, match=REFUSAL):
            lab.set_latency(25)
        assert lab.latency.ms == 0
        lab.set_latency(DELAY_MS)
        assert (await lab.health())["latency_ms"] == DELAY_MS
        assert await timed(lambda: lab.count_rows()) >= DELAY_MS / 1000
        assert lab.redis is not None
        assert await timed(lambda: lab.redis.client.ping()) >= DELAY_MS / 1000
    finally:
        await lab.stop()
