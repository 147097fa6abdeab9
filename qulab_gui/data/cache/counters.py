"""The cache's own counters, one set per key family, counted on its own paths."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, fields
from typing import Any


@dataclass(slots=True)
class FamilyStats:
    """Counted by the cache on its own paths; `hit_ratio` is over the reads that reached Redis."""

    hits: int = 0
    negative_hits: int = 0  # hits on a cached "nothing there" (included in hits)
    misses: int = 0
    loads: int = 0  # database loads (misses sharing one load count once)
    coalesced: int = 0  # misses that waited for another task's load
    stale: int = 0  # loads not written back because an invalidation raced them
    errors: int = 0  # Redis operations that failed
    bypassed: int = 0  # reads sent to the database while the breaker was open
    invalidations: int = 0
    load_seconds: float = 0.0

    @property
    def hit_ratio(self) -> float | None:
        lookups = self.hits + self.misses
        return self.hits / lookups if lookups else None

    @property
    def mean_load_ms(self) -> float | None:
        return self.load_seconds / self.loads * 1000 if self.loads else None

    def as_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)} | {
            "hit_ratio": self.hit_ratio, "mean_load_ms": self.mean_load_ms}


def total(all_stats: Iterable[FamilyStats]) -> FamilyStats:
    """The sum of several families' counters."""
    summed = FamilyStats()
    for stats in all_stats:
        for f in fields(FamilyStats):
            setattr(summed, f.name, getattr(summed, f.name) + getattr(stats, f.name))
    return summed
