"""N+1 case: the first N users with 5 scores and 3 assessments each, loaded lazily, with
selectinload and with joinedload; statements counted by the recorder, median time per strategy.

Runs are interleaved (lazy, selectin, joined, lazy, ...) so background load on a shared machine
hits every strategy alike. Like `timeit`, each timed run starts from a fresh garbage collection;
the headline ratio keeps the collector on, as the app runs, and a second ratio turns it off
during the run (what `timeit` does) to show how much of selectin's time is collector pauses.
The same loads on a second engine without the recorder's listeners show what the
instrumentation itself costs.
"""

from __future__ import annotations

import gc
import time
from contextlib import contextmanager
from typing import Any

from qulab_gui.bench.context import BenchContext, median
from qulab_gui.data import database, loading, samples
from qulab_gui.data.repositories import UserRepository

SCORES_PER_USER = 5


@contextmanager
def collector(enabled: bool):
    gc.collect()
    if not enabled:
        gc.disable()
    try:
        yield
    finally:
        gc.enable()


async def bare_seconds(sessions, strategy: str, n: int) -> float:
    """The same load on an engine with no recorder attached: wall time only."""
    async with sessions() as session:
        started = time.perf_counter()
        await loading.LOADERS[strategy](session, UserRepository(session).first_users(n))
        return time.perf_counter() - started


async def run(ctx: BenchContext) -> dict[str, Any]:
    n, repeats = (200, 3) if ctx.quick else (1000, 5)
    url = ctx.url_for("nplus1")
    engine, bare_engine = database.create_engine(url), database.create_engine(url)
    try:
        await database.reset(engine)
        recorder = database.StatementRecorder(engine)
        sessions = database.create_session_factory(engine)
        bare_sessions = database.create_session_factory(bare_engine)
        async with sessions() as session:
            await samples.load_samples(session, n, SCORES_PER_USER)
        ctx.row("nplus1", "dialect / users x scores x assessments", f"{engine.dialect.name} / {n} x 5 x 3")

        await loading.run_plan(sessions, recorder, [(s, 1) for s in loading.SWEPT])  # warm-up
        for strategy in loading.SWEPT:
            await bare_seconds(bare_sessions, strategy, 1)
        times: dict[tuple[str, bool], list[float]] = {}
        bare: dict[str, list[float]] = {}
        results: dict[str, loading.LoadResult] = {}
        for _ in range(repeats):
            for gc_on in (True, False):
                for strategy in loading.SWEPT:
                    with collector(gc_on):
                        results[strategy] = await loading.measure(sessions, recorder, strategy, n)
                    times.setdefault((strategy, gc_on), []).append(results[strategy].elapsed_s)
            for strategy in loading.SWEPT:
                with collector(True):
                    bare.setdefault(strategy, []).append(await bare_seconds(bare_sessions, strategy, n))
    finally:
        await engine.dispose()
        await bare_engine.dispose()

    metrics: dict[str, Any] = {"nplus1_n": n}
    for strategy in loading.SWEPT:
        result = results[strategy]
        ms, ms_off = median(times[strategy, True]) * 1000, median(times[strategy, False]) * 1000
        overhead = median(times[strategy, True]) / median(bare[strategy]) - 1
        exact = "exact" if result.matches_theory else f"THEORY SAYS {result.expected}"
        ctx.row("nplus1", f"{strategy}: statements", f"{result.statements} ({exact})")
        ctx.row("nplus1", f"{strategy}: rows fetched", f"{result.rows_fetched:,}")
        ctx.row("nplus1", f"{strategy}: median ms (gc on / gc off / no recorder)",
                f"{ms:.1f} / {ms_off:.1f} / {median(bare[strategy]) * 1000:.1f}")
        metrics[f"nplus1_statements_{strategy}"] = result.statements
        metrics[f"nplus1_ms_{strategy}"] = round(ms, 2)
        metrics[f"nplus1_rows_{strategy}"] = result.rows_fetched
        metrics[f"nplus1_recorder_overhead_{strategy}_pct"] = round(overhead * 100, 1)
    for gc_on, suffix in ((True, ""), (False, "_gc_off")):
        for cure in ("selectin", "joined"):
            ratio = median(times["lazy", gc_on]) / median(times[cure, gc_on])
            metrics[f"nplus1_speedup_{cure}{suffix}"] = round(ratio, 2)
    ctx.row("nplus1", "lazy / selectin (gc on, gc off)",
            f"{metrics['nplus1_speedup_selectin']}x, {metrics['nplus1_speedup_selectin_gc_off']}x")
    metrics["nplus1_statements_exact"] = all(r.matches_theory for r in results.values())
    return {"metrics": metrics, "environment": {"nplus1_database": engine.dialect.name,
                                                "nplus1_repeats": repeats}}
