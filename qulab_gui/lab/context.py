"""What a lab section needs from the `Lab` it belongs to, as a Protocol.

The sections (nplus1.py, caching.py, outbox.py) type against this instead of importing `core.Lab`, so the
dependency runs one way: core builds the sections, the sections know only this interface.
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from qulab_gui.data.database import StatementRecorder
from qulab_gui.data.notebook import Notebook
from qulab_gui.data.redis_client import RedisConnection
from qulab_gui.settings import Settings

from .sandbox import Sandbox


class LabContext(Protocol):
    settings: Settings
    sandbox: Sandbox  # whose lab this is: its database, schema, Redis names and workspace
    sessions: async_sessionmaker[AsyncSession] | None  # None until start() has run
    recorder: StatementRecorder | None
    redis: RedisConnection | None
    notebook: Notebook  # the learner's kept answers and results

    @property
    def started(self) -> bool: ...

    async def ready(self) -> None: ...

    def session(self) -> AbstractAsyncContextManager[AsyncSession]: ...

    def sample_session(self) -> AbstractAsyncContextManager[AsyncSession]: ...

    def exclusive(self, name: str, *, heavy: bool = False) -> AbstractAsyncContextManager[None]: ...

    def is_busy(self, name: str) -> bool: ...

    async def refresh_status(self) -> dict[str, bool | None]: ...
