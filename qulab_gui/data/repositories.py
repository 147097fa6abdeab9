"""Repositories: collection-like access to aggregates over one session.

A repository never commits: the caller owns the transaction (see `unit_of_work.py`), so several
repositories can take part in one atomic change. Queries live here, once, typed.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Generic, TypeVar

from sqlalchemy import Select, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased, selectinload

from .models import AIRScore, Base, DomainEvent, User

M = TypeVar("M", bound=Base)


class Repository(Generic[M]):
    """get / add / list with paging / delete / count for one model."""

    model: type[M]

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, id_: Any, *, options: Sequence[Any] = ()) -> M | None:
        return await self.session.get(self.model, id_, options=options)

    def add(self, entity: M) -> M:
        self.session.add(entity)
        return entity

    async def list(self, *, offset: int = 0, limit: int = 50, options: Sequence[Any] = (),
                   order_by: Any = None) -> list[M]:
        query = select(self.model).options(*options).offset(offset).limit(limit)
        query = query.order_by(order_by if order_by is not None else self._default_order())
        return list(await self.session.scalars(query))

    async def delete(self, entity: M) -> None:
        await self.session.delete(entity)

    async def count(self) -> int:
        return await self.session.scalar(select(func.count()).select_from(self.model)) or 0

    def _default_order(self) -> Any:
        return self.model.__mapper__.primary_key[0]


class UserRepository(Repository[User]):
    model = User

    async def by_email(self, email: str) -> User | None:
        return await self.session.scalar(select(User).where(User.email == email.strip().lower()))

    def first_users(self, n: int) -> Select[tuple[User]]:
        """The statement for "the first N users", stable order; loading options are added by callers."""
        return select(User).order_by(User.email, User.id).limit(n)

    async def ids(self, *, limit: int) -> list[str]:
        """The first `limit` user ids in the same stable order (the cache workload draws from them)."""
        return list(await self.session.scalars(select(User.id).order_by(User.email, User.id).limit(limit)))

    async def first_with_history(self, n: int) -> list[User]:
        """The first N users with their scores and assessments: 1 + 2 statements per 500 users.

        The repository, not its caller, picks the loading strategy, so a caller who loops over
        the users' collections cannot start an N+1 by accident (see `loading.py` for the others).
        """
        query = self.first_users(n).options(selectinload(User.scores), selectinload(User.assessments))
        return list(await self.session.scalars(query))

    async def with_scores(self, *, limit: int = 50) -> list[User]:
        """Users that have at least one score."""
        query = (select(User).where(select(AIRScore.id).where(AIRScore.user_id == User.id).exists())
                 .order_by(User.email).limit(limit))
        return list(await self.session.scalars(query))

    def _default_order(self) -> Any:
        return User.email


class AIRScoreRepository(Repository[AIRScore]):
    model = AIRScore

    async def latest_for(self, user_id: str) -> AIRScore | None:
        query = (select(AIRScore).where(AIRScore.user_id == user_id)
                 .order_by(AIRScore.created_at.desc(), AIRScore.id.desc()).limit(1))
        return await self.session.scalar(query)

    async def latest_per_user(self, user_ids: Sequence[str]) -> dict[str, AIRScore]:
        """Each user's newest score in one statement (a window function, not a query per user)."""
        ranked = select(AIRScore, func.row_number().over(
            partition_by=AIRScore.user_id, order_by=(AIRScore.created_at.desc(), AIRScore.id.desc()),
        ).label("rank")).where(AIRScore.user_id.in_(user_ids)).subquery()
        newest = aliased(AIRScore, ranked)
        rows = await self.session.scalars(select(newest).where(ranked.c.rank == 1))
        return {score.user_id: score for score in rows}

    def _default_order(self) -> Any:
        return AIRScore.created_at.desc()


class DomainEventRepository(Repository[DomainEvent]):
    model = DomainEvent

    async def pending(self, *, now: datetime, limit: int = 100) -> list[DomainEvent]:
        """Pending events that are due (next_attempt_at NULL or past), oldest first."""
        query = (select(DomainEvent)
                 .where(DomainEvent.status == "pending",
                        or_(DomainEvent.next_attempt_at.is_(None), DomainEvent.next_attempt_at <= now))
                 .order_by(DomainEvent.occurred_at, DomainEvent.id).limit(limit))
        return list(await self.session.scalars(query))

    async def recent(self, *, limit: int = 50) -> list[DomainEvent]:
        query = select(DomainEvent).order_by(DomainEvent.occurred_at.desc(), DomainEvent.id).limit(limit)
        return list(await self.session.scalars(query))

    def _default_order(self) -> Any:
        return DomainEvent.occurred_at
