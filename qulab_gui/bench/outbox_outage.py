"""Outbox outage case: events committed at 50/s, one per transaction, while the publisher runs on
the app's timer, through a 10 s outage of a real Redis (a private `redis-server` on a free port,
stopped by PID and restarted with its data; 5 s with --quick).

Reports `outbox_outage_dead_lettered` (must be 0: an outage is not the events' fault),
`outbox_outage_lost` (committed events not on the stream afterwards, must be 0) and
`outbox_outage_recovery_s`: from the broker answering again until the backlog is drained.
Skipped, with the reason printed, where no `redis-server` is installed.

The producer and the timer loop are shared with the outage tests, which run the same scenario.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from sqlalchemy import func, insert, select

from qulab_gui.bench.context import BenchContext
from qulab_gui.bench.redis_server import RedisServer, available
from qulab_gui.data import database
from qulab_gui.data.models import DomainEvent, EventStatus, new_id, utcnow
from qulab_gui.data.outbox import EVENTS, OutboxPublisher, publisher_client
from qulab_gui.data.score_calculation import AGGREGATE_TYPE, EVENT_TYPE
from qulab_gui.lab.outbox import MAX_BATCHES_PER_TICK, PUBLISH_INTERVAL_S

RATE = 50.0  # events per second, one per transaction
USERS = 20
STREAM = "qulab:events"  # a private server: the app's own stream name, as the app would use it
DRAIN_TIMEOUT_S = 60.0


class Producer:
    """Commits score events for USERS users at RATE per second until stopped; remembers them."""

    def __init__(self, sessions) -> None:
        self.sessions = sessions
        self.rows: list[dict[str, Any]] = []
        self._stop = asyncio.Event()
        self._task: asyncio.Future[None] | None = None

    def start(self) -> Producer:
        self._task = asyncio.ensure_future(self._run())
        return self

    async def stop(self) -> list[dict[str, Any]]:
        self._stop.set()
        assert self._task is not None
        await self._task
        return self.rows

    async def _run(self) -> None:
        began = time.monotonic()
        while not self._stop.is_set():
            n = len(self.rows)
            user = f"user-{n % USERS}"
            row = {"id": new_id(), "event_type": EVENT_TYPE, "aggregate_type": AGGREGATE_TYPE, "aggregate_id": user,
                   "occurred_at": utcnow(), "payload": {"user_id": user, "air_score": round(40 + n / 100, 2)}}
            async with self.sessions() as session, session.begin():
                await session.execute(insert(EVENTS), [row])
            self.rows.append(row)
            await asyncio.sleep(max(0.0, began + (n + 1) / RATE - time.monotonic()))


async def publish_timer(publisher: OutboxPublisher, stop: asyncio.Event) -> None:
    """What the app's publisher timer does: drain, then sleep the rest of the interval."""
    while not stop.is_set():
        began = time.monotonic()
        await publisher.drain(max_batches=MAX_BATCHES_PER_TICK)
        await asyncio.sleep(max(0.0, PUBLISH_INTERVAL_S - (time.monotonic() - began)))


async def not_published(sessions) -> int:
    async with sessions() as session:
        return await session.scalar(select(func.count()).where(DomainEvent.status != EventStatus.PUBLISHED))


async def _through_outage(sessions, broker: RedisServer, outage_s: float) -> dict[str, Any]:
    client = publisher_client(broker.url)
    publisher = OutboxPublisher(sessions, client, name="bench-outage", stream=STREAM)
    stop = asyncio.Event()
    timer = asyncio.ensure_future(publish_timer(publisher, stop))
    try:
        producer = Producer(sessions).start()
        await asyncio.sleep(2.0)  # publishing normally first
        await asyncio.to_thread(broker.stop)
        await asyncio.sleep(outage_s)
        await asyncio.to_thread(broker.start)
        back = time.monotonic()
        rows = await producer.stop()
        while await not_published(sessions) and time.monotonic() - back < DRAIN_TIMEOUT_S:
            await asyncio.sleep(0.02)
        recovery_s = time.monotonic() - back
        async with sessions() as session:
            failed = await session.scalar(select(func.count()).where(DomainEvent.status == EventStatus.FAILED))
        on_stream = [fields["event_id"] for _, fields in await client.xrange(STREAM)]
    finally:
        stop.set()
        await timer
        await client.aclose()
    lost = len({r["id"] for r in rows} - set(on_stream))
    return {"committed": len(rows), "failed": failed, "lost": lost, "recovery_s": recovery_s,
            "duplicates": len(on_stream) - (len(rows) - lost), "outages": len(publisher.breaker.outages),
            "transport_failures": publisher.stats.transport_failures, "pending": await not_published(sessions)}


async def run(ctx: BenchContext) -> dict[str, Any]:
    reason = available()
    if reason:
        print(f"  skipped: {reason} (this case stops and restarts a Redis server of its own)", flush=True)
        return {"environment": {"outbox_outage": f"skipped: {reason}"}}
    outage_s = 5.0 if ctx.quick else 10.0
    engine = database.create_engine(ctx.url_for("outbox_outage"))
    try:
        await database.reset(engine)
        with RedisServer(ctx.work_dir / "outage-redis") as broker:
            found = await _through_outage(database.create_session_factory(engine), broker, outage_s)
    finally:
        await engine.dispose()
    if found["pending"]:
        raise RuntimeError(f"{found['pending']} events were still unpublished {DRAIN_TIMEOUT_S:g} s after the outage")
    ctx.row("outage", f"committed at {RATE:g}/s through a {outage_s:g} s stop", f"{found['committed']:,} events")
    ctx.row("outage", "dead-lettered / lost / duplicates",
            f"{found['failed']} / {found['lost']} / {found['duplicates']}")
    ctx.row("outage", "broker back → backlog drained", f"{found['recovery_s']:.2f} s (target ≤ 5 s)")
    ctx.row("outage", "breaker openings / failed publishes+probes",
            f"{found['outages']} / {found['transport_failures']}")
    return {
        "metrics": {
            "outbox_outage_dead_lettered": found["failed"],
            "outbox_outage_lost": found["lost"],
            "outbox_outage_recovery_s": round(found["recovery_s"], 2),
            "outbox_outage_duplicates": found["duplicates"],
            "outbox_outage_s": outage_s,
        },
        "environment": {"outbox_outage_backends": f"redis-server / {engine.dialect.name}"},
    }
