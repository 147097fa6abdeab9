"""The broker goes away while events keep being committed, on a private redis-server this test stops
and restarts by PID (with its data): a 10 s and a 60 s outage, and a broker flapping for 30 s.

Each time: 0 events failed, 0 lost, no attempt charged, every aggregate's events in order on the
stream, the backlog drained within 5 s of the broker answering again, duplicates bounded by the
batches in flight, and the consumer caught up with every duplicate absorbed. The publisher and the
consumer run as the app runs them: on timers, with the app's clients and intervals.

Slow by nature (about two and a half minutes): the outages are real wall time.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable, Iterator

import pytest
from redis.asyncio import Redis

from qulab_gui.bench.outbox_outage import Producer, publish_timer
from qulab_gui.bench.redis_server import RedisServer
from qulab_gui.data.consumer import ProjectionConsumer
from qulab_gui.data.outbox import OutboxPublisher, PublisherConfig, publisher_client
from qulab_gui.data.redis_client import BLOCKING_READ_TIMEOUT_S, client_options
from qulab_gui.lab.outbox import (
    CONSUME_BLOCK_MS,
    CONSUME_INTERVAL_S,
)
from tests.conftest import until
from tests.data.outage import (
    RECOVERY_S,
    assert_consumer_caught_up,
    assert_nothing_lost_charged_or_reordered,
    pending,
    private_server,
    restart,
)

SQLITE_ONLY = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


@pytest.fixture
def server(tmp_path) -> Iterator[RedisServer]:
    yield from private_server(tmp_path)


class Timers:
    """The app's publisher and consumer timers, each with the client the app gives it."""

    def __init__(self, sessions, url: str) -> None:
        self.client = publisher_client(url)
        self.consumer_client = Redis.from_url(url, **client_options(BLOCKING_READ_TIMEOUT_S))
        self.publisher = OutboxPublisher(sessions, self.client, name="app", config=PublisherConfig())
        self.consumer = ProjectionConsumer(self.consumer_client)
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task] = []

    async def __aenter__(self) -> Timers:
        self._tasks = [asyncio.ensure_future(self._publish()), asyncio.ensure_future(self._consume())]
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._stop.set()
        await asyncio.gather(*self._tasks)
        await self.client.aclose()
        await self.consumer_client.aclose()

    async def _publish(self) -> None:
        await publish_timer(self.publisher, self._stop)

    async def _consume(self) -> None:
        while not self._stop.is_set():
            await self.consumer.poll(block_ms=CONSUME_BLOCK_MS)
            await asyncio.sleep(CONSUME_INTERVAL_S)


async def survive(sessions, broker: RedisServer, outage: Callable[[], Awaitable[int]]) -> float:
    """Run the app's timers and a producer through `outage` (returns how many times the broker was
    stopped); check the aftermath and return how long the drain took once the broker was back."""
    async with Timers(sessions, broker.url) as app:
        producer = Producer(sessions).start()
        await asyncio.sleep(1.0)  # publishing normally first
        stops = await outage()
        back = time.monotonic()
        rows = await producer.stop()

        async def drained() -> bool:
            return await pending(sessions) == 0

        await until(drained, RECOVERY_S, message=f"the backlog to drain within {RECOVERY_S:g} s of the broker's return")
        recovery_s = time.monotonic() - back
        entries = await assert_nothing_lost_charged_or_reordered(
            sessions, app.client, rows, max_duplicates=stops * app.publisher.config.batch_size)
        await assert_consumer_caught_up(app.consumer, app.client, rows, entries)
        assert app.publisher.breaker.state == "closed" and len(app.publisher.breaker.outages) >= 1
        assert app.publisher.stats.dead_lettered == 0 and app.consumer.reconnects >= 1
    return recovery_s


def stopped_once(broker: RedisServer, down_s: float) -> Callable[[], Awaitable[int]]:
    async def outage() -> int:
        await restart(broker, down_s)
        return 1

    return outage


async def test_a_10_s_outage_dead_letters_nothing_and_drains_within_5_s(sessions, server: RedisServer) -> None:
    assert await survive(sessions, server, stopped_once(server, 10.0)) <= RECOVERY_S


@SQLITE_ONLY
async def test_a_60_s_outage_dead_letters_nothing_and_drains_within_5_s(sessions, server: RedisServer) -> None:
    assert await survive(sessions, server, stopped_once(server, 60.0)) <= RECOVERY_S


@SQLITE_ONLY
async def test_a_flapping_broker_for_30_s_dead_letters_nothing(sessions, server: RedisServer) -> None:
    rng = random.Random(2026)

    async def outage() -> int:
        stops, ends = 0, time.monotonic() + 30
        while time.monotonic() < ends:
            await restart(server, rng.uniform(1, 2))
            stops += 1
            await asyncio.sleep(rng.uniform(1, 2))
        return stops

    await survive(sessions, server, outage)


@SQLITE_ONLY
async def test_an_out_of_memory_reply_is_a_transport_failure_not_poison(sessions, server: RedisServer) -> None:
    """OOM comes back per entry from inside the script: still nothing charged, the breaker opens."""
    from tests.data.test_outbox import add_events, statuses

    rows = await add_events(sessions, aggregates=5, per_aggregate=4)
    async with Redis.from_url(server.url, decode_responses=True) as admin:
        await admin.set("ballast", "x" * 100_000)
        await admin.config_set("maxmemory", "1")  # every write is refused with OOM from now on
        client = publisher_client(server.url)
        publisher = OutboxPublisher(sessions, client, name="p")
        result = await publisher.tick()
        assert result.transport_failed and "OOM" in result.error and result.retried == 0
        assert publisher.breaker.state == "open"
        await admin.config_set("maxmemory", "0")
    await until(lambda: publisher.breaker.probe_due(), 5, message="the next probe")
    assert (await publisher.drain()).published == len(rows)
    assert (await statuses(sessions))["published"] == len(rows)
    await client.aclose()
