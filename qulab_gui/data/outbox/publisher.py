"""The publish loop: pending `domain_events` rows to the Redis Stream `qulab:events`.

One tick of the publisher, never overlapping another tick of the same publisher (a lock):

1. **Claim** a batch of due events with a lease, in one transaction (sql.py).
2. **Publish** the batch with one script call that XADDs each entry and answers per entry (broker.py),
   each entry carrying the event id (the consumer's idempotency key) and the contract fields.
3. **Mark** the accepted entries published with one `UPDATE`, only after the broker took them.
   A crash between 2 and 3 republishes the batch after the lease: at-least-once, never lost.

A drain (what the app.timer runs: several batches per tick) overlaps the two sides: while batch
N is on its way to Redis, one database transaction marks batch N-1 and claims batch N+1.

Failures are of two kinds. A transport failure (Redis unreachable, slow past its timeout, or
answering "try later") charges nothing: the batch's leases are released at once, the events stay
pending in order, and the circuit breaker (breaker.py) opens, so no further claim is made until a
probe finds the broker again. A poison entry, one the broker rejects while it takes the others,
gets `attempts + 1`, `last_error` and a backoff, and at `max_attempts` it is dead-lettered
(`status = 'failed'`) until someone retries it; its aggregate's later events wait behind it.

Run `python -m qulab_gui.data.relay --database-url … --redis-url …` for a standalone relay
process (the crash test kills one with SIGKILL).
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from redis.asyncio import Redis
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ..models import EventStatus, utcnow
from .breaker import BreakerState, CircuitBreaker
from .broker import Broker, BrokerDown, PublishOutcome, TransportFailure
from .config import STREAM, ClaimedEvent, Faults, PublisherConfig, TickResult, default_name
from .sql import claim, mark_published, poison_rows, release, settle
from .stats import PublisherStats

log = logging.getLogger(__name__)


def _ids(events: Sequence[ClaimedEvent]) -> list[str]:
    return [e.id for e in events]


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
        self.broker = Broker(redis, stream)
        self.breaker = CircuitBreaker(self.name, base_s=self.config.probe_base_s, max_s=self.config.probe_max_s,
                                      rng=self._rng)
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
                result = await self._through_breaker(max_batches)
            except (SQLAlchemyError, OSError) as error:  # the database is down: report, retry next tick
                log.warning("outbox publisher %s: database error: %s", self.name, error)
                result = TickResult(error=f"database: {type(error).__name__}: {error}")
            # every marked event went through _record(): the tick published what the total grew by
            result = replace(result, published=self.stats.published - published_before,
                             duration_s=time.perf_counter() - started)
            self.stats.ticks += 1
            self.stats.last_tick = result
            return result

    async def _through_breaker(self, max_batches: int) -> TickResult:
        """While the breaker is open a tick returns before touching the database: an outage of the
        broker must not load the database with claims that cannot be published."""
        if self.breaker.is_open:
            if not self.breaker.probe_due():
                return TickResult(skipped=True, error="broker unreachable: waiting for the next probe")
            if not await self._probe():
                self.stats.transport_failures += 1
                self.breaker.probe_failed()
                return TickResult(skipped=True, transport_failed=True, error="broker unreachable: probe failed")
            self.breaker.probe_answered()
        if self.breaker.state is BreakerState.HALF_OPEN:
            trial = await self._run(1, self.config.half_open_batch)
            if trial.transport_failed or trial.crashed:
                return trial
            self.breaker.close()
            if max_batches <= 1:
                return trial
            rest = await self._run(max_batches - 1, self.config.batch_size)
            return replace(rest, claimed=trial.claimed + rest.claimed, retried=trial.retried + rest.retried,
                           dead_lettered=trial.dead_lettered + rest.dead_lettered, held=trial.held + rest.held)
        return await self._run(max_batches, self.config.batch_size)

    async def _probe(self) -> bool:
        if self.faults.broker_down:
            return False
        return await self.broker.probe(self.config.probe_timeout_s)

    async def _database_side(self, to_mark: list[ClaimedEvent], at: datetime, claim_next: bool,
                             size: int) -> list[ClaimedEvent]:
        """Mark the previous batch and, unless this is the last round, claim the next (one transaction)."""
        if not claim_next:
            if to_mark:
                await self._mark(to_mark, at)
            return []
        claimed = await self._claim(size, mark_first=to_mark)
        self._record(to_mark, at)
        return claimed

    async def _run(self, max_batches: int, size: int) -> TickResult:
        """Claim, publish and mark batches, overlapping the database work with the broker's.

        While batch N is on its way to Redis, the database marks batch N-1 and claims batch N+1
        (one transaction). N+1 cannot hold a later event of an aggregate in N: N's events are
        leased, and a leased earlier event blocks its aggregate's later ones in the claim. So the
        stream still gets every aggregate's events in order, and each batch is marked only after
        Redis took it.
        """
        result = TickResult()
        batch = await self._claim(size)
        published: list[ClaimedEvent] = []  # on the stream, not yet marked
        published_at = utcnow()
        batches = 0
        while batch:
            batches += 1
            more = batches < max_batches
            result = replace(result, claimed=result.claimed + len(batch))
            sent, next_batch = await asyncio.gather(
                self._publish(batch), self._database_side(published, published_at, more, size),
                return_exceptions=True)
            if isinstance(next_batch, BaseException):
                raise next_batch
            published = []
            if isinstance(sent, BaseException):
                if not isinstance(sent, TransportFailure):
                    raise sent
                await release(self.sessions, _ids([*batch, *next_batch]), self.name)
                return replace(result, held=len(batch), **self._transport_failed(str(sent)))
            if self.faults.hold_after_publish_s:
                await asyncio.sleep(self.faults.hold_after_publish_s)
            if self.faults.crash_after_publish:
                self.stats.crashes += 1
                log.warning("outbox publisher %s: injected crash after publishing %d events, before marking them",
                            self.name, len(sent.accepted))
                return replace(result, crashed=True, unmarked=len(sent.accepted),
                               error="crashed after publish (injected)")
            if not sent.complete:
                return replace(result, **await self._settle(sent, next_batch))
            published, published_at = batch, sent.at
            batch = next_batch
            if not batch and more:  # later events of the batch's aggregates were waiting behind it
                batch = await self._claim(size, mark_first=published)
                self._record(published, published_at)
                published = []
        if published:
            await self._mark(published, published_at)
        return result

    async def _claim(self, size: int, mark_first: Sequence[ClaimedEvent] = ()) -> list[ClaimedEvent]:
        return await claim(self.sessions, self.name, size, self.config.lease_s, mark_first=_ids(mark_first))

    async def _publish(self, batch: Sequence[ClaimedEvent]) -> PublishOutcome:
        if self.faults.broker_down:
            raise TransportFailure(BrokerDown("broker down (injected fault)"))
        return await self.broker.send(batch, self.faults.poison)

    async def _mark(self, batch: Sequence[ClaimedEvent], published_at: datetime) -> None:
        await mark_published(self.sessions, _ids(batch))
        self._record(batch, published_at)

    def _record(self, batch: Sequence[ClaimedEvent], published_at: datetime) -> None:
        if batch:
            self.stats.record_published(len(batch), [(published_at - e.occurred_at).total_seconds() * 1000
                                                     for e in batch])

    def _transport_failed(self, message: str) -> dict[str, Any]:
        self.stats.transport_failures += 1
        self.breaker.trip(message)
        return {"transport_failed": True, "error": f"broker unreachable: {message}"}

    async def _settle(self, outcome: PublishOutcome, never_tried: Sequence[ClaimedEvent]) -> dict[str, Any]:
        """The broker took the batch in part: mark what it took, charge the poison, release the rest."""
        rows = poison_rows(outcome.poison, self.config, self._rng)
        await settle(self.sessions, self.name, published=_ids(outcome.accepted), poison=rows,
                     released=_ids([*outcome.held, *never_tried]))
        self._record(outcome.accepted, outcome.at)
        dead = sum(1 for row in rows if row["b_status"] == EventStatus.FAILED)
        self.stats.poison_rejections += len(rows)
        self.stats.dead_lettered += dead
        for event, error in outcome.poison:
            log.warning("outbox publisher %s: the broker rejected event %s (attempt %d of %d): %s",
                        self.name, event.id, event.attempts + 1, self.config.max_attempts, error)
        changes: dict[str, Any] = {"retried": len(rows) - dead, "dead_lettered": dead, "held": len(outcome.held)}
        if outcome.transport_error:
            return {**changes, **self._transport_failed(outcome.transport_error)}
        if outcome.poison:
            changes["error"] = f"the broker rejected {len(rows)} event(s): {outcome.poison[0][1]}"
        return changes

    async def stop(self, timeout_s: float = 5.0) -> None:
        """No new ticks; wait for the one in flight so its batch is marked, not left leased."""
        self._stopped = True
        try:
            await asyncio.wait_for(self._lock.acquire(), timeout_s)
        except TimeoutError:
            log.warning("outbox publisher %s: a tick was still running at shutdown", self.name)
        else:
            self._lock.release()
