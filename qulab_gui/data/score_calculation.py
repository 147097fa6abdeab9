"""Use case "calculate a user's AIR score": the score row and its event, in one transaction.

This is the write side of the transactional outbox. The `AIRScore` row and the
`AIRScoreCalculated` `DomainEvent` are added to the same unit of work, so they are committed
together or not at all: no score without its announcement, no announcement of a score that was
never stored. `fail_after_write` raises after both rows were written (and flushed) inside the
transaction, so a page can show that the rollback leaves neither.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import selectinload

from .errors import SimulatedFailure, ValidationError, whole_number
from .models import AIRScore, DomainEvent, User, new_id, utcnow
from .repositories import AIRScoreRepository, DomainEventRepository, UserRepository
from .scoring import PARAMETER_VERSION, AssessmentEvidence, calculate_air
from .unit_of_work import UnitOfWork

EVENT_TYPE = "AIRScoreCalculated"
AGGREGATE_TYPE = "user"
MAX_BURST = 1000


@dataclass(frozen=True)
class ScoreRecorded:
    user_id: str
    score_id: str
    event_id: str
    air_score: float


@dataclass(frozen=True)
class RolledBack:
    """The injected failure happened; the counts are read back afterwards, in a new session."""

    score_id: str
    event_id: str
    scores_found: int
    events_found: int


OUTCOMES = (ScoreRecorded, RolledBack)  # what writing a score ends in


async def record_score(sessions: async_sessionmaker[AsyncSession], user_id: str, *,
                       fail_after_write: bool = False) -> ScoreRecorded:
    """Compute the user's AIR score from their assessments; store it and its event atomically."""
    score_id, event_id = new_id(), new_id()
    async with UnitOfWork(sessions) as uow:
        user = await uow.users.get(user_id, options=[selectinload(User.assessments)])
        if user is None:
            raise ValidationError("No such user: pick one from the list")
        evidence = [AssessmentEvidence(a.component, a.current_ability, a.items_administered, a.status == "completed")
                    for a in user.assessments]
        result = calculate_air(user.occupation_code, user.years_experience, evidence)
        calculated_at = utcnow()
        uow.scores.add(AIRScore(id=score_id, user_id=user.id, **result.columns()))
        uow.events.add(DomainEvent(
            id=event_id, event_type=EVENT_TYPE, aggregate_type=AGGREGATE_TYPE, aggregate_id=user.id,
            occurred_at=calculated_at,
            payload={"score_id": score_id, "user_id": user.id, "air_score": result.air_score,
                     "ci_lower": result.ci_lower, "ci_upper": result.ci_upper,
                     "parameter_version": PARAMETER_VERSION,
                     "calculated_at": calculated_at.isoformat()}))
        if fail_after_write:
            await uow.session.flush()  # both INSERTs really reach the database before the failure
            raise SimulatedFailure("failed after writing the score (injected): the transaction is rolled back",
                                   score=score_id, event=event_id)
        await uow.commit()
    return ScoreRecorded(user.id, score_id, event_id, result.air_score)


async def rows_for(session: AsyncSession, score_id: str, event_id: str) -> tuple[int, int]:
    """How many score rows and event rows exist with these ids (proof after a rollback)."""
    return (await AIRScoreRepository(session).count_with_id(score_id),
            await DomainEventRepository(session).count_with_id(event_id))


async def record_burst(sessions: async_sessionmaker[AsyncSession], count: int, *,
                       seed: int | None = None) -> list[ScoreRecorded]:
    """`count` scores for users drawn from the table, each in its own transaction (as K requests would)."""
    count = whole_number(count, "A burst", 1, MAX_BURST)
    async with sessions() as session:
        user_ids = await UserRepository(session).ids(limit=200)
    if not user_ids:
        raise ValidationError("There are no users yet: add sample users first")
    rng = random.Random(seed)
    return [await record_score(sessions, rng.choice(user_ids)) for _ in range(count)]
