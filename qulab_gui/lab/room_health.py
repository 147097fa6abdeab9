"""/api/health of a classroom server: the server as a whole, over every open sandbox.

A busy room must not slow the answer down, and thirty sandboxes counted on every poll would be the
server's main work. So a timer (`refresh`, every 2 s) checks the backends through the server's
own Lab and reads each open sandbox's outbox counts (bounded: a learner's busy database cannot hold
it up); `/api/health` answers from that snapshot without a single await, saying how old it is
(`checked_at`). The outbox figures are summed over the sandboxes, the breaker is the worst of theirs,
and `learners` counts the sandboxes open.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from qulab_gui import __version__

from .classroom import Classroom
from .core import Lab

log = logging.getLogger(__name__)

REFRESH_INTERVAL_S = 2.0
COUNT_TIMEOUT_S = 0.5
BREAKERS_WORST_FIRST = ("open", "half_open", "closed")
STATUSES = ("pending", "published", "failed")


async def _counts(lab: Lab) -> dict[str, Any] | None:
    try:
        return await asyncio.wait_for(lab.outbox.counts(), COUNT_TIMEOUT_S)
    except (TimeoutError, SQLAlchemyError, RuntimeError) as error:
        log.debug("sandbox %s: outbox counts skipped (%s)", lab.sandbox.label, error)
        return None


class RoomHealth:
    def __init__(self, room: Lab, classroom: Classroom) -> None:
        self.room = room
        self.classroom = classroom
        self._counts: list[dict[str, Any]] = []
        self._checked_at: datetime | None = None

    async def refresh(self) -> None:
        """The timer's callback: the backends and every open sandbox's outbox, read now."""
        if not self.room.started:
            return
        await self.room.refresh_status()
        labs = [lab for lab in self.classroom.labs if lab.started]
        self._counts = [counts for counts in await asyncio.gather(*map(_counts, labs)) if counts is not None]
        self._checked_at = datetime.now(UTC)

    def health(self) -> dict[str, Any]:
        """The last snapshot, in /api/health's shape (the desktop's keys, plus the room's)."""
        room, classroom = self.room, self.classroom
        status = room.backend_status
        labs = [lab for lab in classroom.labs if lab.started]
        breakers = {lab.outbox.publisher_health()["breaker"] for lab in labs}
        breaker = next((state for state in BREAKERS_WORST_FIRST if state in breakers), "closed")
        ages = [counts["oldest_pending_age_s"] for counts in self._counts if counts["oldest_pending_age_s"] is not None]
        ok = bool(status["database"]) and bool(status["redis"]) and breaker == "closed"
        return {
            "status": "ok" if ok else "degraded",
            "version": __version__,
            "database": {"dialect": room.dialect, "url": room.database_url, "ok": bool(status["database"])},
            "redis": {"backend": room.redis_backend, "url": room.redis_url, "ok": bool(status["redis"])},
            "outbox": {
                **{name: sum(counts[name] for counts in self._counts) for name in STATUSES},
                "oldest_pending_age_s": max(ages, default=None),
                "publisher": "running" if all(lab.outbox.running for lab in labs) else "paused",
                "breaker": breaker,
                "sandboxes_counted": len(self._counts),
            },
            "checked_at": self._checked_at.isoformat(timespec="seconds") if self._checked_at else None,
            "learners": classroom.open_count,
            "classroom": {"open": classroom.open_count, "connected": classroom.connected_count(),
                          "max": classroom.settings.max_learners, "closed_idle": classroom.closed_idle,
                          "heavy_runs_at_once": classroom.slots.at_once,
                          "heavy_runs_waiting": classroom.slots.waiting},
            **({"startup_error": room.startup_error} if room.startup_error else {}),
        }
