"""The concurrency probe: K sessions at once against a real pool, to watch it fill and run out.

The probe builds its own engine on the lab's database URL with the pool limits the student chose,
so exhausting it never starves the rest of the app. Each session checks a connection out, runs a
query, holds the connection for `hold_s` (a slow request), and gives it back. Wait times are the
real time each checkout took; a checkout past `timeout_s` raises the pool's own TimeoutError.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.ext.asyncio import AsyncEngine

from .database import PoolSettings, create_engine, is_memory_sqlite
from .errors import all_problems, number_in_range, whole_number

MAX_SESSIONS = 200


@dataclass(frozen=True)
class PoolSnapshot:
    at_s: float
    checked_out: int
    overflow: int
    waiting: int


@dataclass
class ProbeResult:
    sessions: int
    pool: PoolSettings
    waits_s: list[float] = field(default_factory=list)  # how long each successful checkout waited
    timed_out_after_s: list[float] = field(default_factory=list)  # how long each failed one waited
    errors: list[str] = field(default_factory=list)
    snapshots: list[PoolSnapshot] = field(default_factory=list)
    elapsed_s: float = 0.0

    @property
    def timeouts(self) -> int:
        return len(self.timed_out_after_s)

    @property
    def completed(self) -> int:
        return len(self.waits_s)

    @property
    def max_wait_s(self) -> float:
        return max(self.waits_s, default=0.0)


@dataclass(frozen=True)
class PoolStatus:
    """Class and live numbers of an engine's pool; None where the pool class has no such number."""

    pool_class: str
    size: int | None = None
    checkedout: int | None = None
    overflow: int | None = None
    checkedin: int | None = None
    timeout_s: float | None = None
    max_overflow: int | None = None
    pre_ping: bool | None = None


def pool_status(engine: AsyncEngine) -> PoolStatus:
    """The numbers as the pool itself reports them (a NullPool or StaticPool has fewer)."""
    pool = engine.pool
    live = {name: method() for name in ("size", "checkedout", "overflow", "checkedin")
            if callable(method := getattr(pool, name, None))}
    return PoolStatus(type(pool).__name__, **live, timeout_s=getattr(pool, "_timeout", None),
                      max_overflow=getattr(pool, "_max_overflow", None), pre_ping=getattr(pool, "_pre_ping", None))


def probe_form(sessions: Any, size: Any, overflow: Any, timeout_s: Any, hold_s: Any,
               ) -> tuple[int, PoolSettings, float]:
    """The probe's settings from raw form values; one ValidationError lists every field out of range."""
    k, pool_size, max_overflow, timeout, hold = all_problems(
        lambda: whole_number(sessions, "Concurrent sessions", 1, MAX_SESSIONS),
        lambda: whole_number(size, "Pool size", 1, 50), lambda: whole_number(overflow, "Max overflow", 0, 50),
        lambda: number_in_range(timeout_s, "Pool timeout", 0.1, 30, " s"),
        lambda: number_in_range(hold_s, "Hold time", 0, 30, " s"))
    return k, PoolSettings(size=pool_size, max_overflow=max_overflow, timeout_s=timeout), hold


def validate_probe(sessions: int, pool: PoolSettings, hold_s: float) -> None:
    if not 1 <= sessions <= MAX_SESSIONS:
        raise ValueError(f"Concurrent sessions must be between 1 and {MAX_SESSIONS}")
    if not 1 <= pool.size <= 50:
        raise ValueError("Pool size must be between 1 and 50")
    if not 0 <= pool.max_overflow <= 50:
        raise ValueError("Max overflow must be between 0 and 50")
    if not 0.1 <= pool.timeout_s <= 30:
        raise ValueError("Pool timeout must be between 0.1 and 30 seconds")
    if not 0 <= hold_s <= 30:
        raise ValueError("Hold time must be between 0 and 30 seconds")


async def run_probe(
    database_url: str, sessions: int, pool: PoolSettings, hold_s: float,
    on_snapshot: Callable[[PoolSnapshot], None] | None = None, sample_every_s: float = 0.05,
) -> ProbeResult:
    validate_probe(sessions, pool, hold_s)
    if is_memory_sqlite(make_url(database_url)):
        raise ValueError("An in-memory SQLite database has one shared connection: there is no pool to probe")
    engine = create_engine(database_url, pool)
    result = ProbeResult(sessions, pool)
    waiting = 0
    started = time.perf_counter()

    async def one_session() -> None:
        nonlocal waiting
        t0 = time.perf_counter()
        waiting += 1
        checked_out = False
        try:
            async with engine.connect() as conn:
                waiting -= 1
                checked_out = True
                result.waits_s.append(time.perf_counter() - t0)
                await conn.execute(text("SELECT 1"))
                await asyncio.sleep(hold_s)
        except PoolTimeoutError:
            result.timed_out_after_s.append(time.perf_counter() - t0)
        except Exception as error:  # shown on the page; the probe must finish regardless
            result.errors.append(f"{type(error).__name__}: {error}")
        finally:
            if not checked_out:
                waiting -= 1

    def snapshot() -> None:
        pool_ = engine.pool
        snap = PoolSnapshot(time.perf_counter() - started, pool_.checkedout(), max(pool_.overflow(), 0), waiting)
        result.snapshots.append(snap)
        if on_snapshot is not None:
            on_snapshot(snap)

    everyone = asyncio.gather(*(one_session() for _ in range(sessions)))
    try:
        while not everyone.done():
            snapshot()
            await asyncio.wait([everyone], timeout=sample_every_s)
        await everyone
        snapshot()
    finally:
        # Cancelled (app shutdown): end the sessions first, so disposing finds every connection back.
        everyone.cancel()
        await asyncio.gather(everyone, return_exceptions=True)
        result.elapsed_s = time.perf_counter() - started
        await engine.dispose()
    return result
