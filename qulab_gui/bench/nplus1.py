"""N+1 case: the first N users with 5 scores and 3 assessments each, loaded lazily, with
selectinload and with joinedload; statements counted by the recorder, median time per strategy.

Runs are interleaved (lazy, selectin, joined, lazy, ...) so background load on a shared machine
hits every strategy alike, and each starts from a fresh garbage collection. Building 9,000 ORM
objects triggers the cyclic collector, whose full passes scan the whole heap, so each strategy is
timed three ways: heap frozen before the run (`gc.freeze()`, as the app runs: `main()` freezes
its startup heap before serving; the headline ratio), collector on over an unfrozen heap, and
collector off (`timeit`'s convention). The recorder's own cost per statement is timed directly,
to show it cannot eat the lazy/selectin margin (it only adds to the lazy side, with its
thousands of statements).

Then lazy and selectin again with the latency knob at 2 ms per statement, a remote database's
round trip: every statement lazy issues now costs at least 2 ms, which is the N+1 problem as
production sees it.
"""

from __future__ import annotations

import gc
import time
from contextlib import contextmanager
from types import SimpleNamespace
from typing import Any

from qulab_gui.bench.context import BenchContext, median
from qulab_gui.data import database, nplus1, samples
from qulab_gui.data.latency import Latency

SCORES_PER_USER = 5
GC_MODES = ("on", "frozen", "off")
REMOTE_MS = 2  # a round trip to a database in the same region


@contextmanager
def collector(mode: str):
    gc.collect()
    if mode == "frozen":
        gc.freeze()  # everything alive now moves to a generation no collection scans
    elif mode == "off":
        gc.disable()
    try:
        yield
    finally:
        gc.enable()
        gc.unfreeze()


def recorder_cost_us(recorder: database.StatementRecorder, calls: int = 20_000) -> float:
    """The recorder's own work per statement (both cursor hooks, inside a capture), timed directly.

    Far steadier on a shared machine than comparing two noisy end-to-end medians.
    """
    conn, cursor = SimpleNamespace(info={}), SimpleNamespace(description=(), _rows=[()] * 5)
    with recorder.capture():
        started = time.perf_counter()
        for _ in range(calls):
            recorder._before(conn, cursor, "SELECT 1", (), None, False)
            recorder._after(conn, cursor, "SELECT 1", (), None, False)
        return (time.perf_counter() - started) / calls * 1e6


async def remote_times(sessions: Any, recorder: database.StatementRecorder, n: int,
                       repeats: int) -> dict[str, list[float]]:
    """Lazy and selectin interleaved with the engine's latency on, heap frozen as the app runs."""
    times: dict[str, list[float]] = {"lazy": [], "selectin": []}
    for _ in range(repeats):
        for strategy in times:
            with collector("frozen"):
                times[strategy].append((await nplus1.measure(sessions, recorder, strategy, n)).elapsed_s)
    return times


async def run(ctx: BenchContext) -> dict[str, Any]:
    n, repeats = (200, 3) if ctx.quick else (1000, 5)
    url = ctx.url_for("nplus1")
    latency = Latency()
    engine = database.create_engine(url, latency=latency)
    try:
        await database.reset(engine)
        recorder = database.StatementRecorder(engine)
        sessions = database.create_session_factory(engine)
        async with sessions() as session:
            await samples.load_samples(session, n, SCORES_PER_USER)
        ctx.row("nplus1", "dialect / users x scores x assessments",
                f"{engine.dialect.name} / {n} x {SCORES_PER_USER} x 3")

        for strategy in nplus1.SWEPT:  # warm-up: compile each strategy's SQL once, untimed
            await nplus1.measure(sessions, recorder, strategy, 1)
        times: dict[tuple[str, str], list[float]] = {}
        results: dict[str, nplus1.LoadResult] = {}
        for _ in range(repeats):
            for mode in GC_MODES:
                for strategy in nplus1.SWEPT:
                    with collector(mode):
                        results[strategy] = await nplus1.measure(sessions, recorder, strategy, n)
                    times.setdefault((strategy, mode), []).append(results[strategy].elapsed_s)
        latency.set(REMOTE_MS)
        remote = await remote_times(sessions, recorder, n, 2 if ctx.quick else 3)
    finally:
        await engine.dispose()

    cost_us = recorder_cost_us(recorder)
    metrics: dict[str, Any] = {"nplus1_n": n, "nplus1_recorder_us_per_statement": round(cost_us, 2)}
    lazy_ms = median(times["lazy", "frozen"]) * 1000
    ctx.row("nplus1", "recorder cost per statement (direct)",
            f"{cost_us:.2f} us = {cost_us * results['lazy'].statements / 1000:.1f} ms of lazy's {lazy_ms:.0f} ms")
    for strategy in nplus1.SWEPT:
        result = results[strategy]
        ms = {mode: median(times[strategy, mode]) * 1000 for mode in GC_MODES}
        exact = "exact" if result.matches_theory else f"THEORY SAYS {result.expected}"
        ctx.row("nplus1", f"{strategy}: statements", f"{result.statements} ({exact})")
        ctx.row("nplus1", f"{strategy}: rows fetched", f"{result.rows_fetched:,}")
        ctx.row("nplus1", f"{strategy}: median ms gc on / frozen / off", " / ".join(f"{ms[m]:.1f}" for m in GC_MODES))
        metrics[f"nplus1_statements_{strategy}"] = result.statements
        metrics[f"nplus1_ms_{strategy}"] = round(ms["frozen"], 2)
        metrics[f"nplus1_rows_{strategy}"] = result.rows_fetched
    for cure in ("selectin", "joined"):
        ratios = {mode: round(median(times["lazy", mode]) / median(times[cure, mode]), 2) for mode in GC_MODES}
        ctx.row("nplus1", f"lazy / {cure}, gc on / frozen / off", " / ".join(f"{ratios[m]}x" for m in GC_MODES))
        metrics[f"nplus1_speedup_{cure}"] = ratios["frozen"]  # as the app runs: main() freezes its heap
        metrics[f"nplus1_speedup_{cure}_gc_unfrozen"] = ratios["on"]
        metrics[f"nplus1_speedup_{cure}_gc_off"] = ratios["off"]
    metrics["nplus1_statements_exact"] = int(all(r.matches_theory for r in results.values()))  # 1 = yes
    for strategy in ("lazy", "selectin"):
        metrics[f"nplus1_ms_{strategy}_at_{REMOTE_MS}ms"] = round(median(remote[strategy]) * 1000, 1)
        ctx.row("nplus1", f"{strategy} at {REMOTE_MS} ms per statement: median ms",
                f"{metrics[f'nplus1_ms_{strategy}_at_{REMOTE_MS}ms']:.1f}")
    ratio = round(median(remote["lazy"]) / median(remote["selectin"]), 1)
    metrics[f"nplus1_speedup_selectin_at_{REMOTE_MS}ms"] = ratio
    ctx.row("nplus1", f"lazy / selectin at {REMOTE_MS} ms per statement", f"{ratio}x")
    return {"metrics": metrics, "environment": {"nplus1_database": engine.dialect.name, "nplus1_repeats": repeats,
                                                "nplus1_heap_objects": len(gc.get_objects())}}
