"""Classroom: N learners (default 30) using one QuLab server at once, as in issue 12.

The real app is started headless in server mode on 127.0.0.1 (a temp data dir, the bench's
Redis or fakeredis) with a sandbox per learner (`--classroom`). Then one
Chromium (the system one, through Playwright) opens a browser context per learner; learners
start STAGGER_S apart and each walks the five labs, clicking one real action on each
(`learner.py`). Meanwhile a thread polls /api/health every HEALTH_EVERY_S. The whole room is
bounded by TIME_LIMIT_S: what has not finished by then is stopped and reported as unfinished.

Reported:
- `classroom_page_p95_s`: navigation until the lab's heading is visible;
- `classroom_failed_loads`: non-200, timeout, or a page that reloaded by itself;
- `classroom_refused_actions`: clicks answered "… is already running" (another learner's run);
- `classroom_unanswered_actions`: clicks with no answer within the learner's action timeout;
- `classroom_health_p95_ms`: /api/health latency while the class works;
- `classroom_rss_mb`: the server's resident memory at the end.

Why real browsers and not a lighter learner (httpx plus a socket.io handshake): the refusals,
unanswered clicks and self-reloads this case exists to count happen in NiceGUI's page script
(its handshake, reconnect and reload logic) and in the handlers a click runs; a fake client
would have to reimplement both. The price is that 30 Chromium pages compete with the server for
the same 2 cores, so the CPU seconds of the server and of the browser are reported side by side:
when the browser's share dominates, slow page loads are partly Chromium's, not the server's.
This case connects on loopback, where server mode asks for no token (the token path has its
own e2e tests); beyond loopback it would not be a loopback-only benchmark.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
import time
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from qulab_gui.bench import browser as system_browser
from qulab_gui.bench import launcher, socket_learner
from qulab_gui.bench.context import BenchContext
from qulab_gui.bench.learner import LABS, Tally, walk

T = TypeVar("T")

LEARNERS = 30
TIME_LIMIT_S = 120.0
STAGGER_S = 0.5  # between two learners opening their first page: a class arriving, not one burst
HEALTH_EVERY_S = 0.25
CLEANUP_S = 15.0  # for the learners cut off at the time limit to close their contexts


def p95(values: list[float]) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


class HealthProbe(threading.Thread):
    """Polls /api/health in its own thread, so the browser's event loop cannot delay the probe."""

    def __init__(self, app: launcher.RunningApp) -> None:
        super().__init__(daemon=True)
        self.app = app
        self.latencies_ms: list[float] = []
        self.failures = 0
        self._done = threading.Event()

    def run(self) -> None:
        while not self._done.is_set():
            started = time.perf_counter()
            answered = self.app.health(timeout=5.0) is not None
            self.latencies_ms.append((time.perf_counter() - started) * 1000)
            self.failures += not answered
            self._done.wait(HEALTH_EVERY_S)

    def finish(self) -> None:
        self._done.set()
        self.join(timeout=10)


def cpu_seconds(pids: set[int]) -> float:
    import psutil

    total = 0.0
    for pid in pids:
        with contextlib.suppress(psutil.Error):
            times = psutil.Process(pid).cpu_times()
            total += times.user + times.system + times.children_user + times.children_system
    return total


def learners_cpu_seconds(app: launcher.RunningApp) -> float:
    """CPU time of the learners' side: this process (socket learners) and the Playwright driver and
    Chromium processes still running (closed pages' is lost: a lower bound)."""
    server = {app.process.pid} | descendants(app.process.pid)  # also our child, but not the browser's
    return cpu_seconds(descendants(os.getpid()) - server) + time.process_time()


def descendants(pid: int) -> set[int]:
    import psutil

    with contextlib.suppress(psutil.Error):
        return {child.pid for child in psutil.Process(pid).children(recursive=True)}
    return set()


def rss_mb(pid: int) -> float:
    import psutil

    return psutil.Process(pid).memory_info().rss / 1e6


async def run_class(app: launcher.RunningApp, learners: int, time_limit_s: float, labs: int,
                    browsers: bool = False) -> dict[str, Any]:
    """Let the learners work (socket learners, or browser contexts); returns the raw measurements."""
    if not browsers:
        return await _measure_walks(app, time_limit_s, lambda tally: [
            asyncio.create_task(socket_learner.walk(app.url, number, number * STAGGER_S, tally, labs))
            for number in range(learners)])
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(executable_path=str(system_browser.CHROMIUM),
                                                    args=system_browser.CHROMIUM_ARGS)
        try:
            return await _measure_walks(app, time_limit_s, lambda tally: [
                asyncio.create_task(walk(chromium, app.url, number, number * STAGGER_S, tally, labs))
                for number in range(learners)])
        finally:
            with contextlib.suppress(Exception, asyncio.TimeoutError):
                await asyncio.wait_for(chromium.close(), timeout=CLEANUP_S)


