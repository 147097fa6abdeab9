"""Unit of work: one session, one transaction, the repositories over it, and after-commit hooks.

    async with UnitOfWork(sessions) as uow:
        uow.users.add(user)
        uow.after_commit(invalidate_user_cache)   # runs only if the commit succeeds
        await uow.commit()

Leaving the block without `commit()` (or with an exception) rolls everything back and drops the
hooks: nothing that was never written is announced or invalidated. Hooks are awaited right after
the commit, before `commit()` returns, so the caller's next read cannot see a stale cache.

Code that must react to every committed change without each writer knowing about it (the user
cache) subscribes once with `on_commit(sessions, listener)`: after each commit of a unit of work
over those sessions, `listener(uow)` is awaited with `uow.written`, the ORM objects the
transaction inserted, updated or deleted.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Any
from weakref import WeakKeyDictionary

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session

from .repositories import AIRScoreRepository, DomainEventRepository, UserRepository

AfterCommit = Callable[[], Awaitable[None]]
CommitListener = Callable[["UnitOfWork"], Awaitable[None]]

_listeners: WeakKeyDictionary[async_sessionmaker[AsyncSession], list[CommitListener]] = WeakKeyDictionary()


def on_commit(sessions: async_sessionmaker[AsyncSession], listener: CommitListener) -> Callable[[], None]:
    """Await `listener(uow)` after every commit of a UnitOfWork over `sessions`; returns an unsubscribe."""
    _listeners.setdefault(sessions, []).append(listener)

    def unsubscribe() -> None:
        registered = _listeners.get(sessions, [])
        if listener in registered:
            registered.remove(listener)

    return unsubscribe


class UnitOfWork:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions
        self._hooks: list[AfterCommit] = []
        self.written: list[Any] = []  # ORM objects flushed as new, changed or deleted in this transaction

    async def __aenter__(self) -> UnitOfWork:
        self.session = self._sessions()
        event.listen(self.session.sync_session, "after_flush", self._record_flush)
        await self.session.begin()
        self.users = UserRepository(self.session)
        self.scores = AIRScoreRepository(self.session)
        self.events = DomainEventRepository(self.session)
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        try:
            if self.session.in_transaction():
                await self.session.rollback()
        finally:
            self._forget()
            await self.session.close()

    def _record_flush(self, session: Session, _context: Any) -> None:
        # after_flush still sees the pre-flush new/dirty/deleted collections
        self.written.extend([*session.new, *session.dirty, *session.deleted])

    def _forget(self) -> None:
        self._hooks.clear()
        self.written = []

    def after_commit(self, hook: AfterCommit) -> None:
        self._hooks.append(hook)

    async def commit(self) -> None:
        await self.session.commit()
        hooks, self._hooks = self._hooks, []
        for hook in hooks:
            await hook()
        for listener in list(_listeners.get(self._sessions, ())):
            await listener(self)
        self.written = []

    async def rollback(self) -> None:
        await self.session.rollback()
        self._forget()
