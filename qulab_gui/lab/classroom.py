"""A classroom server: a sandbox (its own `Lab`) per learner, opened on first visit, closed when idle.

The learner is NiceGUI's browser id (its session cookie), shortened by `sandbox.learner_id`; the
UI layer resolves it and asks `lab_for()`. Each sandbox has its own database (SQLite file or
PostgreSQL schema), Redis names, counters, switches, publisher and consumer, so nothing one learner
does reaches another's page. A sandbox nobody has looked at for `idle_minutes` and that no open tab
shows is closed (its timers stop, its connections close); its data stays where it is, and the next
visit reopens it. At most `max_learners` are open: a newcomer then takes the longest-idle one's
place, or is told the room is full.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from qulab_gui.data.notebook import Notebook
from qulab_gui.settings import Settings

from .core import Lab
from .runs import Slots
from .sandbox import Sandbox, known_learners
from .timers import StartTimer

log = logging.getLogger(__name__)

RunInBackground = Callable[[Coroutine[Any, Any, Any]], object]  # NiceGUI's background_tasks.create
IsConnected = Callable[[str], bool]  # is a client (by its id) still connected?
SWEEP_INTERVAL_S = 60.0


class ClassroomFull(RuntimeError):
    """Every sandbox is in use by a connected learner: a newcomer has to wait."""


@dataclass
class OpenSandbox:
    lab: Lab
    opened_at: datetime
    last_seen: float  # monotonic
    last_seen_at: datetime
    clients: set[str] = field(default_factory=set)


@dataclass(frozen=True)
class LearnerSummary:
    """One row of the instructor's view."""

    learner: str
    open: bool
    tabs: int
    last_activity: datetime | None
    labs_used: list[str]
    answers: int
    running: list[str]


class Classroom:
    def __init__(self, settings: Settings, start_timer: StartTimer, run: RunInBackground,
                 is_connected: IsConnected, clock: Callable[[], float] = time.monotonic) -> None:
        self.settings = settings
        self._start_timer = start_timer
        self._run = run
        self._is_connected = is_connected
        self._clock = clock
        self.slots = Slots()  # one room-wide limit on CPU-heavy runs, shared by every sandbox
        self._open: dict[str, OpenSandbox] = {}
        self.closed_idle = 0  # sandboxes closed for idleness since the server started

    # -- opening -----------------------------------------------------------------------------------

    def lab_for(self, learner: str, client_id: str | None = None) -> Lab:
        """The learner's Lab, opened (and started in the background) on their first visit."""
        entry = self._open.get(learner)
        if entry is None:
            entry = self._open_sandbox(learner)
        entry.last_seen, entry.last_seen_at = self._clock(), datetime.now(UTC)
        if client_id is not None:
            entry.clients.add(client_id)
        return entry.lab

    def _open_sandbox(self, learner: str) -> OpenSandbox:
        if len(self._open) >= self.settings.max_learners and not self._make_room():
            raise ClassroomFull(f"The classroom is full: {self.settings.max_learners} learners are working. "
                                "Ask your instructor, or try again in a few minutes.")
        lab = Lab(self.settings, Sandbox.for_learner(self.settings, learner), self.slots)
        lab.register_timers(self._start_timer)
        self._run(lab.start())
        now = datetime.now(UTC)
        entry = OpenSandbox(lab, now, self._clock(), now)
        self._open[learner] = entry
        log.info("sandbox %s opened (%d open)", learner, len(self._open))
        return entry

    def _make_room(self) -> bool:
        """Close the longest-idle sandbox that no tab shows; False when every one is in use."""
        idle = [(entry.last_seen, learner) for learner, entry in self._open.items() if not self._tabs(entry)]
        if not idle:
            return False
        self._close(min(idle)[1])
        return True

    # -- closing -----------------------------------------------------------------------------------

    def _tabs(self, entry: OpenSandbox) -> int:
        entry.clients = {client for client in entry.clients if self._is_connected(client)}
        return len(entry.clients)

    async def close_idle(self) -> int:
        """The sweep timer's callback: close the sandboxes idle this long with no tab open."""
        limit = self.settings.idle_minutes * 60
        stale = [learner for learner, entry in self._open.items()
                 if self._clock() - entry.last_seen >= limit and not self._tabs(entry)]
        for learner in stale:
            self._close(learner)
        self.closed_idle += len(stale)
        return len(stale)

    def _close(self, learner: str) -> None:
        entry = self._open.pop(learner)
        log.info("sandbox %s closed (%d open)", learner, len(self._open))
        self._run(entry.lab.stop())  # timers are cancelled at once; connections close in the background

    async def stop(self) -> None:
        for learner in list(self._open):
            await self._open.pop(learner).lab.stop()

    # -- the instructor's view ---------------------------------------------------------------------

    @property
    def open_count(self) -> int:
        return len(self._open)

    @property
    def labs(self) -> list[Lab]:
        return [entry.lab for entry in self._open.values()]

    def connected_count(self) -> int:
        return sum(1 for entry in self._open.values() if self._tabs(entry))

    async def summaries(self) -> list[LearnerSummary]:
        """Every learner with a sandbox, open or on disk, most recently active first."""
        # The closed sandboxes' notebooks are files (thirty of them, on every refresh): read them
        # on a thread. The open ones are in memory, and `_open` is only touched on the loop.
        open_now = dict(self._open)
        on_disk = await asyncio.to_thread(self._closed_notebooks, set(open_now))
        rows = []
        for learner in sorted(set(on_disk) | set(open_now)):
            entry = open_now.get(learner)
            notebook = entry.lab.notebook if entry else on_disk[learner]
            kept = [notebook.last_activity(lab) for lab in notebook.labs()]
            times = [datetime.fromisoformat(at) for at in kept if at] + ([entry.last_seen_at] if entry else [])
            rows.append(LearnerSummary(
                learner, entry is not None, self._tabs(entry) if entry else 0, max(times, default=None),
                notebook.labs(), sum(len(notebook.answers(lab)) for lab in notebook.labs()),
                entry.lab.runs.names if entry else []))
        epoch = datetime.min.replace(tzinfo=UTC)
        return sorted(rows, key=lambda row: row.last_activity or epoch, reverse=True)

    def _closed_notebooks(self, open_learners: set[str]) -> dict[str, Notebook]:
        """On a thread: the sandboxes on disk that are not open, each with its notebook read."""
        return {learner: Notebook(Sandbox.for_learner(self.settings, learner).workspace)
                for learner in known_learners(self.settings) if learner not in open_learners}

    async def reset(self, learner: str) -> None:
        """Reset one learner's database, cache and fault switches (their kept answers stay: their work)."""
        lab = self.lab_for(learner)
        await lab.ready()
        await lab.caching.simulate_unreachable(False)
        lab.outbox.set_broker_down(False)
        lab.outbox.clear_poison()
        await lab.reset_database()  # stops the learner's runs in flight, with a message on their page
        await lab.caching.reset_counters()
