"""What the outage tests share: a private redis-server per test, the benchmark's producer (events at
a steady rate throughout), and the checks that nothing was lost, charged, dead-lettered or reordered."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from qulab_gui.bench.outbox_outage import not_published
from qulab_gui.bench.redis_server import RedisServer, available
from qulab_gui.data.consumer import ProjectionConsumer
from qulab_gui.data.models import DomainEvent
from qulab_gui.data.outbox import STREAM
from tests.conftest import until
from tests.data.test_outbox import assert_aggregate_order, statuses, stream_entries

RECOVERY_S = 5.0  # the backlog is drained within this long of the broker answering again


def private_server(tmp_path: Path) -> Iterator[RedisServer]:
    """For a `server` fixture: a private, persistent redis-server on a free port, stopped by PID at the end."""
    reason = available()
    if reason:
        pytest.skip(f"{reason}: the outage tests stop and restart a Redis server of their own")
    broker = RedisServer(tmp_path / "redis").start()
    yield broker
    broker.stop()


async def restart(broker: RedisServer, down_s: float) -> None:
    """Stop the broker (SIGTERM by PID), keep it down for `down_s`, start it again with its data."""
    await asyncio.to_thread(broker.stop)
    await asyncio.sleep(down_s)
    await asyncio.to_thread(broker.start)


pending = not_published


async def assert_nothing_lost_charged_or_reordered(sessions, redis, rows: list[dict], *,
                                                   max_duplicates: int) -> list[dict[str, str]]:
    assert await statuses(sessions) == Counter(published=len(rows))  # 0 failed, 0 pending
    async with sessions() as session:
        assert await session.scalar(select(func.max(DomainEvent.attempts))) == 0  # no attempt was charged
    entries = await stream_entries(redis)
    assert {e["event_id"] for e in entries} == {r["id"] for r in rows}  # 0 lost
    assert len(entries) - len(rows) <= max_duplicates  # duplicates only from batches in flight
    assert_aggregate_order(entries, rows)
    return entries


async def assert_consumer_caught_up(consumer: ProjectionConsumer, redis, rows: list[dict],
                                    entries: list[dict[str, str]]) -> None:
    async def applied_all() -> bool:
        state = await consumer.state()
        return state.applied == len(rows)

    await until(applied_all, 15, message="the consumer to apply every event")
    state = await consumer.state()
    assert state.duplicates == len(entries) - len(rows)  # every duplicate absorbed by event id
    assert (await redis.xpending(STREAM, consumer.group))["pending"] == 0
