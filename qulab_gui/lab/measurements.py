"""The measurements a guided step can ask for by name: each runs the real mechanism on the learner's lab.

A guide (qulab_gui/guides/<lab>.toml) names one of these and its parameters; the function runs it
through the same Lab calls the page's own controls use and returns every number it measured, by
name. The step picks one as the answer; the others can appear in its explanation.

Each one is bounded in time (seconds, not minutes), leaves the learner's own rows alone, and puts
back what it changed for the run (the latency knob, the broker switch). Where a step needs sample
data it adds it through the lab's own loader and says so in its note.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from qulab_gui.data import score_calculation
from qulab_gui.data.cache import BYPASS, ERROR, REDIS_ERRORS, SCORE
from qulab_gui.data.database import PoolSettings
from qulab_gui.data.errors import ValidationError
from qulab_gui.data.repositories import DomainEventRepository

if TYPE_CHECKING:
    from .core import Lab

RECOVERY_LIMIT_S = 15.0  # the outage step gives the publisher this long to deliver the backlog


@dataclass
class Measured:
    """What a measurement found: numbers by name, and a note on anything it did first (sample data)."""

    values: dict[str, float]
    notes: list[str] = field(default_factory=list)


MeasureFn = Callable[..., Awaitable[Measured]]


@dataclass(frozen=True)
class Measurement:
    run: MeasureFn
    params: frozenset[str]  # the parameters a guide may (and must) give
    values: frozenset[str]  # the names of the numbers it returns


REGISTRY: dict[str, Measurement] = {}


def measurement(*, params: tuple[str, ...], values: tuple[str, ...]) -> Callable[[MeasureFn], MeasureFn]:
    def register(run: MeasureFn) -> MeasureFn:
        REGISTRY[run.__name__] = Measurement(run, frozenset(params), frozenset(values))
        return run
    return register


async def at_least_users(lab: Lab, n: int, scores_per_user: int, notes: list[str]) -> None:
    """Add sample users (through the lab's loader) when the table has fewer than `n`; the note says so."""
    have = (await lab.count_rows()).users
    if have < n:
        await lab.load_samples(n - have, scores_per_user)
        notes.append(f"Added {n - have:,} sample users (with {scores_per_user} scores each) first, "
                     f"so that there are {n:,} to measure.")


@asynccontextmanager
async def network_latency(lab: Lab, ms: float | None) -> AsyncIterator[None]:
    """The latency knob at `ms` for this run only; the learner's own setting comes back afterwards."""
    if ms is None:
        yield
        return
    before = lab.latency.ms
    lab.set_latency(ms)
    try:
        yield
    finally:
        lab.set_latency(before)


# -- lab 1: models ---------------------------------------------------------------------------------


@measurement(params=("email", "name", "years"), values=("problems", "rows_written"))
async def rejected_form(lab: Lab, email: str, name: str, years: float) -> Measured:
    """Submit a bad user form; count the problems reported and the rows written (all tables)."""
    before = await lab.count_rows()
    try:
        await lab.create_user(email=email, name=name, occupation_code="15-1252", education_level="bachelor",
                              years_experience=years)
        problems = 0
    except ValidationError as refusal:
        problems = len(str(refusal).splitlines())
    after = await lab.count_rows()
    written = sum(vars(after).values()) - sum(vars(before).values())
    return Measured({"problems": problems, "rows_written": written})


@measurement(params=("scores",), values=("deleted_scores", "remaining_scores", "remaining_events"))
async def delete_cascade(lab: Lab, scores: int) -> Measured:
    """A new user with `scores` AIR scores (each with its event), deleted: what the cascade removes."""
    user = await lab.create_user(email=f"guided-{uuid.uuid4().hex[:8]}@example.org", name="Guided Step User",
                                 occupation_code="15-1252", education_level="bachelor", years_experience=3)
    written = [await lab.outbox.calculate_score(user.id) for _ in range(scores)]
    deleted = await lab.delete_user(user.id)
    remaining_scores = remaining_events = 0
    async with lab.session() as session:
        for recorded in written:
            assert isinstance(recorded, score_calculation.ScoreRecorded)
            found_scores, found_events = await score_calculation.rows_for(session, recorded.score_id,
                                                                          recorded.event_id)
            remaining_scores += found_scores
            remaining_events += found_events
    return Measured({"deleted_scores": deleted.scores, "remaining_scores": remaining_scores,
                     "remaining_events": remaining_events},
                    [f"Created the user {user.email} for this step; it is deleted again."])


# -- lab 2: connectivity -----------------------------------------------------------------------------


@measurement(params=("sessions", "size", "overflow", "timeout_s", "hold_s"),
             values=("max_wait_s", "timeouts", "completed", "elapsed_s"))
async def pool_probe(lab: Lab, sessions: int, size: int, overflow: int, timeout_s: float, hold_s: float) -> Measured:
    """The concurrency probe of the page: K sessions each hold a connection from a fresh pool."""
    result = await lab.probe_pool(sessions, PoolSettings(size=size, max_overflow=overflow, timeout_s=timeout_s),
                                  hold_s)
    return Measured({"max_wait_s": result.max_wait_s, "timeouts": result.timeouts, "completed": result.completed,
                     "elapsed_s": result.elapsed_s})


# -- lab 3: N+1 ------------------------------------------------------------------------------------


@measurement(params=("strategy", "n", "scores_per_user", "latency_ms"),
             values=("statements", "rows", "ms", "scores", "assessments", "latency_ms", "network_ms"))
async def nplus1_load(lab: Lab, strategy: str, n: int, scores_per_user: int, latency_ms: float) -> Measured:
    """Load the first N users with one strategy, as the page's Run button does, at a given latency."""
    notes: list[str] = []
    await at_least_users(lab, n, scores_per_user, notes)
    async with network_latency(lab, latency_ms):
        (result,) = await lab.nplus1.measure([strategy], n)
    ms = result.elapsed_s * 1000
    return Measured({"statements": result.statements, "rows": result.rows_fetched, "ms": ms,
                     "scores": result.scores, "assessments": result.assessments, "latency_ms": latency_ms,
                     "network_ms": result.statements * latency_ms}, notes)


# -- lab 4: caching --------------------------------------------------------------------------------


@measurement(params=("reads", "skew", "users", "latency_ms"),
             values=("hit_ratio_pct", "hits", "misses", "users", "hit_ms", "miss_ms", "database_ms"))
async def cache_workload(lab: Lab, reads: int, skew: float, users: int, latency_ms: float) -> Measured:
    """The page's workload from a cold cache: Zipf-skewed reads of the latest score."""
    notes: list[str] = []
    await at_least_users(lab, users, 1, notes)
    async with network_latency(lab, latency_ms):
        result = await lab.caching.run_workload(reads, skew, cold=True)
    return Measured({"hit_ratio_pct": 100 * (result.hit_ratio or 0.0), "hits": result.hits,
                     "misses": result.misses, "users": result.users, "hit_ms": result.t_cache_ms or 0.0,
                     "miss_ms": result.t_miss_ms or 0.0, "database_ms": result.t_db_ms or 0.0}, notes)


@measurement(params=("reads",), values=("failed", "answered_by_database", "reads"))
async def cache_outage(lab: Lab, reads: int) -> Measured:
    """Reads with Redis unreachable (the page's fail-open switch, switched back off afterwards)."""
    notes: list[str] = []
    await at_least_users(lab, 10, 1, notes)
    was_down = lab.caching.simulating_unreachable
    await lab.caching.simulate_unreachable(True)
    try:
        user_id = (await lab.list_users(limit=1))[0].id
        failed = degraded = 0
        for _ in range(reads):
            try:
                lookup = await lab.caching.read(SCORE, user_id)
            except REDIS_ERRORS:  # what a read would raise without fail-open: Redis' own error
                failed += 1
            else:
                degraded += lookup.outcome in (ERROR, BYPASS)
    finally:
        await lab.caching.simulate_unreachable(was_down)
    return Measured({"failed": failed, "answered_by_database": degraded, "reads": reads}, notes)


# -- lab 5: outbox ---------------------------------------------------------------------------------


@measurement(params=("scores", "down_s"), values=("pending_while_down", "lost", "delivered", "recovery_s"))
async def broker_outage(lab: Lab, scores: int, down_s: float) -> Measured:
    """Record scores while the broker is down for `down_s`, bring it back, count what reached the stream."""
    outbox = lab.outbox
    if outbox.faults.broker_down:
        raise ValidationError("The broker is already switched off on this page: switch it back on first")
    notes: list[str] = []
    await at_least_users(lab, 1, 1, notes)
    outbox.set_broker_down(True)
    try:
        assert lab.sessions is not None
        ids = [r.event_id for r in await score_calculation.record_burst(lab.sessions, scores)]
        await asyncio.sleep(down_s)  # the publisher's timer keeps trying (and failing) meanwhile
        pending = sum(status == "pending" for status in (await event_statuses(lab, ids)).values())
    finally:
        outbox.set_broker_down(False)
    started = time.monotonic()
    delivered = 0
    while time.monotonic() - started < RECOVERY_LIMIT_S:
        await outbox.publish_now()
        on_stream = {entry.get("event_id") for entry in await outbox.stream_tail(len(ids) + 200)}
        delivered = len(on_stream.intersection(ids))
        if delivered == len(ids):
            break
        await asyncio.sleep(0.2)
    return Measured({"pending_while_down": pending, "lost": len(ids) - delivered, "delivered": delivered,
                     "recovery_s": time.monotonic() - started}, notes)


async def event_statuses(lab: Lab, ids: list[str]) -> dict[str, str]:
    async with lab.session() as session:
        return await DomainEventRepository(session).statuses(ids)


@measurement(params=(), values=("rows_left",))
async def failed_transaction(lab: Lab) -> Measured:
    """The score write with the failure switch: after the rollback, count the score and event rows left."""
    notes: list[str] = []
    await at_least_users(lab, 1, 1, notes)
    user_id = (await lab.list_users(limit=1))[0].id
    outcome = await lab.outbox.calculate_score(user_id, fail_after_write=True)
    assert isinstance(outcome, score_calculation.RolledBack)
    return Measured({"rows_left": outcome.scores_found + outcome.events_found}, notes)
