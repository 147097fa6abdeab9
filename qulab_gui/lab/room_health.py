"""/api/health of a classroom server: the server as a whole, over every open sandbox.

The backends (dialect, URLs, ok) come from the server's own Lab; the outbox figures are summed over
the open sandboxes, each at most 2 s old and read with a short bound so a learner's busy database
cannot hold up the answer; the breaker is the worst of theirs. `learners` counts the sandboxes open.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from .classroom import Classroom
from .core import Lab

log = logging.getLogger(__name__)

COUNT_TIMEOUT_S = 0.2
COUNTS_MAX_AGE_S = 2.0  # thirty sandboxes counted on every poll would be the server's main work
BREAKERS_WORST_FIRST = ("open", "half_open", "closed")


async def _counts(lab: Lab) -> dict[str, Any] | None:
    try:
        return await asyncio.wait_for(lab.outbox.recent_counts(COUNTS_MAX_AGE_S), COUNT_TIMEOUT_S)
    except (TimeoutError, SQLAlchemyError, RuntimeError) as error:
        log.debug("sandbox %s: outbox counts skipped (%s)", lab.sandbox.label, error)
        return None


async def classroom_health(room: Lab, classroom: Classroom) -> dict[str, Any]:
    health = await room.health()
    labs = [lab for lab in classroom.labs if lab.started]
    counted = [counts for counts in await asyncio.gather(*map(_counts, labs)) if counts is not None]
    ages = [counts["oldest_pending_age_s"] for counts in counted if counts["oldest_pending_age_s"] is not None]
    breakers = {lab.outbox.publisher_health()["breaker"] for lab in labs}
    breaker = next((state for state in BREAKERS_WORST_FIRST if state in breakers), "closed")
    health["outbox"] = {
        **{status: sum(counts[status] for counts in counted) for status in ("pending", "published", "failed")},
        "oldest_pending_age_s": max(ages, default=None),
        "publisher": "running" if all(lab.outbox.running for lab in labs) else "paused",
        "breaker": breaker,
        "sandboxes_counted": len(counted),
    }
    if breaker != "closed":
        health["status"] = "degraded"
    health["learners"] = classroom.open_count
    health["classroom"] = {"open": classroom.open_count, "connected": classroom.connected_count(),
                           "max": classroom.settings.max_learners, "closed_idle": classroom.closed_idle,
                           "heavy_runs_at_once": classroom.slots.at_once, "heavy_runs_waiting": classroom.slots.waiting}
    return health
