"""The transactional outbox, broken on purpose: atomic write, no loss under broker failures and
crashes between publish and mark, bounded duplicates absorbed by the consumer, backoff and dead
letter, manual retry, per-aggregate order, and two publishers racing for the same rows.

Runs on SQLite + fakeredis always, and on PostgreSQL / a real Redis when QULAB_TEST_* are set.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import random
import time
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import insert, select, text, update

from qulab_gui.data import database, samples
from qulab_gui.data.consumer import ProjectionConsumer
from qulab_gui.data.errors import SimulatedFailure
from qulab_gui.data.models import AIRScore, DomainEvent, User, new_id, utcnow
from qulab_gui.data.outbox import (
    EVENTS,
    STREAM,
    Faults,
    OutboxPublisher,
    PublisherConfig,
    PublisherStats,
    backoff_s,
    retry_failed,
)
from qulab_gui.data.score_calculation import EVENT_TYPE, record_score, rows_for

FAST = PublisherConfig(batch_size=25, lease_s=0.2, max_attempts=1000, backoff_base_s=0.01, backoff_max_s=0.05,
                       probe_base_s=0.005, probe_max_s=0.02)


async def add_events(sessions, aggregates: int, per_aggregate: int, *, start=None) -> list[dict]:
    """Score events for `aggregates` users, `per_aggregate` each, interleaved in time."""
    start = start or utcnow() - timedelta(seconds=10)
    rows = []
    for k in range(per_aggregate):
        for a in range(aggregates):
            at = start + timedelta(milliseconds=len(rows))
            rows.append({"id": new_id(), "event_type": EVENT_TYPE, "aggregate_type": "user",
                         "aggregate_id": f"user-{a}", "occurred_at": at,
                         "payload": {"user_id": f"user-{a}", "air_score": round(40 + k + a / 100, 2)}})
    async with sessions() as session, session.begin():
        await session.execute(insert(EVENTS), rows)
    return rows


async def statuses(sessions) -> Counter:
    async with sessions() as session:
        return Counter(dict((await session.execute(
            select(DomainEvent.status, text("count(*)")).group_by(DomainEvent.status))).all()))


async def stream_entries(redis) -> list[dict[str, str]]:
    return [fields for _, fields in await redis.xrange(STREAM)]


def assert_aggregate_order(entries: list[dict[str, str]], rows: list[dict]) -> None:
    """Per aggregate, the first delivery of each event follows (occurred_at, id) order."""
    expected: dict[str, list[str]] = {}
    for row in sorted(rows, key=lambda r: (r["occurred_at"], r["id"])):
        expected.setdefault(row["aggregate_id"], []).append(row["id"])
    seen: dict[str, list[str]] = {}
    for entry in entries:
        delivered = seen.setdefault(entry["aggregate_id"], [])
        if entry["event_id"] not in delivered:
            delivered.append(entry["event_id"])
    assert seen == expected


# -- atomic write ----------------------------------------------------------------------------------


async def test_score_and_event_are_written_in_one_transaction(sessions) -> None:
    async with sessions() as session:
        await samples.load_samples(session, 2)
    async with sessions() as session:
        user_id = await session.scalar(select(User.id).order_by(User.email))
        scores_before = len((await session.scalars(select(AIRScore.id))).all())

    recorded = await record_score(sessions, user_id)

    async with sessions() as session:
        score = await session.get(AIRScore, recorded.score_id)
        event = await session.get(DomainEvent, recorded.event_id)
    assert score is not None and score.user_id == user_id
    assert event is not None and event.status == "pending" and event.event_type == EVENT_TYPE
    assert event.aggregate_id == user_id
    assert event.payload["score_id"] == score.id and event.payload["air_score"] == score.air_score

    with pytest.raises(SimulatedFailure) as failure:
        await record_score(sessions, user_id, fail_after_write=True)
    async with sessions() as session:
        assert await rows_for(session, failure.value.written["score"], failure.value.written["event"]) == (0, 0)
        assert len((await session.scalars(select(AIRScore.id))).all()) == scores_before + 1
        assert len((await session.scalars(select(DomainEvent.id))).all()) == 1


# -- publishing ------------------------------------------------------------------------------------


async def test_a_tick_publishes_contract_fields_and_marks_in_order(sessions, redis_conn) -> None:
    rows = await add_events(sessions, aggregates=3, per_aggregate=2)
    # A row written by another process with only the required columns is picked up like any other.
    foreign_id = new_id()
    async with sessions() as session, session.begin():
        await session.execute(text(
            "INSERT INTO domain_events (id, event_type, aggregate_type, aggregate_id, payload) "
            "VALUES (:id, 'UserRenamed', 'user', 'user-9', :payload)"), {"id": foreign_id, "payload": '{"name": "x"}'})

    publisher = OutboxPublisher(sessions, redis_conn.client, name="p1", config=FAST)
    result = await publisher.tick()

    assert (result.claimed, result.published, result.error) == (7, 7, None)
    entries = await stream_entries(redis_conn.client)
    assert [e["event_id"] for e in entries[:6]] == [r["id"] for r in rows]  # oldest first
    first = entries[0]
    assert set(first) == {"event_id", "event_type", "aggregate_type", "aggregate_id", "payload", "occurred_at"}
    assert json.loads(first["payload"]) == rows[0]["payload"]
    assert first["occurred_at"].startswith(rows[0]["occurred_at"].isoformat()[:19])
    assert foreign_id in {e["event_id"] for e in entries}
    async with sessions() as session:
        events = list(await session.scalars(select(DomainEvent)))
    assert all(e.status == "published" and e.published_at and e.claimed_by is None for e in events)
    assert (await publisher.tick()).claimed == 0  # nothing is published twice
    assert publisher.stats.published == 7 and publisher.stats.latency_ms(95) is not None


@pytest.mark.parametrize("batches_per_tick", [1, 4], ids=["one-batch-ticks", "pipelined-ticks"])
async def test_no_event_is_lost_under_broker_failures_and_crashes_between_publish_and_mark(
        sessions, redis_conn, batches_per_tick: int) -> None:
    rows = await add_events(sessions, aggregates=12, per_aggregate=15)
    faults = Faults()
    publisher = OutboxPublisher(sessions, redis_conn.client, name="flaky", config=FAST, faults=faults,
                                rng=random.Random(7))
    chaos = random.Random(11)
    crashed_events = broker_failures = lost_replies = 0
    deadline = time.monotonic() + 60  # bounded by time, not steps: backoffs are real time on a busy machine
    for step in itertools.count():
        if time.monotonic() > deadline:
            break
        # random faults, but the first step is sure to hit the broker, and a crash is sure to happen
        faults.broker_down = step == 0 or (step > 1 and chaos.random() < 0.3)
        faults.crash_after_publish = crashed_events == 0 or chaos.random() < 0.2
        result = await publisher.drain(max_batches=batches_per_tick)
        broker_failures += result.transport_failed
        if result.transport_failed and not faults.broker_down:  # a real timeout: the batch may have landed
            lost_replies += result.held
        if result.crashed:
            crashed_events += result.unmarked
            await asyncio.sleep(FAST.lease_s)  # the "restarted" publisher waits out its old lease
        if (await statuses(sessions))["published"] == len(rows):
            break
        await asyncio.sleep(0.005)

    assert await statuses(sessions) == Counter(published=len(rows))
    assert crashed_events > 0 and broker_failures > 0  # the faults really happened
    entries = await stream_entries(redis_conn.client)
    delivered = Counter(e["event_id"] for e in entries)
    assert set(delivered) == {r["id"] for r in rows}  # every event reached the stream
    duplicates = len(entries) - len(rows)
    # each crashed batch republished once; beyond that only a batch whose reply a loaded machine lost
    assert crashed_events <= duplicates <= crashed_events + lost_replies
    assert_aggregate_order(entries, rows)

    consumer = ProjectionConsumer(redis_conn.client)
    assert await consumer.drain() == len(entries)
    state = await consumer.state()
    assert (state.applied, state.duplicates) == (len(rows), duplicates)
    newest = {}
    for row in rows:  # later rows of a user are newer: the projection must hold the newest score
        newest[row["aggregate_id"]] = row["payload"]["air_score"]
    assert state.latest_scores == newest
    assert await redis_conn.client.xpending(STREAM, consumer.group) == {
        "pending": 0, "min": None, "max": None, "consumers": []}


def test_backoff_grows_exponentially_with_bounded_jitter() -> None:
    config = PublisherConfig(backoff_base_s=1.0, backoff_max_s=30.0)
    rng = random.Random(3)
    for attempts, full in [(1, 1), (2, 2), (3, 4), (4, 8), (5, 16), (6, 30), (9, 30)]:
        delays = [backoff_s(attempts, config, rng) for _ in range(200)]
        assert all(full / 2 <= d <= full for d in delays)
        assert len({round(d, 6) for d in delays}) > 100  # jitter: publishers do not retry in lock-step


async def test_a_poison_event_backs_off_then_dead_letters_and_its_aggregate_waits_until_retry(
        sessions, redis_conn) -> None:
    rows = await add_events(sessions, aggregates=1, per_aggregate=3)
    poison, later = rows[0]["id"], [r["id"] for r in rows[1:]]
    # a backoff long enough that no slow machine outlives it between two ticks; make_due rewinds it
    config = PublisherConfig(batch_size=10, lease_s=5, max_attempts=3, backoff_base_s=30, backoff_max_s=60)
    faults = Faults(poison={poison})  # the broker itself refuses this one entry (XADD with ID 0-0)
    publisher = OutboxPublisher(sessions, redis_conn.client, name="p", config=config, faults=faults)

    before = utcnow()
    first = await publisher.tick()
    assert (first.claimed, first.retried, first.held, first.dead_lettered) == (3, 1, 2, 0)
    assert not first.transport_failed and publisher.breaker.state == "closed"  # the broker answered
    async with sessions() as session:
        events = {e.id: e for e in await session.scalars(select(DomainEvent))}
    rejected = events[poison]
    assert rejected.status == "pending" and rejected.attempts == 1 and "0-0" in rejected.last_error
    assert 15 - 0.01 <= (rejected.next_attempt_at - before).total_seconds() <= 30 + 1.0  # base/2 .. base
    for event_id in later:  # sent nowhere, charged nothing: waiting behind it
        assert (events[event_id].attempts, events[event_id].claimed_by, events[event_id].last_error) == (0, None, None)
    assert await redis_conn.client.xlen(STREAM) == 0
    assert (await publisher.tick()).claimed == 0  # backing off, and its aggregate waits

    await make_due(sessions)  # the backoff has passed (rewound in the table, not slept through)
    assert (await publisher.tick()).retried == 1
    await make_due(sessions)
    assert (await publisher.tick()).dead_lettered == 1
    assert await statuses(sessions) == Counter(failed=1, pending=2)
    assert publisher.stats.dead_lettered == 1 and publisher.stats.poison_rejections == 3
    await make_due(sessions)
    assert (await publisher.tick()).claimed == 0  # a dead letter blocks its aggregate, due or not

    faults.poison.clear()
    async with sessions() as session:
        assert await retry_failed(session) == 1
    async with sessions() as session:
        assert (await session.get(DomainEvent, poison)).attempts == 0
    assert (await publisher.tick()).published == 3
    assert [e["event_id"] for e in await stream_entries(redis_conn.client)] == [poison, *later]


async def make_due(sessions) -> None:
    """Every backoff over now: what waiting it out would do, without the test waiting."""
    async with sessions() as session, session.begin():
        await session.execute(update(DomainEvent).where(DomainEvent.next_attempt_at.is_not(None))
                              .values(next_attempt_at=utcnow() - timedelta(seconds=1)))


async def test_an_event_waits_for_every_earlier_event_of_its_aggregate(sessions, redis_conn) -> None:
    rows = await add_events(sessions, aggregates=2, per_aggregate=3)  # a0 b0 a1 b1 a2 b2
    a0, b0, a1, b1, a2, b2 = (r["id"] for r in rows)
    publisher = OutboxPublisher(sessions, redis_conn.client, name="p", config=PublisherConfig(batch_size=10))

    async def set_row(event_id, **values):
        async with sessions() as session, session.begin():
            await session.execute(update(DomainEvent).where(DomainEvent.id == event_id).values(**values))

    async def published_ids():
        return [e["event_id"] for e in await stream_entries(redis_conn.client)]

    await set_row(a0, status="failed", attempts=5)  # dead-lettered: user-0's later events must wait
    await set_row(b0, next_attempt_at=utcnow() + timedelta(minutes=5))  # backing off: user-1's wait too
    assert (await publisher.tick()).claimed == 0
    await set_row(b0, next_attempt_at=None, claimed_by="someone-else",
                  lease_expires_at=utcnow() + timedelta(minutes=5))  # leased elsewhere: still wait
    assert (await publisher.tick()).claimed == 0

    await set_row(b0, claimed_by="someone-else", lease_expires_at=utcnow() - timedelta(seconds=1))  # expired
    assert (await publisher.tick()).published == 3
    assert await published_ids() == [b0, b1, b2]

    async with sessions() as session:
        await retry_failed(session, [a0])
    one_at_a_time = OutboxPublisher(sessions, redis_conn.client, name="q", config=PublisherConfig(batch_size=1))
    assert (await one_at_a_time.drain()).published == 3
    assert await published_ids() == [b0, b1, b2, a0, a1, a2]


async def test_two_concurrent_publishers_never_publish_the_same_event(database_url, engine, sessions,
                                                                      redis_conn) -> None:
    """Two publishers with their own engines (as two processes would have) drain the same table."""
    rows = await add_events(sessions, aggregates=40, per_aggregate=25)
    other_engine = database.create_engine(database_url)
    try:
        other_sessions = database.create_session_factory(other_engine)
        config = PublisherConfig(batch_size=20, lease_s=30)
        first = OutboxPublisher(sessions, redis_conn.client, name="first", config=config)
        second = OutboxPublisher(other_sessions, redis_conn.new_client(), name="second", config=config)

        async def run(publisher: OutboxPublisher) -> int:
            published = 0
            for _ in range(500):
                result = await publisher.tick()
                assert result.error is None
                published += result.published
                if result.claimed == 0:
                    if (await statuses(sessions))["pending"] == 0:
                        return published
                    await asyncio.sleep(0.005)  # the rest is leased to, or waits behind, the other one
            raise AssertionError("did not drain")

        counts = await asyncio.gather(run(first), run(second))
    finally:
        await other_engine.dispose()

    entries = await stream_entries(redis_conn.client)
    delivered = Counter(e["event_id"] for e in entries)
    assert len(entries) == len(rows) and set(delivered) == {r["id"] for r in rows}  # each exactly once
    assert sum(counts) == len(rows) and min(counts) > 0  # both really took part
    assert_aggregate_order(entries, rows)


async def test_an_event_does_not_overtake_an_earlier_one_another_publisher_is_claiming(engine, sessions,
                                                                                        redis_conn) -> None:
    """The race SKIP LOCKED opens: the earlier event is row-locked by a claim not yet committed."""
    if engine.dialect.name != "postgresql":
        pytest.skip("only PostgreSQL lets a second claim run past another's row locks; SQLite has one writer")
    rows = await add_events(sessions, aggregates=2, per_aggregate=2)  # a0 b0 a1 b1
    a0, b0, a1, b1 = (r["id"] for r in rows)
    publisher = OutboxPublisher(sessions, redis_conn.client, name="p", config=PublisherConfig(batch_size=10))
    async with engine.connect() as other_publisher:
        await other_publisher.execute(select(EVENTS.c.id).where(EVENTS.c.id == a0).with_for_update())
        result = await publisher.tick()
        await other_publisher.rollback()
    assert result.published == 2
    assert (await publisher.tick()).published == 2
    assert [e["event_id"] for e in await stream_entries(redis_conn.client)] == [b0, b1, a0, a1]


async def test_stop_lets_the_tick_in_flight_mark_its_batch_then_refuses_new_ticks(sessions, redis_conn) -> None:
    await add_events(sessions, aggregates=1, per_aggregate=3)
    publisher = OutboxPublisher(sessions, redis_conn.client, name="p", faults=Faults(hold_after_publish_s=0.2))
    in_flight = asyncio.ensure_future(publisher.tick())
    while await redis_conn.client.xlen(STREAM) < 3:  # published, now holding before the mark
        await asyncio.sleep(0.01)

    await publisher.stop()

    assert in_flight.done() and in_flight.result().published == 3
    assert await statuses(sessions) == Counter(published=3)  # marked, not left leased for a successor
    assert (await publisher.tick()).error == "stopped"


async def test_ticks_never_overlap_so_publish_now_waits_for_the_timer(sessions, redis_conn) -> None:
    class Watched(OutboxPublisher):
        running = peak = 0

        async def _run(self, max_batches: int, size: int):
            self.running += 1
            self.peak = max(self.peak, self.running)
            try:
                await asyncio.sleep(0.01)  # a tick in flight yields to the loop, as a real one does
                return await super()._run(max_batches, size)
            finally:
                self.running -= 1

    rows = await add_events(sessions, aggregates=10, per_aggregate=5)
    publisher = Watched(sessions, redis_conn.client, name="p", config=PublisherConfig(batch_size=10))
    results = await asyncio.gather(publisher.tick(), publisher.drain(max_batches=2), publisher.tick(),
                                   publisher.drain())
    assert publisher.peak == 1
    assert sum(r.published for r in results) == len(rows)
    assert await redis_conn.client.xlen(STREAM) == len(rows)


def test_a_young_publisher_reports_its_rate_over_its_own_lifetime_not_the_whole_window() -> None:
    stats = PublisherStats()
    assert stats.published_per_s() == 0.0
    stats.record_published(100, [])
    assert stats.published_per_s(window_s=10.0) == 100.0  # published within its first second: 100/s, not 10/s
