"""Outbox case: how fast the publisher drains a backlog, next to its floor and a naive baseline, and
how long an event waits between its commit and the stream while the publisher runs on a timer.

- Floor: the same entries XADDed straight from memory in pipelines of one batch, with the same
  client, right before and right after each drain.
- Outbox: 20,000 pending rows (2,000 with --quick) drained by `OutboxPublisher` (claim with lease,
  one pipeline, one UPDATE per batch); events/s over the whole drain, every database round-trip
  included. After a small warm-up drain, three rounds of floor, drain, floor: the machine is
  shared and its speed drifts, so each drain is compared with the faster floor around it, and
  the median round is reported.
- Naive: one event per transaction: SELECT the oldest pending row, XADD it, UPDATE it, COMMIT.
- Latency: the publisher ticks every 0.5 s (the app's default timer interval) while a producer
  commits one event per transaction at a steady rate; latency is the stream entry's own time (the
  ms part of its id, stamped by Redis) minus the wall time right after the producer's COMMIT.
"""

from __future__ import annotations

import asyncio
import json
import time
from datetime import timedelta
from typing import Any

from redis.asyncio import Redis
from sqlalchemy import insert, select, text

from qulab_gui.bench.context import BenchContext
from qulab_gui.data import database, redis_client
from qulab_gui.data.models import DomainEvent, new_id, utcnow
from qulab_gui.data.outbox import EVENTS, OutboxPublisher, PublisherConfig
from qulab_gui.data.score_calculation import AGGREGATE_TYPE, EVENT_TYPE
from qulab_gui.data.stats import percentile
from qulab_gui.lab.outbox import MAX_BATCHES_PER_TICK
from qulab_gui.lab.outbox import PUBLISH_INTERVAL_S as INTERVAL_S

STREAM = "qulab:bench:outbox"  # never the app's own stream
RAW_STREAM = "qulab:bench:raw"
BATCH = 1000
ROUNDS = 3


def _rows(n: int, users: int) -> list[dict[str, Any]]:
    """Pending score events shaped like the app's own (same payload fields and sizes)."""
    start = utcnow() - timedelta(minutes=1)
    rows = []
    for i in range(n):
        user_id, score_id = new_id(), new_id()
        rows.append({
            "id": new_id(), "event_type": EVENT_TYPE, "aggregate_type": AGGREGATE_TYPE,
            "aggregate_id": f"{i % users:08d}" + user_id[8:], "occurred_at": start + timedelta(microseconds=i),
            "payload": {"score_id": score_id, "user_id": user_id, "air_score": 61.37, "ci_lower": 48.2,
                        "ci_upper": 74.55, "parameter_version": "air-2026.1",
                        "calculated_at": (start + timedelta(microseconds=i)).isoformat()},
        })
    return rows


async def _insert(sessions, rows: list[dict[str, Any]]) -> None:
    async with sessions() as session, session.begin():
        for start in range(0, len(rows), 5000):
            await session.execute(insert(EVENTS), rows[start:start + 5000])


async def _raw_xadd(client: Redis, rows: list[dict[str, Any]]) -> float:
    entries = [{"event_id": r["id"], "event_type": r["event_type"], "aggregate_type": r["aggregate_type"],
                "aggregate_id": r["aggregate_id"], "payload": json.dumps(r["payload"]),
                "occurred_at": r["occurred_at"].isoformat()} for r in rows]
    await client.delete(RAW_STREAM)
    started = time.perf_counter()
    for start in range(0, len(entries), BATCH):
        async with client.pipeline(transaction=False) as pipe:
            for fields in entries[start:start + BATCH]:
                pipe.xadd(RAW_STREAM, fields)
            await pipe.execute()
    elapsed = time.perf_counter() - started
    await client.delete(RAW_STREAM)
    return len(entries) / elapsed


async def _naive(sessions, client: Redis, n: int) -> float:
    started = time.perf_counter()
    for _ in range(n):
        async with sessions() as session, session.begin():
            event = await session.scalar(select(DomainEvent).where(DomainEvent.status == "pending")
                                         .order_by(DomainEvent.occurred_at, DomainEvent.id).limit(1))
            assert event is not None
            await client.xadd(STREAM, {"event_id": event.id, "event_type": event.event_type,
                                       "aggregate_type": event.aggregate_type, "aggregate_id": event.aggregate_id,
                                       "payload": json.dumps(event.payload),
                                       "occurred_at": event.occurred_at.isoformat()})
            event.status, event.published_at = "published", utcnow()
    return n / (time.perf_counter() - started)


