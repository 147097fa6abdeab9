"""Unit of work: one session, one transaction, the repositories over it, and what it wrote.

    async with UnitOfWork(sessions) as uow:
        user = await uow.users.get(user_id)
        user.name = "Ada Lovelace"
        await uow.commit()

Every write of users, assessments and scores goes through a unit of work (the outbox publisher's
status updates touch only its own table), so code that must react to every committed change
without each writer knowing about it (the user cache) subscribes once:

    unsubscribe = on_commit(sessions, cache_listener)   # awaited as cache_listener(uow) after each commit

The listener sees `uow.written`, the ORM objects the transaction inserted, updated or deleted, and
`uow.bulk_written`, the (model, rows) of the Core bulk inserts it ran through `uow.bulk_insert`.
Leaving the block without `commit()` (or with an exception) rolls everything back and announces
nothing: what was never written needs no invalidation. Listeners are awaited right after the
commit, before `commit()` returns, so the writer's next read cannot see a stale cache.

A write that timed out on SQLite's lock leaves the block as a ValidationError the page can show
(see `errors.busy_as_message`), in this one place for every writer.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from types import TracebackType
from typing import Any
from weakref import WeakKeyDictionary

from sqlalchemy import Engine, event, insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session

from .errors import busy_as_message
from .models import Base
from .repositories import AIRScoreRepository, DomainEventRepository, UserRepository

CommitListener = Callable[["UnitOfWork"], Awaitable[None]]
SessionSource = async_sessionmaker[AsyncSession] | AsyncSession  # a factory, or a session the caller opened

# Keyed by engine: a unit of work over any session of that engine is announced, whichever factory
# (or caller-owned session) it came from.
_listeners: WeakKeyDictionary[Engine, list[CommitListener]] = WeakKeyDictionary()


def on_commit(sessions: async_sessionmaker[AsyncSession], listener: CommitListener) -> Callable[[], None]:
    """Await `listener(uow)` after every commit of a UnitOfWork over `sessions`' engine; returns an unsubscribe."""
    engine = sessions.kw["bind"].sync_engine
    _listeners.setdefault(engine, []).append(listener)

    def unsubscribe() -> None:
        registered = _listeners.get(engine, [])
        if listener in registered:
            registered.remove(listener)

    return unsubscribe


class UnitOfWork:
    """Over a new session from `source` (a session factory), or over a session the caller opened."""

    def __init__(self, source: SessionSource) -> None:
        self._source = source
        self._owns_session = not isinstance(source, AsyncSession)
        self.written: list[Any] = []  # ORM objects flushed as new, changed or deleted in this transaction
        self.bulk_written: list[tuple[type[Base], Sequence[dict[str, Any]]]] = []  # Core bulk inserts

    async def __aenter__(self) -> UnitOfWork:
        self.session = self._source() if self._owns_session else self._source
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
            event.remove(self.session.sync_session, "after_flush", self._record_flush)
            if self._owns_session:
                await self.session.close()
        if exc is not None and (busy := busy_as_message(exc)) is not None:
            raise busy from exc

    def _record_flush(self, session: Session, _context: Any) -> None:
        # after_flush still sees the pre-flush new/dirty/deleted collections
        self.written.extend([*session.new, *session.dirty, *session.deleted])

    def _forget(self) -> None:
        self.written = []
        self.bulk_written = []

    async def bulk_insert(self, model: type[Base], rows: Sequence[dict[str, Any]]) -> None:
        """INSERT many rows in one executemany (no ORM objects), remembered for the commit listeners."""
        if rows:
            await self.session.execute(insert(model), rows)
            self.bulk_written.append((model, rows))

    async def commit(self) -> None:
        await self.session.commit()
        for listener in list(_listeners.get(self.session.bind.sync_engine, ())):
            await listener(self)
        self._forget()
