"""Lab 3 · Repository & N+1: run the loading strategies and the sweep for the page."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from qulab_gui.data import nplus1, samples
from qulab_gui.data.nplus1 import STRATEGIES, LoadResult
from qulab_gui.data.repositories import UserRepository

from . import kept
from .context import LabContext
from .results import FormValue, OnResult, Progress

RUN = "The N+1 measurement"  # one run or sweep at a time


class NPlus1Lab:
    def __init__(self, lab: LabContext) -> None:
        self.lab = lab
        self._sweep: asyncio.Task[Any] | None = None  # the task running a sweep, for stop()
        self._stopping = False
        self.stopped = False  # whether the last sweep was ended by stop()

    @property
    def running(self) -> bool:
        return self.lab.is_busy(RUN)

    @property
    def sweeping(self) -> bool:
        return self._sweep is not None

    async def add_sample_scores(self, per_user: int, progress: Progress | None = None) -> int:
        async with self.lab.sample_session() as session:
            return await samples.add_scores(session, per_user, progress=progress)

    async def measure(self, strategies: Sequence[str], n: FormValue,
                      on_result: OnResult | None = None) -> list[LoadResult]:
        """Load the first N users with each strategy; `on_result` sees every result as it completes."""
        async with self.lab.exclusive(RUN, heavy=True):
            n = await self._checked_n(n)
            results = await self._run_plan([(strategy, n) for strategy in strategies], on_result)
            await self._keep_comparison(results)
            return results

    def last_comparison(self) -> list[LoadResult]:
        """The kept runs at one N, one per strategy in lab order: the page's table after a restart."""
        return kept.last(self.lab.notebook, kept.NPLUS1, "comparison", list[LoadResult]) or []

    def last_sweep(self) -> list[LoadResult]:
        """The kept points of the last sweep (those measured before a stop, too)."""
        return kept.last(self.lab.notebook, kept.NPLUS1, "sweep", list[LoadResult]) or []

    async def _keep_comparison(self, results: list[LoadResult]) -> None:
        """Runs at the N of the last ones join them (strategy by strategy); a new N starts afresh."""
        previous = [r for r in self.last_comparison() if all(r.n == new.n for new in results)]
        latest = {r.strategy: r for r in previous + results}
        await kept.keep(self.lab.notebook, kept.NPLUS1, "comparison",
                        [latest[key] for key in STRATEGIES if key in latest])

    async def sweep(self, up_to: FormValue, on_result: OnResult | None = None) -> list[LoadResult]:
        """Lazy, selectin and joined at N = 10, 50, 100, 500, ... up to `up_to`, point by point."""
        async with self.lab.exclusive(RUN, heavy=True):
            up_to = await self._checked_n(up_to)
            done: list[LoadResult] = []

            def collect(result: LoadResult) -> None:
                done.append(result)
                if on_result is not None:
                    on_result(result)

            self._sweep, self.stopped = asyncio.current_task(), False
            try:
                done = await self._run_plan(nplus1.sweep_plan(up_to), collect)
            except asyncio.CancelledError:
                # stop() cancelled us: the off-loop runner then stops its worker after the current run.
                task = asyncio.current_task()
                if not self._stopping or task is None:
                    raise
                task.uncancel()
                self.stopped = True
            finally:
                self._sweep, self._stopping = None, False
            await kept.keep(self.lab.notebook, kept.NPLUS1, "sweep", done)
            return done

    def stop(self) -> bool:
        """End a running sweep; the points measured so far stay. False when no sweep runs."""
        if self._sweep is None or self._stopping:
            return False
        self._stopping = True
        self._sweep.cancel()
        return True

    async def _checked_n(self, n: FormValue) -> int:
        async with self.lab.session() as session:
            return nplus1.check_n(n, await UserRepository(session).count())

    async def _run_plan(self, plan: list[tuple[str, int]], on_result: OnResult | None) -> list[LoadResult]:
        lab = self.lab
        sandbox = lab.sandbox
        if nplus1.needs_app_engine(sandbox.database_url):
            assert lab.sessions is not None and lab.recorder is not None
            return await nplus1.run_plan(lab.sessions, lab.recorder, plan, on_result)
        return await nplus1.run_plan_off_loop(sandbox.database_url, plan, on_result, lab.latency, sandbox.schema)
