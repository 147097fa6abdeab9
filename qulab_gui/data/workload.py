"""A skewed read workload through the cache, measured against the database path in the same run.

Real traffic is skewed: a few users are read far more often than the rest. The sequence here is
Zipf-like: the user of popularity rank k is drawn with probability ∝ 1/k^s (s = `skew`; s = 0 is
uniform), from a seeded `random.Random`, so a run can be repeated exactly. Every latency is timed
around the real call; the hit ratio is the cache's own classification of each read.

The model the page plugs the measurements into:

    T_avg = H·T_cache + (1 − H)·(T_cache + T_db)

H the hit ratio, T_cache the mean latency of a hit, T_db the mean latency of the database path.
"""

from __future__ import annotations

import asyncio
import itertools
import random
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from .cache import HIT, MISS, SCORE, CachedUserRepository
from .stats import mean, percentile

MAX_READS = 50_000


def zipf_sequence(items: Sequence[str], reads: int, skew: float, rng: random.Random) -> list[str]:
    """`reads` draws from `items` with popularity ∝ 1/rank^skew; which item gets which rank is shuffled."""
    ranked = list(items)
    rng.shuffle(ranked)
    weights = itertools.accumulate(1.0 / rank**skew for rank in range(1, len(ranked) + 1))
    return rng.choices(ranked, cum_weights=list(weights), k=reads)


@dataclass(frozen=True)
class WorkloadSpec:
    reads: int = 10_000
    skew: float = 1.0
    seed: int = 7
    family: str = SCORE
    compare_database: bool = True  # also time every read on the uncached path
    steps: int = 20  # progress reports (chart points)

    def validate(self, users: int) -> None:
        if users < 1:
            raise ValueError("There are no users: load sample data first")
        if not 1 <= self.reads <= MAX_READS:
            raise ValueError(f"Reads must be between 1 and {MAX_READS:,}")
        if not 0 <= self.skew <= 3:
            raise ValueError("Skew must be between 0 (uniform) and 3")


@dataclass
class WorkloadPoint:
    reads: int
    hit_ratio: float | None
    cached_p50_ms: float | None
    cached_p95_ms: float | None
    database_p50_ms: float | None
    database_p95_ms: float | None


@dataclass
class WorkloadResult:
    spec: WorkloadSpec
    users: int
    cached_s: list[float] = field(default_factory=list)  # every read through the cache
    hit_s: list[float] = field(default_factory=list)
    miss_s: list[float] = field(default_factory=list)
    database_s: list[float] = field(default_factory=list)  # every read on the uncached path
    points: list[WorkloadPoint] = field(default_factory=list)
    elapsed_s: float = 0.0

    @property
    def hits(self) -> int:
        return len(self.hit_s)

    @property
    def misses(self) -> int:
        return len(self.miss_s)

    @property
    def degraded(self) -> int:
        """Reads Redis could not serve (errors and bypasses): answered by the database."""
        return len(self.cached_s) - self.hits - self.misses

    @property
    def hit_ratio(self) -> float | None:
        return ratio_of_hits(self.hits, self.misses)

    def point(self) -> WorkloadPoint:
        return WorkloadPoint(len(self.cached_s), self.hit_ratio,
                             _ms(percentile(self.cached_s, 50)), _ms(percentile(self.cached_s, 95)),
                             _ms(percentile(self.database_s, 50)), _ms(percentile(self.database_s, 95)))

    @property
    def t_cache_ms(self) -> float | None:
        return _ms(mean(self.hit_s))

    @property
    def t_miss_ms(self) -> float | None:
        """What a miss really cost: GET, database load and the SET that writes the entry back."""
        return _ms(mean(self.miss_s))

    @property
    def t_db_ms(self) -> float | None:
        return _ms(mean(self.database_s))

    @property
    def t_avg_measured_ms(self) -> float | None:
        return _ms(mean(self.cached_s))

    @property
    def t_avg_predicted_ms(self) -> float | None:
        return predicted_ms(self.hit_ratio, self.t_cache_ms, self.t_db_ms)

    def summary(self) -> WorkloadSummary:
        """The run's numbers without its samples: what a page shows and the learner's notebook keeps."""
        return WorkloadSummary(self.spec, self.users, len(self.cached_s), self.hits, self.misses, self.elapsed_s,
                               self.t_cache_ms, self.t_miss_ms, self.t_db_ms, self.t_avg_measured_ms,
                               list(self.points))


@dataclass(frozen=True)
class WorkloadSummary:
    """A finished run in a few numbers and its chart points (keeping 50,000 latencies would say no more)."""

    spec: WorkloadSpec
    users: int
    reads: int  # reads made through the cache
    hits: int
    misses: int
    elapsed_s: float
    t_cache_ms: float | None
    t_miss_ms: float | None
    t_db_ms: float | None
    t_avg_measured_ms: float | None
    points: list[WorkloadPoint]

    @property
    def degraded(self) -> int:
        return self.reads - self.hits - self.misses

    @property
    def hit_ratio(self) -> float | None:
        return ratio_of_hits(self.hits, self.misses)

    @property
    def t_avg_predicted_ms(self) -> float | None:
        return predicted_ms(self.hit_ratio, self.t_cache_ms, self.t_db_ms)


def ratio_of_hits(hits: int, misses: int) -> float | None:
    lookups = hits + misses
    return hits / lookups if lookups else None


def predicted_ms(h: float | None, t_cache: float | None, t_db: float | None) -> float | None:
    """The formula with the measured H, T_cache and T_db plugged in."""
    if h is None or t_cache is None or t_db is None:
        return None
    return h * t_cache + (1 - h) * (t_cache + t_db)


def _ms(seconds: float | None) -> float | None:
    return seconds * 1000 if seconds is not None else None


Progress = Callable[[WorkloadPoint], Awaitable[None] | None]


async def run_workload(cache: CachedUserRepository, user_ids: Sequence[str], spec: WorkloadSpec,
                       on_progress: Progress | None = None) -> WorkloadResult:
    """Run `spec.reads` reads in `spec.steps` chunks; each chunk through the cache, then uncached."""
    spec.validate(len(user_ids))
    sequence = zipf_sequence(user_ids, spec.reads, spec.skew, random.Random(spec.seed))
    result = WorkloadResult(spec, len(user_ids))
    chunk = max(1, -(-spec.reads // max(1, spec.steps)))
    started = time.perf_counter()
    for begin in range(0, len(sequence), chunk):
        part = sequence[begin:begin + chunk]
        for user_id in part:
            lookup = await cache.read(spec.family, user_id)
            result.cached_s.append(lookup.seconds)
            if lookup.outcome == HIT:
                result.hit_s.append(lookup.seconds)
            elif lookup.outcome == MISS:
                result.miss_s.append(lookup.seconds)
        if spec.compare_database:
            for user_id in part:
                t0 = time.perf_counter()
                await cache.from_database(spec.family, user_id)
                result.database_s.append(time.perf_counter() - t0)
        result.points.append(result.point())
        if on_progress is not None:
            maybe = on_progress(result.points[-1])
            if maybe is not None:
                await maybe
        await asyncio.sleep(0)  # let the page breathe between chunks even when every call was instant
    result.elapsed_s = time.perf_counter() - started
    return result
