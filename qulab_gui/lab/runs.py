"""A lab's long actions: one of each at a time per lab, a room-wide limit on CPU-heavy ones, and
interruption by a reset.

- "… is already running" is per lab, so in a classroom one learner's run never refuses another's.
- CPU-heavy runs (the N+1 measurements, the cache workload, bursts and sample loads) build objects
  in Python; thirty of them at once would starve the event loop that serves every page. They take
  a slot of the room's `Slots` first and wait in line for one: each learner's run is slower when
  the room is busy, but every page keeps answering.
- A reset while a run of the same lab is in flight cancels the run; its caller gets `Interrupted`
  (a `ValidationError` with a message fit for the page), never a traceback from missing tables.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, nullcontext

from qulab_gui.data.errors import ValidationError

INTERRUPT_WAIT_S = 10.0  # how long a reset waits for cancelled runs to let go of their sessions


class Interrupted(ValidationError):
    """A run stopped on purpose (its lab is being reset): the page shows the message."""


class Slots:
    """The room's limit on CPU-heavy runs at once: about one per core, so the loop keeps a share."""

    def __init__(self, at_once: int | None = None) -> None:
        self.at_once = at_once or max(1, os.cpu_count() or 1)
        self._semaphore = asyncio.Semaphore(self.at_once)
        self.waiting = 0

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        self.waiting += 1
        try:
            await self._semaphore.acquire()
        finally:
            self.waiting -= 1
        try:
            yield
        finally:
            self._semaphore.release()


class Runs:
    def __init__(self, slots: Slots | None = None) -> None:
        self.slots = slots  # None: no room-wide limit (the desktop has one learner)
        self._running: dict[str, asyncio.Task[object] | None] = {}
        self._interrupting: set[asyncio.Task[object]] = set()
        self.interrupted_by = ""

    def is_busy(self, name: str) -> bool:
        return name in self._running

    @property
    def names(self) -> list[str]:
        return list(self._running)

    @asynccontextmanager
    async def exclusive(self, name: str, *, heavy: bool = False) -> AsyncIterator[None]:
        """Refuse a second run of the same long action while one is going (double clicks)."""
        if name in self._running:
            raise ValidationError(f"{name} is already running: wait for it to finish")
        task = asyncio.current_task()
        self._running[name] = task
        try:
            async with self.slots.slot() if heavy and self.slots else nullcontext():
                yield
        except asyncio.CancelledError:
            if task is None or task not in self._interrupting:
                raise  # the app is stopping, or the page went away: not ours to turn into a message
            task.uncancel()
            raise Interrupted(f"{name} was stopped: {self.interrupted_by}") from None
        finally:
            self._running.pop(name, None)
            if task is not None:
                self._interrupting.discard(task)

    async def interrupt_all(self, why: str) -> int:
        """Cancel every run of this lab except the caller's; returns how many were stopped."""
        me = asyncio.current_task()
        tasks = [task for task in self._running.values() if task is not None and task is not me and not task.done()]
        self.interrupted_by = why
        for task in tasks:
            self._interrupting.add(task)
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=INTERRUPT_WAIT_S)
        return len(tasks)
