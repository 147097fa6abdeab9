"""What the Lab hands the pages: typed results (no dicts to index) and the callback types it takes.

Pages read attributes, so a renamed field fails in the type checker and the tests, not as a
KeyError on screen.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from qulab_gui.data.cache import FamilyStats, ServerCounters
from qulab_gui.data.nplus1 import OnResult
from qulab_gui.data.pooling import PoolSnapshot
from qulab_gui.data.samples import Progress
from qulab_gui.data.workload import Progress as WorkloadProgress

FormValue = int | float | str | None  # what a NiceGUI input hands over; the data layer validates it
OnSnapshot = Callable[[PoolSnapshot], None]

__all__ = ["CacheCounters", "CacheHealth", "FormValue", "OnResult", "OnSnapshot", "Progress", "TableCounts",
           "WorkloadProgress"]


@dataclass(frozen=True)
class TableCounts:
    """Rows per table of the schema."""

    users: int
    assessments: int
    air_scores: int
    domain_events: int


@dataclass(frozen=True)
class CacheHealth:
    """The cache's fail-open state; /api/health shows it as its "cache" object."""

    degraded: bool
    last_error: str | None
    pending_invalidations: int
    probe_errors: int
    simulating_unreachable: bool


@dataclass(frozen=True)
class CacheCounters:
    """A snapshot of the cache's own counters per key family, their total, and Redis' INFO counters."""

    families: dict[str, FamilyStats]
    total: FamilyStats
    server: ServerCounters | None  # None on fakeredis (no INFO) or while Redis is unreachable
    health: CacheHealth
