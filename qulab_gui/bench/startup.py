"""Startup: from launching QuLab to its first /api/health answer, and to a connected native window.

What a student waits for after a double-click. Each launch is a new process on a fresh data dir
(so migrations run, as on a first start) with fakeredis (a classroom has no Redis); the median of
a few launches is reported. The frozen build is the newest one `build.spec` left under dist/
or the e2e tests left under build/e2e/ (or $QULAB_FROZEN_EXE); the window needs a display, the
given $DISPLAY or a private Xvfb, and pywebview with Qt. A metric is null where its build or
display does not exist here.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import os
import statistics
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from qulab_gui.bench import desktop, launcher
from qulab_gui.bench.context import BenchContext


def time_to_health(command: list[str], work: Path, runs: int) -> float:
    times = []
    for run in range(runs):
        app = launcher.launch(command, work / f"run{run}", "--headless", "--redis-url", "fake")
        try:
            times.append(app.wait_healthy(timeout=60))
        finally:
            app.stop()
    return statistics.median(times)


def time_to_window(command: list[str], work: Path, display: str) -> float:
    """Launch to the window's page connecting; the window is then closed like a user closes it."""
    from qulab_gui.main import WINDOW_CONNECTED

    app = launcher.launch(command, work, "--redis-url", "fake", env=launcher.child_environment(DISPLAY=display))
    try:
        seconds = app.wait_for_log(WINDOW_CONNECTED, timeout=60)
        with desktop.Display(display) as screen:
            screen.close(screen.wait_for_window("QuLab", timeout=30))
        app.process.wait(timeout=20)
        return seconds
    finally:
        if app.process.poll() is None:
            app.stop()


@contextlib.contextmanager
def some_display() -> Iterator[str | None]:
    """$DISPLAY when set, else a private Xvfb, else None."""
    if os.environ.get("DISPLAY"):
        yield os.environ["DISPLAY"]
    elif desktop.xvfb_available() is None:
        with desktop.xvfb() as display:
            yield display
    else:
        yield None


def has_window_toolkit() -> bool:
    return all(importlib.util.find_spec(name) is not None for name in ("webview", "qtpy"))


def is_native_build(executable: Path) -> bool:
    return any(executable.parent.glob("_internal/PyQt6")) or any(executable.parent.glob("PyQt6"))


def measure(ctx: BenchContext) -> dict[str, Any]:
    runs = 1 if ctx.quick else 3
    work = ctx.work_dir / "startup"
    metrics: dict[str, Any] = {"startup_source_s": None, "startup_frozen_s": None, "startup_window_s": None}
    environment: dict[str, Any] = {"startup_runs": runs}

    metrics["startup_source_s"] = round(time_to_health(launcher.source_command(), work / "source", runs), 3)
    ctx.row("startup", "launch to /api/health, source (s)", f"{metrics['startup_source_s']:.2f}")

    frozen = launcher.find_frozen()
    environment["startup_frozen_exe"] = str(frozen) if frozen else None
    if frozen:
        metrics["startup_frozen_s"] = round(time_to_health([str(frozen)], work / "frozen", runs), 3)
        ctx.row("startup", f"launch to /api/health, frozen {frozen.name} (s)", f"{metrics['startup_frozen_s']:.2f}")
    else:
        ctx.row("startup", "launch to /api/health, frozen (s)", "null: no build under dist/ (pyinstaller build.spec)")

    with some_display() as display:
        environment["startup_display"] = display
        if display is None or not has_window_toolkit():
            reason = "no display" if display is None else "pywebview/qtpy not installed"
            ctx.row("startup", "launch to connected native window (s)", f"null: {reason}")
        else:
            metrics["startup_window_s"] = round(time_to_window(launcher.source_command(), work / "window", display), 3)
            ctx.row("startup", "launch to connected native window, source (s)", f"{metrics['startup_window_s']:.2f}")
            if frozen and is_native_build(frozen):
                seconds = time_to_window([str(frozen)], work / "frozen-window", display)
                metrics["startup_frozen_window_s"] = round(seconds, 3)
                ctx.row("startup", "launch to connected native window, frozen (s)", f"{seconds:.2f}")
    return {"metrics": metrics, "environment": environment}


async def run(ctx: BenchContext) -> dict[str, Any]:
    started = time.perf_counter()
    result = await asyncio.to_thread(measure, ctx)  # launching and polling processes blocks: not on the loop
    result["environment"]["startup_bench_s"] = round(time.perf_counter() - started, 1)
    return result