async def _measure_walks(app: launcher.RunningApp, time_limit_s: float,
                         start: Callable[[Tally], list[asyncio.Task[None]]]) -> dict[str, Any]:
    tally = Tally()
    server_cpu_before = cpu_seconds({app.process.pid})
    learners_cpu_before = learners_cpu_seconds(app)
    probe = HealthProbe(app)
    probe.start()
    started = time.perf_counter()
    walks = start(tally)
    done, pending = await asyncio.wait(walks, timeout=time_limit_s)
    elapsed = time.perf_counter() - started
    probe.finish()
    for task in pending:
        task.cancel()
    if pending:  # each closes its context or socket; one stuck on a dead page is killed with the browser
        await asyncio.wait(pending, timeout=CLEANUP_S)
    crashed = [task.exception() for task in done if task.exception() is not None]
    return {"tally": tally, "probe": probe, "elapsed_s": elapsed, "unfinished": len(pending),
            "crashed": crashed, "server_cpu_s": cpu_seconds({app.process.pid}) - server_cpu_before,
            "learners_cpu_s": learners_cpu_seconds(app) - learners_cpu_before}


def run_in_own_loop(coroutine: Coroutine[Any, Any, T]) -> T:
    """asyncio.run in a thread of its own: `measure` is synchronous and may be called where a loop
    already runs in this thread (pytest with a sync Playwright open, a notebook)."""
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="classroom") as pool:
        return pool.submit(asyncio.run, coroutine).result()


def measure(work: Path, learners: int = LEARNERS, time_limit_s: float = TIME_LIMIT_S, redis_url: str = "fake",
            database_url: str | None = None, labs: int = len(LABS), browsers: bool = False) -> dict[str, Any]:
    """The whole case, synchronous: start the app, run the class, stop the app; metrics and notes."""
    database = ["--database-url", database_url] if database_url else []
    app = launcher.launch(launcher.source_command(), work / "classroom-data", "--headless", "--host", "127.0.0.1",
                          "--classroom", "--redis-url", redis_url, *database, label="classroom")
    try:
        app.wait_healthy(timeout=60)
        rss_start = rss_mb(app.process.pid)
        raw = run_in_own_loop(run_class(app, learners, time_limit_s, labs, browsers))
        rss_end = rss_mb(app.process.pid)
    finally:
        if app.process.poll() is None:
            app.stop()
    tally, probe = raw["tally"], raw["probe"]
    server_said = app.output_text() + (app.log_file.read_text(errors="replace") if app.log_file.exists() else "")
    health_p95 = p95(probe.latencies_ms)
    metrics = {
        "classroom_learners": learners,
        "classroom_page_p95_s": round(p95(tally.load_s), 2) if tally.load_s else None,
        "classroom_failed_loads": len(tally.failed_loads),
        "classroom_refused_actions": tally.actions["refused"],
        "classroom_unanswered_actions": tally.actions["unanswered"],
        "classroom_health_p95_ms": round(health_p95, 1) if health_p95 is not None else None,
        "classroom_rss_mb": round(rss_end, 1),
    }
    notes = {
        "page_loads": len(tally.load_s), "answered_actions": tally.actions["answered"],
        "health_polls": len(probe.latencies_ms), "health_failures": probe.failures,
        "health_max_ms": round(max(probe.latencies_ms), 1) if probe.latencies_ms else None,
        "rss_start_mb": round(rss_start, 1), "elapsed_s": round(raw["elapsed_s"], 1),
        "unfinished_learners": raw["unfinished"], "crashed_learners": [repr(e) for e in raw["crashed"]],
        "server_cpu_s": round(raw["server_cpu_s"], 1), "learners_cpu_s": round(raw["learners_cpu_s"], 1),
        "learner": "browser" if browsers else "socket",
        # the server's side of slow pages: NiceGUI gave up waiting for a page it was still building
        "server_pages_not_ready_3s": server_said.count("not ready after"),
        "server_no_response_tracebacks": server_said.count("RuntimeError: No response returned."),
        "failed_load_reasons": tally.failed_loads[:10], "unanswered": tally.unanswered[:10],
    }
    return {"metrics": metrics, "notes": notes}


async def run(ctx: BenchContext, learners: int = LEARNERS, browsers: bool = False) -> dict[str, Any]:
    why_not = system_browser.missing() if browsers else None
    if why_not:
        print(f"  classroom skipped: {why_not}", flush=True)
        return {}
    # Playwright's async API wants a loop of its own: the class runs in a thread with a fresh one
    result = await asyncio.to_thread(measure, ctx.work_dir, learners, TIME_LIMIT_S, ctx.redis_url, ctx.database_url,
                                     len(LABS), browsers)
    for name, value in {**result["metrics"], **result["notes"]}.items():
        ctx.row("classroom", name, str(value))
    return {"metrics": result["metrics"]}
