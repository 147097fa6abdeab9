"""The transactional outbox publisher: pending `domain_events` rows to the Redis Stream `qulab:events`.

One tick of the publisher, never overlapping another tick of the same publisher (a lock):

1. **Claim** a batch of due events with a lease, in one transaction: `claimed_by` and
   `lease_expires_at` are set by a single `UPDATE … WHERE id IN (SELECT … FOR UPDATE SKIP LOCKED)
   … RETURNING`. On PostgreSQL the row locks make a second publisher skip the rows being claimed;
   SQLite has one writer at a time, so the same `UPDATE … RETURNING` is atomic there and the
   `FOR UPDATE` clause is left out by the dialect. A publisher that dies keeps its lease until
   it expires; then the batch is due again and another publisher takes it over.
2. **Publish** the batch with one pipeline of `XADD`s, each entry carrying the event id (the
   consumer's idempotency key) and the contract fields.
3. **Mark** the batch published with one `UPDATE`, only after the broker accepted every entry.
   A crash between 2 and 3 republishes the batch after the lease: at-least-once, never lost.

A drain (what the app.timer runs: several batches per tick) overlaps the two sides: while batch
N is on its way to Redis, one database transaction marks batch N-1 and claims batch N+1.

If the broker fails, each event of the batch gets `attempts + 1`, `last_error` and a
`next_attempt_at` with exponential backoff and jitter; at `max_attempts` it is dead-lettered
(`status = 'failed'`) until someone retries it.

Per-aggregate order: an event is claimed only if no earlier event (by `occurred_at`, then `id`)
of the same aggregate is blocked (dead-lettered, backing off, or leased by another publisher).
Because the claim takes due events in that same global order, a batch that holds an event also
holds every earlier unpublished event of its aggregate, and the pipeline sends them in order.

Run `python -m qulab_gui.data.relay --database-url … --redis-url …` for a standalone relay
process (the crash test kills one with SIGKILL).
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import socket
import time
import uuid
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from sqlalchemy import Text, and_, bindparam, cast, exists, or_, select, text, tuple_, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from .models import DomainEvent, utcnow
from .stats import percentile

log = logging.getLogger(__name__)

STREAM = "qulab:events"
EVENTS = DomainEvent.__table__  # the hot path uses Core statements: no ORM objects per event


class BrokerDown(RedisConnectionError):
    """The injected broker failure; handled exactly like a real lost connection."""


@dataclass
class PublisherConfig:
    batch_size: int = 500
    lease_s: float = 10.0
    max_attempts: int = 5
    backoff_base_s: float = 1.0
    backoff_max_s: float = 60.0


@dataclass
class Faults:
    """Switches that break the publisher on purpose, so its guarantees can be watched."""

    broker_down: bool = False  # every XADD pipeline fails as if Redis were unreachable
    crash_after_publish: bool = False  # published to the stream, then "dies" before marking
    hold_after_publish_s: float = 0.0  # widen the publish→mark window (the SIGKILL test aims at it)


@dataclass(frozen=True)
class TickResult:
    claimed: int = 0
    published: int = 0
    retried: int = 0  # broker failed: rescheduled with backoff
    dead_lettered: int = 0
    crashed: bool = False
    unmarked: int = 0  # on the stream but not marked when the (injected) crash hit: republished later
    error: str | None = None
    duration_s: float = 0.0


@dataclass
class PublisherStats:
    ticks: int = 0
    published: int = 0  # events the broker accepted and that were then marked
    broker_failures: int = 0  # ticks whose pipeline failed
    dead_lettered: int = 0
    crashes: int = 0
    last_tick: TickResult | None = None
    # (monotonic time, events) of recent publishes, and occurred→published latencies in ms.
    _recent: deque[tuple[float, int]] = field(default_factory=lambda: deque(maxlen=2000), repr=False)
    latencies_ms: deque[float] = field(default_factory=lambda: deque(maxlen=5000), repr=False)
    _first_at: float = field(default=0.0, repr=False)  # when the first event was published

    def record_published(self, count: int, latencies_ms: Sequence[float]) -> None:
        if not self._recent:
            self._first_at = time.monotonic()
        self.published += count
        self._recent.append((time.monotonic(), count))
        self.latencies_ms.extend(latencies_ms)

    def published_per_s(self, window_s: float = 10.0) -> float:
        """Events per second over the last `window_s`, or over the time since the first publish if shorter
        (a publisher 2 s old that published 100 events did 50/s, not 10/s)."""
        if not self._recent:
            return 0.0
        now = time.monotonic()
        published = sum(n for at, n in self._recent if at >= now - window_s)
        return published / max(1.0, min(window_s, now - self._first_at))

    def latency_ms(self, q: float, last: int = 1000) -> float | None:
        """The q-th percentile (nearest rank) of the last `last` occurred→published latencies."""
        return percentile(list(self.latencies_ms)[-last:], q)


@dataclass(frozen=True)
class ClaimedEvent:
    id: str
    event_type: str
    aggregate_type: str
    aggregate_id: str
    payload: str  # JSON text exactly as stored
    occurred_at: datetime
    attempts: int

    @property
    def order_key(self) -> tuple[datetime, str]:
        return self.occurred_at, self.id

    def stream_fields(self) -> dict[str, str]:
        return {
            "event_id": self.id, "event_type": self.event_type, "aggregate_type": self.aggregate_type,
            "aggregate_id": self.aggregate_id, "payload": self.payload, "occurred_at": self.occurred_at.isoformat(),
        }


def backoff_s(attempts: int, config: PublisherConfig, rng: random.Random) -> float:
    """Exponential backoff with "equal jitter": half the delay is fixed, half random.

    Attempt n waits between d/2 and d where d = base·2^(n-1), capped: the delay still grows visibly
    while publishers that failed together do not retry in lock-step.
    """
    delay = min(config.backoff_max_s, config.backoff_base_s * 2 ** max(0, attempts - 1))
    return delay / 2 + rng.uniform(0, delay / 2)


# -- SQL -----------------------------------------------------------------------------------------


def _claim_statement(now: datetime, lease_until: datetime, publisher: str, limit: int):
    candidate = EVENTS.alias("candidate")
    earlier = EVENTS.alias("earlier")
    blocked_earlier = exists().where(
        earlier.c.aggregate_type == candidate.c.aggregate_type,
        earlier.c.aggregate_id == candidate.c.aggregate_id,
        earlier.c.occurred_at <= candidate.c.occurred_at,  # redundant, but lets the planner seek the index
        tuple_(earlier.c.occurred_at, earlier.c.id) < tuple_(candidate.c.occurred_at, candidate.c.id),
        or_(earlier.c.status == "failed",
            and_(earlier.c.status == "pending",
                 or_(earlier.c.next_attempt_at > now, earlier.c.lease_expires_at > now))),
    )
    due = (
        select(candidate.c.id)
        .where(candidate.c.status == "pending",
               or_(candidate.c.next_attempt_at.is_(None), candidate.c.next_attempt_at <= now),
               or_(candidate.c.lease_expires_at.is_(None), candidate.c.lease_expires_at <= now),
               ~blocked_earlier)
        .order_by(candidate.c.occurred_at, candidate.c.id)
        .limit(limit)
        .with_for_update(skip_locked=True, of=candidate)  # PostgreSQL only; SQLite's writer lock suffices
    )
    return (
        update(EVENTS)
        .where(EVENTS.c.id.in_(due.scalar_subquery()))
        .values(claimed_by=publisher, lease_expires_at=lease_until)
        .returning(EVENTS.c.id, EVENTS.c.event_type, EVENTS.c.aggregate_type, EVENTS.c.aggregate_id,
                   cast(EVENTS.c.payload, Text).label("payload"), EVENTS.c.occurred_at, EVENTS.c.attempts)
    )


async def _release_out_of_order(session: AsyncSession, publisher: str, lease_until: datetime) -> set[str]:
    """PostgreSQL only: give back claimed events whose earlier same-aggregate event is held elsewhere.

    `SKIP LOCKED` hides a row a concurrent publisher is claiming right now, and that publisher's
    lease is not committed yet, so the claim's own check cannot see it. Any unpublished earlier
    event of the same aggregate that is not in this batch is such a row: this batch must not
    overtake it. One UPDATE releases the affected events; they are claimed again on a later tick.
    """
    mine = EVENTS.alias("mine")
    earlier = EVENTS.alias("earlier")
    in_this_batch = and_(mine.c.claimed_by == publisher, mine.c.lease_expires_at == lease_until)
    held_elsewhere = exists().where(
        earlier.c.aggregate_type == mine.c.aggregate_type,
        earlier.c.aggregate_id == mine.c.aggregate_id,
        tuple_(earlier.c.occurred_at, earlier.c.id) < tuple_(mine.c.occurred_at, mine.c.id),
        earlier.c.status != "published",
        or_(earlier.c.claimed_by.is_(None), earlier.c.claimed_by != publisher,
            earlier.c.lease_expires_at != lease_until),
    )
    result = await session.execute(
        update(EVENTS).where(EVENTS.c.id.in_(select(mine.c.id).where(in_this_batch, held_elsewhere)))
        .values(claimed_by=None, lease_expires_at=None).returning(EVENTS.c.id))
    return set(result.scalars())


async def claim(sessions: async_sessionmaker[AsyncSession], publisher: str, limit: int, lease_s: float,
                *, mark_first: Sequence[str] = ()) -> list[ClaimedEvent]:
    """Lease up to `limit` due events to `publisher`, in publishing order; one transaction.

    `mark_first`: the previous batch, already on the stream, is marked published in the same
    transaction (one commit instead of two, and events waiting behind it are claimable at once).
    """
    now = utcnow()
    lease_until = now + timedelta(seconds=lease_s)
    async with sessions() as session, session.begin():
        if mark_first:
            await session.execute(_mark_statement(mark_first))
        postgresql = session.bind.dialect.name == "postgresql"
        if postgresql:
            # The claim must walk the (status, occurred_at, id) index in order and stop at the
            # batch size, probing the aggregate index per candidate. Statistics of a table whose
            # rows change state every second mislead the planner into sorting every pending row,
            # or into materialising the blocked events and comparing each candidate with all of
            # them (quadratic exactly when many are blocked: broker down). Rule both out, and
            # plan each claim for its own parameters, not once generically for the prepared statement.
            await session.execute(text(  # set_config(..., true) is SET LOCAL: this transaction only
                "SELECT set_config('enable_material', 'off', true), set_config('enable_sort', 'off', true), "
                "set_config('plan_cache_mode', 'force_custom_plan', true)"))
        result = await session.execute(_claim_statement(now, lease_until, publisher, limit))
        claimed = sorted((ClaimedEvent(*row) for row in result), key=lambda e: e.order_key)
        if claimed and postgresql:
            released = await _release_out_of_order(session, publisher, lease_until)
            claimed = [e for e in claimed if e.id not in released]
    return claimed


def _mark_statement(ids: Sequence[str]):
    # By primary key only: the broker holds these events, so "published" is true whatever else
    # happened to the rows meanwhile. (A status filter here also tempted PostgreSQL into scanning
    # every pending row through the status index instead of 1,000 key lookups.)
    return (update(EVENTS).where(EVENTS.c.id.in_(list(ids)))
            .values(status="published", published_at=utcnow(), claimed_by=None, lease_expires_at=None,
                    last_error=None, next_attempt_at=None))


async def mark_published(sessions: async_sessionmaker[AsyncSession], ids: Sequence[str]) -> int:
    """One UPDATE for the whole batch; releases the lease."""
    async with sessions() as session, session.begin():
        result = await session.execute(_mark_statement(ids))
    return result.rowcount


async def reschedule(sessions: async_sessionmaker[AsyncSession], events: Sequence[ClaimedEvent], error: str,
                     config: PublisherConfig, rng: random.Random) -> tuple[int, int]:
    """After a broker failure: attempts + 1 and a backoff, or dead letter at max_attempts."""
    now = utcnow()
    rows = []
    for event in events:
        attempts = event.attempts + 1
        dead = attempts >= config.max_attempts
        rows.append({
            "b_id": event.id, "b_attempts": attempts, "b_status": "failed" if dead else "pending",
            "b_next": None if dead else now + timedelta(seconds=backoff_s(attempts, config, rng)),
            "b_error": error[:500],
        })
    statement = (update(EVENTS).where(EVENTS.c.id == bindparam("b_id"), EVENTS.c.status == "pending")
                 .values(attempts=bindparam("b_attempts"), status=bindparam("b_status"),
                         next_attempt_at=bindparam("b_next"), last_error=bindparam("b_error"),
                         claimed_by=None, lease_expires_at=None))
    async with sessions() as session, session.begin():
        connection = await session.connection()
        await connection.execute(statement, rows)  # executemany: each event has its own jittered delay
    dead = sum(1 for row in rows if row["b_status"] == "failed")
    return len(rows) - dead, dead


async def retry_failed(session: AsyncSession, ids: Sequence[str] | None = None) -> int:
    """Manual retry of dead-lettered events: pending again, due now, attempts from zero."""
    statement = update(EVENTS).where(EVENTS.c.status == "failed")
    if ids is not None:
        statement = statement.where(EVENTS.c.id.in_(list(ids)))
    async with session.begin():
        result = await session.execute(statement.values(
            status="pending", attempts=0, next_attempt_at=None, claimed_by=None, lease_expires_at=None))
    return result.rowcount


# -- the publisher -------------------------------------------------------------------------------


def default_name() -> str:
    """Unique per publisher instance: a lease must name exactly one living publisher."""
    return f"{socket.gethostname()[:32]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class OutboxPublisher:
    """Claims, publishes and marks batches: `tick()` one batch, `drain()` batch after batch (what
    the app.timer and "publish now" run); both share one lock, so they never overlap."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], redis: Redis, *, name: str | None = None,
                 config: PublisherConfig | None = None, faults: Faults | None = None, stream: str = STREAM,
                 rng: random.Random | None = None) -> None:
        self.sessions = sessions
        self.redis = redis
        self.name = name or default_name()
        self.config = config or PublisherConfig()
        self.faults = faults or Faults()
        self.stream = stream
        self.stats = PublisherStats()
        self._rng = rng or random.Random()
        self._lock = asyncio.Lock()  # one tick at a time: the timer and "publish now" never overlap
        self._stopped = False

    @property
    def busy(self) -> bool:
        return self._lock.locked()

    async def tick(self) -> TickResult:
        """One batch: claim, publish, mark (what the tests and a single "publish now" step use)."""
        return await self.run(max_batches=1)

    async def drain(self, max_batches: int = 100_000) -> TickResult:
        """Batch after batch until nothing is due (or a failure); what the app.timer runs."""
        return await self.run(max_batches=max_batches)

    async def run(self, max_batches: int) -> TickResult:
        async with self._lock:
            if self._stopped:
                return TickResult(error="stopped")
            started, published_before = time.perf_counter(), self.stats.published
            try:
                result = await self._run(max_batches)
            except (SQLAlchemyError, OSError) as error:  # the database is down: report, retry next tick
                log.warning("outbox publisher %s: database error: %s", self.name, error)
                result = TickResult(error=f"database: {type(error).__name__}: {error}")
            # every marked event went through _record(): the tick published what the total grew by
            result = replace(result, published=self.stats.published - published_before,
                             duration_s=time.perf_counter() - started)
            self.stats.ticks += 1
            self.stats.last_tick = result
            return result

    async def _run(self, max_batches: int) -> TickResult:
        """Claim, publish and mark batches, overlapping the database work with the broker's.

        While batch N is on its way to Redis, the database marks batch N-1 and claims batch N+1
        (one transaction).
        N+1 cannot hold a later event of an aggregate in N: N's events are leased, and a leased
        earlier event blocks its aggregate's later ones in the claim. So the stream still gets
        every aggregate's events in order, and each batch is marked only after Redis took it.
        """
        result = TickResult()
        batch = await self._claim()
        published: list[ClaimedEvent] = []  # on the stream, not yet marked
        published_at = utcnow()
        batches = 0
        while batch:
            batches += 1
            more = batches < max_batches
            result = replace(result, claimed=result.claimed + len(batch))

            async def database_side(to_mark: list[ClaimedEvent], at: datetime, claim_next: bool) -> list[ClaimedEvent]:
                if not claim_next:
                    if to_mark:
                        await self._mark(to_mark, at)
                    return []
                claimed = await self._claim(mark_first=to_mark)
                self._record(to_mark, at)
                return claimed

            sent, next_batch = await asyncio.gather(
                self._publish(batch), database_side(published, published_at, more),
                return_exceptions=True)
            if isinstance(next_batch, BaseException):
                raise next_batch
            published = []
            if isinstance(sent, BaseException):
                if not isinstance(sent, RedisError):
                    raise sent
                await self._release(next_batch)  # claimed for the next round, never tried
                return replace(result, **await self._broker_failed(batch, sent))
            if self.faults.hold_after_publish_s:
                await asyncio.sleep(self.faults.hold_after_publish_s)
            if self.faults.crash_after_publish:
                self.stats.crashes += 1
                log.warning("outbox publisher %s: injected crash after publishing %d events, before marking them",
                            self.name, len(batch))
                return replace(result, crashed=True, unmarked=len(batch), error="crashed after publish (injected)")
            published, published_at = batch, sent
            batch = next_batch
            if not batch and more:  # later events of the batch's aggregates were waiting behind it
                batch = await self._claim(mark_first=published)
                self._record(published, published_at)
                published = []
        if published:
            await self._mark(published, published_at)
        return result

    async def _claim(self, mark_first: Sequence[ClaimedEvent] = ()) -> list[ClaimedEvent]:
        return await claim(self.sessions, self.name, self.config.batch_size, self.config.lease_s,
                           mark_first=[e.id for e in mark_first])

    async def _publish(self, batch: Sequence[ClaimedEvent]) -> datetime:
        """One pipeline for the batch; returns when Redis accepted it."""
        if self.faults.broker_down:
            raise BrokerDown("broker down (injected fault)")
        async with self.redis.pipeline(transaction=False) as pipe:
            for event in batch:
                pipe.xadd(self.stream, event.stream_fields())
            await pipe.execute()  # raises on the first failed entry; none of the batch is then marked
        return utcnow()

    async def _mark(self, batch: Sequence[ClaimedEvent], published_at: datetime) -> None:
        await mark_published(self.sessions, [e.id for e in batch])
        self._record(batch, published_at)

    def _record(self, batch: Sequence[ClaimedEvent], published_at: datetime) -> None:
        if batch:
            self.stats.record_published(len(batch), [(published_at - e.occurred_at).total_seconds() * 1000
                                                     for e in batch])

    async def _release(self, batch: Sequence[ClaimedEvent]) -> None:
        if batch:
            async with self.sessions() as session, session.begin():
                await session.execute(update(EVENTS).where(EVENTS.c.id.in_([e.id for e in batch]),
                                                           EVENTS.c.claimed_by == self.name)
                                      .values(claimed_by=None, lease_expires_at=None))

    async def _broker_failed(self, batch: Sequence[ClaimedEvent], error: RedisError) -> dict[str, Any]:
        message = f"{type(error).__name__}: {error}"
        log.warning("outbox publisher %s: broker failed for %d events: %s", self.name, len(batch), message)
        retried, dead = await reschedule(self.sessions, batch, message, self.config, self._rng)
        self.stats.broker_failures += 1
        self.stats.dead_lettered += dead
        return {"retried": retried, "dead_lettered": dead, "error": message}

    async def stop(self, timeout_s: float = 5.0) -> None:
        """No new ticks; wait for the one in flight so its batch is marked, not left leased."""
        self._stopped = True
        try:
            await asyncio.wait_for(self._lock.acquire(), timeout_s)
        except TimeoutError:
            log.warning("outbox publisher %s: a tick was still running at shutdown", self.name)
        else:
            self._lock.release()
