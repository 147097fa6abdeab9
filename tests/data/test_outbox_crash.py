"""A real relay process killed with SIGKILL between publishing a batch and marking it: a new
publisher leaves the batch alone while the dead one's lease runs, then takes it over and drains
everything. Nothing is lost; the only duplicates are the killed batch.

Both processes need the same broker: the test Redis, or fakeredis served over TCP in a thread.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator

import pytest
from redis.asyncio import Redis
from sqlalchemy import select

from qulab_gui.data.consumer import ProjectionConsumer
from qulab_gui.data.models import DomainEvent, utcnow
from qulab_gui.data.outbox import STREAM, OutboxPublisher, PublisherConfig
from tests.conftest import REDISES, TEST_REDIS_URL
from tests.data.test_outbox import add_events, assert_aggregate_order, statuses, stream_entries

BATCH = 40
LEASE_S = 3.0


@pytest.fixture(params=REDISES)
def broker_url(request: pytest.FixtureRequest) -> Iterator[str]:
    if request.param == "redis":
        assert TEST_REDIS_URL
        yield TEST_REDIS_URL
        return
    from fakeredis import TcpFakeServer

    server = TcpFakeServer(("127.0.0.1", 0))
    server.daemon_threads, server.block_on_close = True, False  # a client left open must not hang teardown
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"redis://127.0.0.1:{server.server_address[1]}/0"
    server.shutdown()
    server.server_close()


async def test_a_relay_killed_between_publish_and_mark_is_taken_over_after_its_lease(
        database_url, sessions, broker_url) -> None:
    redis = Redis.from_url(broker_url, decode_responses=True)
    try:
        await check_relay_takeover(sessions, redis, database_url, broker_url)
    finally:
        await redis.aclose()


async def check_relay_takeover(sessions, redis: Redis, database_url: str, broker_url: str) -> None:
    await redis.delete(STREAM)
    rows = await add_events(sessions, aggregates=8, per_aggregate=20)  # 160 events, 4 batches
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    relay = subprocess.Popen(
        [sys.executable, "-m", "qulab_gui.data.relay", "--database-url", database_url, "--redis-url", broker_url,
         "--name", "doomed-relay", "--batch-size", str(BATCH), "--lease-s", str(LEASE_S), "--interval-s", "0.01",
         "--hold-after-publish-s", "60", "--hold-from-tick", "2"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        # Wait until the relay has marked its first batch and put its second on the stream, unmarked.
        deadline = time.monotonic() + 30
        while not ((await statuses(sessions))["published"] == BATCH and await redis.xlen(STREAM) == 2 * BATCH):
            assert relay.poll() is None, relay.stderr.read() if relay.stderr else ""
            assert time.monotonic() < deadline, "the relay did not get to its second batch"
            await asyncio.sleep(0.02)
        relay.send_signal(signal.SIGKILL)
        relay.wait(10)
    finally:
        if relay.poll() is None:
            relay.kill()
            relay.wait(10)
    killed_at = utcnow()
    assert relay.returncode == -signal.SIGKILL

    async with sessions() as session:
        orphaned = list(await session.scalars(select(DomainEvent).where(DomainEvent.claimed_by == "doomed-relay")))
    assert len(orphaned) == BATCH and all(e.status == "pending" and e.lease_expires_at > killed_at for e in orphaned)

    successor = OutboxPublisher(sessions, redis, name="successor", config=PublisherConfig(batch_size=BATCH))
    while (await successor.tick()).claimed:  # inside the lease: only events that wait for nothing
        pass
    entries = await stream_entries(redis)
    orphan_ids = {e.id for e in orphaned}
    assert all(count == 1 for event_id, count in Counter(e["event_id"] for e in entries).items()
               if event_id in orphan_ids), "the dead relay's batch was taken over before its lease ran out"

    await asyncio.sleep(max(0.0, (orphaned[0].lease_expires_at - utcnow()).total_seconds()) + 0.05)
    await successor.drain()

    assert await statuses(sessions) == Counter(published=len(rows))
    entries = await stream_entries(redis)
    delivered = Counter(e["event_id"] for e in entries)
    assert set(delivered) == {r["id"] for r in rows}
    assert {event_id for event_id, n in delivered.items() if n > 1} == orphan_ids  # duplicates: the killed batch
    assert len(entries) == len(rows) + BATCH
    assert_aggregate_order(entries, rows)

    consumer = ProjectionConsumer(redis)
    await consumer.reset()
    await consumer.drain()
    state = await consumer.state()
    assert (state.applied, state.duplicates) == (len(rows), BATCH)
