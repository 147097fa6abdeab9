"""Repositories: collection-like access to aggregates over one session.

A repository never commits: the caller owns the transaction (see `unit_of_work.py`), so several
repositories can take part in one atomic change. Queries live here, once, typed: the rest of the
data layer and the labs ask a repository instead of writing a SELECT of their own.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Generic, TypeVar

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from .models import AIRScore, Assessment, Base, DomainEvent, EventStatus, User

M = TypeVar("M", bound=Base)


async def row_counts(session: AsyncSession) -> dict[str, int]:
    """Rows per table of the schema, in dependency order."""
    return {table.name: await session.scalar(select(func.count()).select_from(table)) or 0
            for table in Base.metadata.sorted_tables}


class Repository(Generic[M]):
    """get / add / delete / count for one model."""

    model: type[M]

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, id_: Any, *, options: Sequence[Any] = ()) -> M | None:
        return await self.session.get(self.model, id_, options=options)

    def add(self, entity: M) -> M:
        self.session.add(entity)
        return entity

    async def delete(self, entity: M) -> None:
        await self.session.delete(entity)

    async def count(self) -> int:
        return await self.session.scalar(select(func.count()).select_from(self.model)) or 0

    async def count_with_id(self, id_: Any) -> int:
        """0 or 1, read from the table itself (not the session's identity map): proof after a rollback."""
        key = self.model.__mapper__.primary_key[0]
        return await self.session.scalar(select(func.count()).select_from(self.model).where(key == id_)) or 0


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

    async def recent(self, *, limit: int = 200) -> list[User]:
        """The newest users first (the models page's table)."""
        return list(await self.session.scalars(select(User).order_by(User.created_at.desc(), User.email)
                                               .limit(limit)))

    async def scoring_inputs(self) -> list[tuple[dict[str, Any], list[dict[str, Any]]]]:
        """Every user's scoring fields with their assessments' evidence, in two statements (not 1 + N)."""
        people = (await self.session.execute(select(User.id, User.occupation_code, User.years_experience))).all()
        evidence = await self.session.execute(select(Assessment.user_id, Assessment.component, Assessment.status,
                                                     Assessment.current_ability, Assessment.items_administered))
        by_user: dict[str, list[dict[str, Any]]] = {}
        for row in evidence:
            by_user.setdefault(row.user_id, []).append(row._asdict())
        return [(person._asdict(), by_user.get(person.id, [])) for person in people]

    async def history_counts(self, user_id: str) -> tuple[int, int]:
        """How many assessments and scores a user has (what deleting them takes along)."""
        assessments = await self.session.scalar(select(func.count()).where(Assessment.user_id == user_id))
        scores = await self.session.scalar(select(func.count()).where(AIRScore.user_id == user_id))
        return assessments or 0, scores or 0


class AIRScoreRepository(Repository[AIRScore]):
    model = AIRScore

    async def latest_for(self, user_id: str) -> AIRScore | None:
        query = (select(AIRScore).where(AIRScore.user_id == user_id)
                 .order_by(AIRScore.created_at.desc(), AIRScore.id.desc()).limit(1))
        return await self.session.scalar(query)


class DomainEventRepository(Repository[DomainEvent]):
    """Reads of the outbox table for pages and health. The publisher claims its batches itself
    (`outbox.py`: due rows, leases, per-aggregate order); nothing here hands out work."""

    model = DomainEvent

    async def recent(self, *, limit: int = 50) -> list[DomainEvent]:
        query = select(DomainEvent).order_by(DomainEvent.occurred_at.desc(), DomainEvent.id.desc()).limit(limit)
        return list(await self.session.scalars(query))

    async def counts_by_status(self) -> dict[str, int]:
        rows = await self.session.execute(select(DomainEvent.status, func.count()).group_by(DomainEvent.status))
        return {status: n for status, n in rows.all()}

    async def statuses(self, ids: Sequence[str]) -> dict[str, str]:
        """The status of each of these events by id (an id with no row is left out)."""
        rows = await self.session.execute(select(DomainEvent.id, DomainEvent.status).where(DomainEvent.id.in_(ids)))
        return {event_id: str(status) for event_id, status in rows.all()}

    async def oldest_pending_at(self) -> datetime | None:
        return await self.session.scalar(
            select(func.min(DomainEvent.occurred_at)).where(DomainEvent.status == EventStatus.PENDING))
