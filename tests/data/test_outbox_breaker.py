"""The two kinds of broker failure, told apart: a transport failure charges no event and opens the
publisher's circuit breaker (no database statements while it is open, probes with capped full-jitter
backoff, one small half-open batch, one log line each way); a poison event among 500 is the only
one dead-lettered, and its aggregate's later events wait behind it until it is retried.
"""

from __future__ import annotations

import logging
import random
from collections import Counter

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError
from sqlalchemy import func, select

from qulab_gui.data.models import DomainEvent
from qulab_gui.data.outbox import (
    STREAM,
    CircuitBreaker,
    Faults,
    OutboxPublisher,
    PublisherConfig,
    is_transport,
    retry_failed,
)
from tests.conftest import until
from tests.data.test_outbox import add_events, assert_aggregate_order, make_due, statuses, stream_entries


@pytest.mark.parametrize("error", [
    RedisConnectionError("Connection refused"), RedisTimeoutError("Timeout reading from socket"),
    ConnectionResetError("reset by peer"), TimeoutError(),
    *(ResponseError(f"{prefix} the server cannot take this now") for prefix in
      ("BUSY", "LOADING", "MASTERDOWN", "TRYAGAIN", "OOM", "READONLY", "CLUSTERDOWN")),
], ids=lambda e: f"{type(e).__name__}:{str(e).split(' ')[0]}")
def test_connection_timeout_and_try_later_replies_are_transport_failures(error) -> None:
    assert is_transport(error)


@pytest.mark.parametrize("message", ["ERR The ID specified in XADD must be greater than 0-0",
                                     "WRONGTYPE Operation against a key holding the wrong kind of value"])
def test_a_reply_about_the_entry_itself_is_not_a_transport_failure(message: str) -> None:
    assert not is_transport(ResponseError(message)) and not is_transport(message)


def test_probe_delays_grow_with_full_jitter_up_to_the_cap_with_one_log_line_each_way(caplog) -> None:
    now = [100.0]
    breaker = CircuitBreaker("p", base_s=0.25, max_s=2.0, rng=random.Random(5), clock=lambda: now[0])
    caplog.set_level(logging.INFO, logger="qulab_gui.data.outbox.breaker")
    breaker.trip("ConnectionError: refused")
    assert breaker.state == "open" and breaker.since is not None
    ceilings = []
    for failures in range(1, 9):
        delays = []
        for _ in range(300):  # the next delay, drawn again and again at this exponent
            breaker.probes_failed = failures - 1
            breaker.probe_failed()
            delays.append(breaker.next_probe_in_s)
        ceilings.append(max(delays))
        assert min(delays) < 0.1 * min(2.0, 0.25 * 2 ** failures)  # full jitter: can be almost no wait
    # 0.25·2^n: 0.5, 1, then the 2 s cap
    assert [round(c, 1) for c in ceilings] == [0.5, 1.0, 2.0, 2.0, 2.0, 2.0, 2.0, 2.0]
    assert breaker.next_probe_at is not None
    assert not breaker.probe_due()
    now[0] += 2.0
    assert breaker.probe_due()
    breaker.probe_answered()
    breaker.trip("ConnectionError: refused again")  # the half-open batch failed: open again, no new log
    breaker.probe_answered()
    breaker.close()
    breaker.close()
    assert breaker.state == "closed" and breaker.since is None and breaker.next_probe_at is None
    assert [(r.levelname, r.getMessage().split(":")[1].split("(")[0].strip()) for r in caplog.records] == [
        ("WARNING", "broker unreachable"), ("INFO", "broker back after 2.0 s; publishing resumed")]
    assert breaker.outages[-1].ended == 102.0


def test_clearing_the_injected_fault_makes_the_open_breaker_probe_at_once_not_after_its_backoff() -> None:
    now = [100.0]
    breaker = CircuitBreaker("p", base_s=0.25, max_s=5.0, rng=random.Random(1), clock=lambda: now[0])
    breaker.probe_soon()  # closed: nothing to hurry
    assert breaker.state == "closed"
    breaker.trip("injected: broker down")
    breaker.probes_failed = 10
    while breaker._next_probe - now[0] < 1.0:  # a backoff long enough to notice
        breaker.probe_failed()
    assert not breaker.probe_due()
    breaker.probe_soon()
    assert breaker.probe_due() and breaker.state == "open"  # still open: only a probe that answers closes it


