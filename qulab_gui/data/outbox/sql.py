"""The outbox's statements: claim a batch with a lease, mark it published, give leases back, and
charge a poison event an attempt. Every function is one transaction.

Claim: `claimed_by` and `lease_expires_at` are set by a single `UPDATE … WHERE id IN (SELECT …
FOR UPDATE SKIP LOCKED) … RETURNING`. On PostgreSQL the row locks make a second publisher skip
the rows being claimed; SQLite has one writer at a time, so the same `UPDATE … RETURNING` is
atomic there and the `FOR UPDATE` clause is left out by the dialect. A publisher that dies keeps
its lease until it expires; then the batch is due again and another publisher takes it over.

Per-aggregate order: an event is claimed only if no earlier event (by `occurred_at`, then `id`)
of the same aggregate is blocked (dead-lettered, backing off, or leased by another publisher).
Because the claim takes due events in that same global order, a batch that holds an event also
holds every earlier unpublished event of its aggregate.
"""

from __future__ import annotations

import functools
import random
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import Text, and_, bindparam, cast, exists, or_, select, text, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ..models import EventStatus, utcnow
from .config import EVENTS, ClaimedEvent, PublisherConfig, backoff_s

PENDING, PUBLISHED, FAILED = EventStatus.PENDING.value, EventStatus.PUBLISHED.value, EventStatus.FAILED.value


@functools.lru_cache(maxsize=8)
def _claim_statement(limit: int):
    """Built once per batch size: a classroom's thirty publishers each claim every few seconds,
    and rebuilding this construct each time showed in the event loop's profile. The clock and the
    publisher are bound per execution (`now`, `lease_until`, `publisher`)."""
    when = EVENTS.c.lease_expires_at.type
    now, lease_until = bindparam("now", type_=when), bindparam("lease_until", type_=when)
    publisher = bindparam("publisher", type_=EVENTS.c.claimed_by.type)
    candidate = EVENTS.alias("candidate")
    earlier = EVENTS.alias("earlier")
    blocked_earlier = exists().where(
        earlier.c.aggregate_type == candidate.c.aggregate_type,
        earlier.c.aggregate_id == candidate.c.aggregate_id,
        earlier.c.occurred_at <= candidate.c.occurred_at,  # redundant, but lets the planner seek the index
        tuple_(earlier.c.occurred_at, earlier.c.id) < tuple_(candidate.c.occurred_at, candidate.c.id),
        or_(earlier.c.status == FAILED,
            and_(earlier.c.status == PENDING,
                 or_(earlier.c.next_attempt_at > now, earlier.c.lease_expires_at > now))),
    )
    due = (
        select(candidate.c.id)
        .where(candidate.c.status == PENDING,
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
        earlier.c.status != PUBLISHED,
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
            # them (quadratic exactly when many are blocked: a poison backlog). Rule both out, and
            # plan each claim for its own parameters, not once generically for the prepared statement.
            await session.execute(text(  # set_config(..., true) is SET LOCAL: this transaction only
                "SELECT set_config('enable_material', 'off', true), set_config('enable_sort', 'off', true), "
                "set_config('plan_cache_mode', 'force_custom_plan', true)"))
        result = await session.execute(_claim_statement(limit),
                                       {"now": now, "lease_until": lease_until, "publisher": publisher})
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
            .values(status=PUBLISHED, published_at=utcnow(), claimed_by=None, lease_expires_at=None,
                    last_error=None, next_attempt_at=None))


def _release_statement(ids: Sequence[str], publisher: str):
    """Leases given back untouched: attempts, backoff and order stay exactly as they were."""
    return (update(EVENTS).where(EVENTS.c.id.in_(list(ids)), EVENTS.c.claimed_by == publisher)
            .values(claimed_by=None, lease_expires_at=None))


async def mark_published(sessions: async_sessionmaker[AsyncSession], ids: Sequence[str]) -> int:
    """One UPDATE for the whole batch; releases the lease."""
    async with sessions() as session, session.begin():
        result = await session.execute(_mark_statement(ids))
    return result.rowcount


async def release(sessions: async_sessionmaker[AsyncSession], ids: Sequence[str], publisher: str) -> None:
    """After a transport failure: the batch is due again at once, nothing charged to it."""
    if ids:
        async with sessions() as session, session.begin():
            await session.execute(_release_statement(ids, publisher))


def poison_rows(rejected: Sequence[tuple[ClaimedEvent, str]], config: PublisherConfig,
                rng: random.Random) -> list[dict]:
    """attempts + 1 and a backoff per rejected event, or the dead letter at max_attempts."""
    now = utcnow()
    rows = []
    for event, error in rejected:
        attempts = event.attempts + 1
        dead = attempts >= config.max_attempts
        rows.append({
            "b_id": event.id, "b_attempts": attempts, "b_status": FAILED if dead else PENDING,
            "b_next": None if dead else now + timedelta(seconds=backoff_s(attempts, config, rng)),
            "b_error": error[:500],
        })
    return rows


async def settle(sessions: async_sessionmaker[AsyncSession], publisher: str, *, published: Sequence[str],
                 poison: Sequence[dict], released: Sequence[str]) -> None:
    """A batch the broker took only in part, in one transaction: the accepted entries marked published,
    each rejected (poison) entry charged an attempt, the rest given back untouched."""
    statement = (update(EVENTS).where(EVENTS.c.id == bindparam("b_id"), EVENTS.c.status == PENDING)
                 .values(attempts=bindparam("b_attempts"), status=bindparam("b_status"),
                         next_attempt_at=bindparam("b_next"), last_error=bindparam("b_error"),
                         claimed_by=None, lease_expires_at=None))
    async with sessions() as session, session.begin():
        if published:
            await session.execute(_mark_statement(published))
        if poison:
            connection = await session.connection()
            await connection.execute(statement, list(poison))  # executemany: each has its own jittered delay
        if released:
            await session.execute(_release_statement(released, publisher))


async def retry_failed(session: AsyncSession, ids: Sequence[str] | None = None) -> int:
    """Manual retry of dead-lettered events: pending again, due now, attempts from zero."""
    statement = update(EVENTS).where(EVENTS.c.status == FAILED)
    if ids is not None:
        statement = statement.where(EVENTS.c.id.in_(list(ids)))
    async with session.begin():
        result = await session.execute(statement.values(
            status=PENDING, attempts=0, next_attempt_at=None, claimed_by=None, lease_expires_at=None))
    return result.rowcount


async def oldest_pending_id(session: AsyncSession) -> str | None:
    """The event a publisher sends next (the poison switch aims at it)."""
    return await session.scalar(select(EVENTS.c.id).where(EVENTS.c.status == PENDING)
                                .order_by(EVENTS.c.occurred_at, EVENTS.c.id).limit(1))
