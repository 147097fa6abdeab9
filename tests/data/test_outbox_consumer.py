"""The downstream consumer: idempotent by event id, newest score wins, and entries it read but never
acknowledged (it died) are processed on restart from the group's pending entries list."""

from __future__ import annotations

import json

from qulab_gui.data.consumer import ProjectionConsumer, stream_tail
from qulab_gui.data.outbox import STREAM


def entry(event_id: str, user_id: str, score: float, at: str) -> dict[str, str]:
    return {"event_id": event_id, "event_type": "AIRScoreCalculated", "aggregate_type": "user",
            "aggregate_id": user_id, "payload": json.dumps({"user_id": user_id, "air_score": score}),
            "occurred_at": at}


async def test_duplicates_have_no_effect_and_the_newest_score_wins(redis_conn) -> None:
    redis = redis_conn.client
    await redis.xadd(STREAM, entry("e1", "u1", 50.0, "2026-01-01T10:00:00+00:00"))
    await redis.xadd(STREAM, entry("e2", "u1", 61.5, "2026-01-01T11:00:00+00:00"))
    await redis.xadd(STREAM, entry("e1", "u1", 50.0, "2026-01-01T10:00:00+00:00"))  # republished
    await redis.xadd(STREAM, entry("e0", "u1", 10.0, "2026-01-01T09:00:00+00:00"))  # older, arrives late
    await redis.xadd(STREAM, {**entry("e3", "u2", 0, "2026-01-01T09:00:00+00:00"), "event_type": "UserRenamed"})
    consumer = ProjectionConsumer(redis)

    assert await consumer.drain() == 5
    state = await consumer.state()
    assert (state.applied, state.duplicates, state.delivered) == (4, 1, 5)
    assert state.latest_scores == {"u1": 61.5}  # the late, older score did not overwrite the newer one
    assert (await redis.xpending(STREAM, consumer.group))["pending"] == 0
    assert [e["event_id"] for e in await stream_tail(redis, 2)] == ["e3", "e0"]


async def test_unacknowledged_entries_are_processed_after_a_consumer_restart(redis_conn) -> None:
    redis = redis_conn.client
    first = ProjectionConsumer(redis, name="worker-1")
    await first.poll()  # creates the group
    for i in range(3):
        await redis.xadd(STREAM, entry(f"e{i}", f"u{i}", 40.0 + i, f"2026-01-01T10:00:0{i}+00:00"))
    # worker-1 reads the entries and dies before applying or acknowledging them
    await redis.xreadgroup(first.group, "worker-1", {STREAM: ">"}, count=10)
    assert (await redis.xpending(STREAM, first.group))["pending"] == 3

    restarted = ProjectionConsumer(redis, name="worker-1")
    assert await restarted.drain() == 3
    state = await restarted.state()
    assert (state.applied, state.duplicates) == (3, 0)
    assert state.latest_scores == {"u0": 40.0, "u1": 41.0, "u2": 42.0}
    assert (await redis.xpending(STREAM, first.group))["pending"] == 0
