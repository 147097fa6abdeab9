"""Lab 5 · Outbox: the atomic score write, the publisher and consumer on app.timers, fault switches."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from redis.exceptions import RedisError

from qulab_gui.data import score_calculation
from qulab_gui.data.consumer import ConsumerState, ProjectionConsumer, stream_tail
from qulab_gui.data.errors import SimulatedFailure, number_in_range, require_user, whole_number
from qulab_gui.data.models import DomainEvent
from qulab_gui.data.outbox import (
    PUBLISH_TIMEOUT_S,
    Faults,
    Outage,
    OutboxPublisher,
    PublisherConfig,
    TickResult,
    default_name,
    oldest_pending_id,
    retry_failed,
)
from qulab_gui.data.redis_client import BLOCKING_READ_TIMEOUT_S
from qulab_gui.data.repositories import DomainEventRepository
from qulab_gui.data.unit_of_work import on_commit

from . import kept
from .context import LabContext
from .idle import IdleRest
from .timers import StartTimer, Timer

log = logging.getLogger(__name__)


PUBLISH_INTERVAL_S = 0.5  # the publisher's default timer interval
MAX_BATCHES_PER_TICK = 20  # a backlog drains within a tick, yet a tick stays bounded
CONSUME_INTERVAL_S = 0.25
CONSUME_BLOCK_MS = 200  # real Redis: wait this long inside XREADGROUP for new entries
CONSUME_BATCH, FAKE_CONSUME_BATCH = 500, 100
CONSUME_POLLS_PER_TICK = 5
IDLE_POLL_S = 2.0  # a classroom sandbox's idle publisher and consumer poll this often (idle.py)


class OutboxLab:
    def __init__(self, lab: LabContext) -> None:
        self.lab = lab
        self.config = PublisherConfig()
        self.faults = Faults()
        self.publisher: OutboxPublisher | None = None
        self.consumer: ProjectionConsumer | None = None
        self._timers: dict[str, Timer] = {}
        self._publisher_rest = IdleRest(IDLE_POLL_S, enabled=lab.sandbox.learner is not None)
        self._consumer_rest = IdleRest(IDLE_POLL_S, enabled=lab.sandbox.learner is not None)
        self._unsubscribe: Callable[[], None] | None = None

    # -- lifecycle: timers from setup(), publisher and consumer once the Lab has its backends -----

    def register_timers(self, timer: StartTimer) -> list[Timer]:
        """Called by the Lab with NiceGUI's `app.timer`: the publisher and the consumer run on timers.

        An app.timer never overlaps itself; "publish now" shares the publisher's lock, so a manual
        tick waits for the timer's and the other way round.
        """
        self._timers["publisher"] = timer(PUBLISH_INTERVAL_S, self.publish_tick)
        self._timers["consumer"] = timer(CONSUME_INTERVAL_S, self.consume_tick)
        return list(self._timers.values())

    def start(self) -> None:
        lab = self.lab
        assert lab.sessions is not None and lab.redis is not None
        publish_client = lab.redis.new_client(timeout_s=PUBLISH_TIMEOUT_S, fail_fast=True)
        names = lab.sandbox.names
        self.publisher = OutboxPublisher(lab.sessions, publish_client, name=f"app:{default_name()}",
                                         config=self.config, faults=self.faults, stream=names.stream)
        # Its own connection: a blocking XREADGROUP must not hold up the publisher's commands.
        # fakeredis runs each script inside the event loop: smaller batches keep the pages responsive
        if lab.sandbox.learner is not None:
            self._unsubscribe = on_commit(lab.sessions, self._wake)
        self.consumer = ProjectionConsumer(lab.redis.new_client(timeout_s=BLOCKING_READ_TIMEOUT_S),
                                           batch=FAKE_CONSUME_BATCH if lab.redis.is_fake else CONSUME_BATCH,
                                           stream=names.stream, prefix=names.projection)

    async def stop(self) -> None:
        for timer in self._timers.values():
            timer.active = False
        if self._unsubscribe is not None:
            self._unsubscribe()
        if self.publisher is not None:
            await self.publisher.stop()
        if self.consumer is not None:
            await self.consumer.stop()

    def _started(self) -> bool:
        return self.lab.started and self.publisher is not None

    # -- publisher and consumer ticks ------------------------------------------------------------

    async def publish_tick(self) -> TickResult | None:
        """The publisher timer's callback (skipped until the Lab has started)."""
        if not self._started() or self._publisher_rest.resting:
            return None
        assert self.publisher is not None
        return self._after_drain(await self.publisher.drain(max_batches=MAX_BATCHES_PER_TICK))

    def _after_drain(self, result: TickResult) -> TickResult:
        """A published batch wakes the consumer; an outbox with nothing due lets the publisher rest."""
        if result.published:
            self._consumer_rest.wake()
        if not (result.claimed or result.skipped or result.transport_failed):
            self._publisher_rest.rest()
        return result

    async def _wake(self, _: object) -> None:
        """A commit of this lab's sessions (a score, a burst): the next tick polls again."""
        self._publisher_rest.wake()

    async def consume_tick(self) -> None:
        if not self._started() or self._consumer_rest.resting:
            return
        assert self.consumer is not None and self.lab.redis is not None
        try:  # a broker that went away is absorbed by the consumer itself (backoff, one log line)
            for poll in range(CONSUME_POLLS_PER_TICK):  # a backlog is caught up in a few ticks, not hundreds
                if not await self.consumer.poll(block_ms=None if self.lab.redis.is_fake else CONSUME_BLOCK_MS):
                    if poll == 0 and not self.consumer.failures:  # an empty stream, not a failing broker
                        self._consumer_rest.rest()
                    break
                await asyncio.sleep(0)  # between batches the publisher and the pages get their turn
        except (RedisError, OSError) as error:  # anything else: the next tick tries again
            log.warning("outbox consumer: %s", error)

    async def publish_now(self) -> TickResult:
        await self.lab.ready()
        assert self.publisher is not None
        return self._after_drain(await self.publisher.drain(max_batches=MAX_BATCHES_PER_TICK))

    # -- publisher controls ------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        timer = self._timers.get("publisher")
        return bool(timer is not None and timer.active)

    def set_running(self, running: bool) -> None:
        timer = self._timers.get("publisher")
        if timer is not None:
            timer.active = running

    def set_broker_down(self, down: bool) -> None:
        """The injected transport failure; switching it off lets the open breaker probe at once."""
        self.faults.broker_down = down
        if not down and self.publisher is not None:
            self.publisher.breaker.probe_soon()

    @property
    def interval_s(self) -> float:
        timer = self._timers.get("publisher")
        return float(timer.interval) if timer is not None else PUBLISH_INTERVAL_S

    def configure(self, *, interval_s: float | None = None, batch_size: int | None = None) -> None:
        if interval_s is not None:
            interval_s = number_in_range(interval_s, "The publisher interval", 0.1, 60, " s")
            timer = self._timers.get("publisher")
            if timer is not None:
                timer.interval = interval_s
        if batch_size is not None:
            batch_size = whole_number(batch_size, "The batch size", 1, 5000)  # 2.5 refused, not truncated
            self.config.batch_size = batch_size

    async def poison_next(self) -> str | None:
        """The poison switch: the broker will reject the event due next (None: nothing is pending)."""
        async with self.lab.session() as session:
            event_id = await oldest_pending_id(session)
        if event_id is not None:
            self.make_poison(event_id)
        return event_id

    def make_poison(self, event_id: str) -> None:
        self.faults.poison.add(event_id)

    def clear_poison(self) -> None:
        self.faults.poison.clear()

    async def retry_dead_letters(self) -> int:
        async with self.lab.session() as session:
            return await retry_failed(session)

    # -- the write side ----------------------------------------------------------------------------

    async def calculate_score(self, user_id: str | None, *, fail_after_write: bool = False
                              ) -> score_calculation.ScoreRecorded | score_calculation.RolledBack:
        """Score row + AIRScoreCalculated event in one transaction; with the failure switch, the proof
        that neither row exists afterwards (counted in a fresh session)."""
        user_id = require_user(user_id)
        await self.lab.ready()
        assert self.lab.sessions is not None
        try:
            outcome = await score_calculation.record_score(self.lab.sessions, user_id,
                                                           fail_after_write=fail_after_write)
        except SimulatedFailure as failure:
            score_id, event_id = failure.written["score"], failure.written["event"]
            async with self.lab.session() as session:
                scores, events = await score_calculation.rows_for(session, score_id, event_id)
            outcome = score_calculation.RolledBack(score_id, event_id, scores, events)
        await kept.keep_one_of(self.lab.notebook, kept.OUTBOX, "write", outcome)
        return outcome

    def last_write(self) -> score_calculation.ScoreRecorded | score_calculation.RolledBack | None:
        """The kept outcome of the last score write: committed, or rolled back with the rows found after."""
        return kept.last_one_of(self.lab.notebook, kept.OUTBOX, "write", score_calculation.OUTCOMES)

    async def score_burst(self, count: int) -> int:
        async with self.lab.exclusive("A burst of scores", heavy=True):
            await self.lab.ready()
            assert self.lab.sessions is not None
            written = len(await score_calculation.record_burst(self.lab.sessions, count))
        await self.lab.notebook.keep(kept.OUTBOX, "burst", written)
        return written

    def last_burst(self) -> int | None:
        """How many scores the last burst wrote, each with its event in its own transaction."""
        return kept.last(self.lab.notebook, kept.OUTBOX, "burst", int)

    # -- what the page and /api/health show ----------------------------------------------------------

    async def recent_events(self, limit: int = 30) -> list[DomainEvent]:
        async with self.lab.session() as session:
            return await DomainEventRepository(session).recent(limit=limit)

    @property
    def stream(self) -> str:
        """The Redis Stream this lab publishes to: `qulab:events`, or a classroom learner's own."""
        return self.lab.sandbox.names.stream

    async def stream_tail(self, count: int = 10) -> list[dict[str, str]]:
        await self.lab.ready()
        assert self.lab.redis is not None
        return await stream_tail(self.lab.redis.client, count, self.stream)

    async def consumer_state(self) -> ConsumerState | None:
        if not self._started():
            return None
        assert self.consumer is not None
        try:
            return await self.consumer.state()
        except (RedisError, OSError) as error:
            log.warning("outbox consumer state: %s", error)
            return None

    def publisher_health(self) -> dict[str, Any]:
        """What /api/health and the page show about the publisher itself."""
        stats = self.publisher.stats if self.publisher else None
        breaker = self.publisher.breaker if self.publisher else None
        last = stats.last_tick if stats else None
        since, next_probe = (breaker.since, breaker.next_probe_at) if breaker else (None, None)
        return {
            "breaker": breaker.state.value if breaker else "closed",
            **({"breaker_since": since.isoformat()} if since else {}),
            **({"breaker_next_probe": next_probe.isoformat()} if next_probe else {}),
            "publisher": "running" if self.running else "paused",
            "interval_s": self.interval_s,
            "batch_size": self.config.batch_size,
            "published_per_s": round(stats.published_per_s(), 1) if stats else 0.0,
            "published_total": stats.published if stats else 0,
            "transport_failures": stats.transport_failures if stats else 0,
            "poison_rejections": stats.poison_rejections if stats else 0,
            "dead_lettered": stats.dead_lettered if stats else 0,
            "crashes": stats.crashes if stats else 0,
            "last_tick_ms": round(last.duration_s * 1000, 1) if last else None,
            "last_tick_error": last.error if last else None,
            "latency_p50_ms": stats.latency_ms(50) if stats else None,
            "latency_p95_ms": stats.latency_ms(95) if stats else None,
        }

    def outages(self) -> list[Outage]:
        """The breaker's recent outages (monotonic start/end), for the page's chart."""
        return list(self.publisher.breaker.outages) if self.publisher else []

    async def counts(self) -> dict[str, Any]:
        """Events per status and the age of the oldest pending one, read from the table."""
        async with self.lab.session() as session:
            events = DomainEventRepository(session)
            counts = await events.counts_by_status()
            oldest = await events.oldest_pending_at()
        age = (datetime.now(UTC) - oldest).total_seconds() if oldest else None
        return {
            "pending": counts.get("pending", 0),
            "published": counts.get("published", 0),
            "failed": counts.get("failed", 0),
            "oldest_pending_age_s": round(age, 3) if age is not None else None,
        }

    async def status(self) -> dict[str, Any]:
        return {**await self.counts(), **self.publisher_health()}
