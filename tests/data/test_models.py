"""Models: constraints the database enforces, cascades, UTC timestamps, outbox rows from outside."""

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, insert, select, text
from sqlalchemy.exc import IntegrityError

from qulab_gui.data.models import AIRScore, Assessment, DomainEvent, User
from qulab_gui.data.samples import load_samples
from qulab_gui.data.users import delete_user


def a_user(email: str = "ada@example.org", **overrides) -> User:
    values = dict(email=email, name="Ada", occupation_code="15-1252", education_level="master", years_experience=3)
    return User(**(values | overrides))


async def test_timestamps_are_server_side_and_timezone_aware_utc(sessions) -> None:
    async with sessions() as session, session.begin():
        session.add(a_user())
    async with sessions() as session:
        user = await session.scalar(select(User))
    assert user.created_at.tzinfo is not None
    assert user.created_at.utcoffset().total_seconds() == 0
    assert abs((datetime.now(UTC) - user.created_at).total_seconds()) < 60


async def test_unique_email_is_enforced_by_the_database(sessions) -> None:
    async with sessions() as session, session.begin():
        session.add(a_user())
    with pytest.raises(IntegrityError):
        async with sessions() as session, session.begin():
            session.add(a_user(name="Someone else"))


@pytest.mark.parametrize("column,value", [("component", "telepathy"), ("status", "lost"),
                                          ("items_administered", -1)])
async def test_assessment_check_constraints(sessions, column: str, value) -> None:
    async with sessions() as session, session.begin():
        session.add(user := a_user())
    values = {"user_id": user.id, "component": "fluency", "status": "completed", column: value}
    with pytest.raises(IntegrityError):
        async with sessions() as session, session.begin():
            session.add(Assessment(**values))


async def test_deleting_a_user_cascades_to_assessments_and_scores(sessions) -> None:
    async with sessions() as session:
        await load_samples(session, 2, scores_per_user=2)
    async with sessions() as session:
        victim = (await session.scalars(select(User).order_by(User.email))).first()
    async with sessions() as session:
        result = await delete_user(session, victim.id)
    assert (result.assessments, result.scores) == (3, 2)
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Assessment)) == 3
        assert await session.scalar(select(func.count()).select_from(AIRScore)) == 2
        assert await session.scalar(select(func.count()).where(Assessment.user_id == victim.id)) == 0


async def test_foreign_keys_are_enforced(sessions) -> None:
    with pytest.raises(IntegrityError):
        async with sessions() as session, session.begin():
            session.add(Assessment(user_id="no-such-user", component="domain", status="completed"))


async def test_event_row_from_another_process_with_only_required_columns_gets_defaults(engine, sessions) -> None:
    # Another process knows nothing of our ORM defaults: the server defaults must make the row valid.
    async with engine.begin() as conn:
        await conn.execute(text(
            "INSERT INTO domain_events (id, event_type, aggregate_type, aggregate_id, payload) "
            "VALUES ('evt-1', 'UserImported', 'user', 'u-1', '{\"source\": \"csv\"}')"))
    async with sessions() as session:
        event = await session.get(DomainEvent, "evt-1")
    assert (event.status, event.attempts, event.next_attempt_at, event.published_at) == ("pending", 0, None, None)
    assert event.payload == {"source": "csv"}
    assert event.occurred_at.tzinfo is not None


async def test_event_status_must_be_known(sessions) -> None:
    with pytest.raises(IntegrityError):
        async with sessions() as session, session.begin():
            await session.execute(insert(DomainEvent).values(
                id="e", event_type="t", aggregate_type="a", aggregate_id="1", payload={}, status="PUBLISHED"))