async def test_while_the_broker_is_down_no_event_is_charged_and_the_database_sees_no_claims(
        sessions, redis_conn, recorder) -> None:
    rows = await add_events(sessions, aggregates=10, per_aggregate=12)
    config = PublisherConfig(batch_size=50, half_open_batch=10, probe_base_s=0.05, probe_max_s=0.2)
    faults = Faults(broker_down=True)
    publisher = OutboxPublisher(sessions, redis_conn.client, name="p", config=config, faults=faults)

    first = await publisher.drain()
    assert (first.claimed, first.published, first.held, first.transport_failed) == (50, 0, 50, True)
    assert publisher.breaker.state == "open"
    async with sessions() as session:  # nothing charged, nothing left leased: due again at once
        assert (await session.execute(select(func.max(DomainEvent.attempts), func.count(DomainEvent.claimed_by),
                                             func.count(DomainEvent.next_attempt_at)))).one() == (0, 0, 0)

    skipped = probes = 0
    while probes < 3:  # open: ticks that wait for the probe, and probes that fail
        with recorder.capture() as capture:
            result = await publisher.drain()
        assert result.skipped and capture.count == 0, capture.statements  # not one statement while open
        skipped += 1
        probes += result.transport_failed
    assert skipped > probes  # most ticks did not even probe: the backoff spaces them
    assert publisher.stats.transport_failures == 1 + probes

    faults.broker_down = False
    await until(lambda: publisher.breaker.probe_due(), 2, message="the next probe")
    trial = await publisher.tick()
    assert (trial.claimed, trial.published) == (10, 10)  # half-open: one small batch decided
    assert publisher.breaker.state == "closed"
    assert (await publisher.drain()).published == len(rows) - 10  # then full speed: batches of 50
    assert await statuses(sessions) == Counter(published=len(rows))
    entries = await stream_entries(redis_conn.client)
    assert len(entries) == len(rows)
    assert_aggregate_order(entries, rows)
    assert [o.ended is not None for o in publisher.breaker.outages] == [True]


async def test_one_poison_event_among_500_is_the_only_dead_letter_and_its_aggregate_waits_behind_it(
        sessions, redis_conn) -> None:
    rows = await add_events(sessions, aggregates=50, per_aggregate=10)
    poison = rows[2 * 50 + 17]  # user-17's third event, in the middle of the first batch (events 0-3 of each)
    behind = [r["id"] for r in rows if r["aggregate_id"] == "user-17" and r["occurred_at"] > poison["occurred_at"]]
    config = PublisherConfig(batch_size=200, max_attempts=3, backoff_base_s=0.01, backoff_max_s=0.05)
    faults = Faults(poison={poison["id"]})
    publisher = OutboxPublisher(sessions, redis_conn.client, name="p", config=config, faults=faults)

    first = await publisher.tick()
    assert (first.claimed, first.retried, first.held) == (200, 1, 1)  # user-17 had 1 later event in it
    assert first.published == 198 and not first.transport_failed  # its neighbours went through
    for _ in range(20):
        await make_due(sessions)
        await publisher.drain()
        if (await statuses(sessions))["failed"]:
            break
    await publisher.drain()
    assert await statuses(sessions) == Counter(published=500 - 1 - len(behind), failed=1, pending=len(behind))
    async with sessions() as session:
        dead = (await session.scalars(select(DomainEvent).where(DomainEvent.status == "failed"))).one()
        waiting = list(await session.scalars(select(DomainEvent).where(DomainEvent.status == "pending")))
    assert (dead.id, dead.attempts) == (poison["id"], 3) and "0-0" in dead.last_error
    assert {e.id for e in waiting} == set(behind) and {e.attempts for e in waiting} == {0}
    assert publisher.breaker.state == "closed" and publisher.stats.transport_failures == 0

    faults.poison.clear()
    async with sessions() as session:
        assert await retry_failed(session) == 1
    assert (await publisher.drain()).published == 1 + len(behind)
    entries = await stream_entries(redis_conn.client)
    assert len(entries) == 500 and await statuses(sessions) == Counter(published=500)
    assert_aggregate_order(entries, rows)
    assert await redis_conn.client.xlen(STREAM) == 500