async def _latency(sessions, client: Redis, publisher: OutboxPublisher, seconds: float, rate: float) -> list[float]:
    """Commit→stream latencies (ms) of events committed one per transaction while the timer runs."""
    committed: dict[str, float] = {}
    stop = asyncio.Event()

    async def timer() -> None:  # what app.timer does: tick, then sleep the rest of the interval
        while not stop.is_set():
            began = time.perf_counter()
            await publisher.drain(max_batches=MAX_BATCHES_PER_TICK)  # as the app timer does
            await asyncio.sleep(max(0.0, INTERVAL_S - (time.perf_counter() - began)))

    ticking = asyncio.ensure_future(timer())
    began = time.perf_counter()
    produced = 0
    while time.perf_counter() - began < seconds:
        row = _rows(1, 1)[0]
        row["occurred_at"] = utcnow()
        async with sessions() as session, session.begin():
            await session.execute(insert(EVENTS), [row])
        committed[row["id"]] = time.time()
        produced += 1
        await asyncio.sleep(max(0.0, began + produced / rate - time.perf_counter()))
    deadline = time.perf_counter() + 10 * INTERVAL_S
    while publisher.stats.published < len(committed) and time.perf_counter() < deadline:
        await asyncio.sleep(0.05)
    stop.set()
    await ticking
    latencies = []
    for entry_id, fields in await client.xrange(STREAM, min="-", max="+"):
        if fields["event_id"] in committed:
            stream_ms = int(entry_id.split("-")[0])
            latencies.append(stream_ms - committed[fields["event_id"]] * 1000)
    return latencies


async def run(ctx: BenchContext) -> dict[str, Any]:
    n, naive_n, users = (2000, 300, 200) if ctx.quick else (20_000, 2000, 2000)
    engine = database.create_engine(ctx.url_for("outbox"))
    connection = await redis_client.connect(ctx.redis_url)
    client = connection.client
    try:
        await database.reset(engine)
        sessions = database.create_session_factory(engine)
        await client.delete(STREAM)
        ctx.row("outbox", "backends", f"{connection.backend} / {engine.dialect.name}")
        rows = _rows(n, users)

        rounds = []  # (outbox events/s, floor events/s)
        raw_after = await _raw_xadd(client, rows)
        for round_ in range(ROUNDS + 1):  # round 0 warms caches and compiled statements: not counted
            raw_before = raw_after
            rows = _rows(n if round_ else min(n, 2000), users)
            async with sessions() as session, session.begin():
                # Every round starts from an empty table: on PostgreSQL a DELETE would leave the dead
                # row versions of the last round in the claim's index until (auto)vacuum runs.
                await session.execute(text("TRUNCATE domain_events") if engine.dialect.name == "postgresql"
                                      else EVENTS.delete())
            await _insert(sessions, rows)
            await client.delete(STREAM)
            publisher = OutboxPublisher(sessions, client, name="bench", stream=STREAM,
                                        config=PublisherConfig(batch_size=BATCH))
            started = time.perf_counter()
            drained = (await publisher.drain()).published
            rate = drained / (time.perf_counter() - started)
            assert drained == len(rows) == await client.xlen(STREAM), "the drain lost or duplicated events"
            raw_after = await _raw_xadd(client, rows)
            if round_:
                rounds.append((rate, max(raw_before, raw_after)))
        outbox_rate, raw_rate = sorted(rounds, key=lambda r: r[0] / r[1])[len(rounds) // 2]

        await client.delete(STREAM)
        await _insert(sessions, _rows(naive_n, users))
        naive_rate = await _naive(sessions, client, naive_n)

        await client.delete(STREAM)
        timed = OutboxPublisher(sessions, client, name="bench-timer", stream=STREAM,
                                config=PublisherConfig(batch_size=BATCH))
        latencies = await _latency(sessions, client, timed, 2.0 if ctx.quick else 5.0, 400.0)
    finally:
        await client.delete(STREAM, RAW_STREAM)
        await connection.close()
        await engine.dispose()

    if not latencies:
        raise RuntimeError("no event reached the stream while the timer ran: the latency case measured nothing")
    p50, p95 = percentile(latencies, 50), percentile(latencies, 95)
    fraction = outbox_rate / raw_rate
    ctx.row("outbox", f"rounds: drain / floor × {n:,}", ", ".join(f"{o:,.0f}/{r:,.0f}" for o, r in rounds))
    ctx.row("outbox", "raw pipelined XADD (floor), median round", f"{raw_rate:,.0f} events/s")
    ctx.row("outbox", f"outbox drain (batch {BATCH}), median round", f"{outbox_rate:,.0f} events/s "
            f"= {fraction:.0%} of raw (target ≥ 40%)")
    ctx.row("outbox", f"naive, one event per transaction ({naive_n:,})", f"{naive_rate:,.0f} events/s "
            f"(outbox {outbox_rate / naive_rate:.1f}× faster)")
    ctx.row("outbox", f"commit→stream latency, timer {INTERVAL_S:g} s ({len(latencies)} events)",
            f"p50 {p50:.0f} ms, p95 {p95:.0f} ms (target ≤ {INTERVAL_S * 1000 + 100:.0f} ms)")
    return {
        "metrics": {
            "outbox_events_per_s": round(outbox_rate),
            "outbox_fraction_of_raw_xadd": round(fraction, 3),
            "outbox_latency_p95_ms": round(p95, 1),
            "outbox_latency_p50_ms": round(p50, 1),
            "outbox_raw_xadd_per_s": round(raw_rate),
            "outbox_naive_events_per_s": round(naive_rate),
            "outbox_speedup_vs_naive": round(outbox_rate / naive_rate, 1),
            "outbox_drain_events": n,
            "outbox_timer_interval_ms": INTERVAL_S * 1000,
        },
        "environment": {"outbox_backends": f"{connection.backend} / {engine.dialect.name}"},
    }
