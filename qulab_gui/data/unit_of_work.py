"""Unit of work: one session, one transaction, the repositories over it, and after-commit hooks.

    async with UnitOfWork(sessions) as uow:
        uow.users.add(user)
        uow.after_commit(invalidate_user_cache)   # runs only if the commit succeeds
        await uow.commit()

Leaving the block without `commit()` (or with an exception) rolls everything back and drops the
hooks: nothing that was never written is announced or invalidated. Hooks are awaited right after
the commit, before `commit()` returns, so the caller's next read cannot see a stale cache.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from types import TracebackType

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from .repositories import AIRScoreRepository, DomainEventRepository, UserRepository

AfterCommit = Callable[[], Awaitable[None]]


class UnitOfWork:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions
        self._hooks: list[AfterCommit] = []

    async def __aenter__(self) -> UnitOfWork:
        self.session = self._sessions()
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
            self._hooks.clear()
            await self.session.close()

    def after_commit(self, hook: AfterCommit) -> None:
        self._hooks.append(hook)

    async def commit(self) -> None:
        await self.session.commit()
        hooks, self._hooks = self._hooks, []
        for hook in hooks:
            await hook()

    async def rollback(self) -> None:
        await self.session.rollback()
        self._hooks.clear()
