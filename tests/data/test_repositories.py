"""Repositories: the queries the labs use, typed and in one place; the caller owns the transaction."""

from datetime import UTC, datetime, timedelta

from qulab_gui.data.models import AIRScore, DomainEvent, User
from qulab_gui.data.repositories import AIRScoreRepository, DomainEventRepository, UserRepository, row_counts
from qulab_gui.data.samples import load_samples

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def a_user(i: int) -> User:
    return User(email=f"user{i:02d}@example.org", name=f"User {i}", occupation_code="15-1252",
                education_level="bachelor", years_experience=i)


def a_score(user: User, air: float, at: datetime) -> AIRScore:
    return AIRScore(user=user, air_score=air, vr_score=air, hr_score=air, synergy_score=0.0, ci_lower=air - 5,
                    ci_upper=air + 5, parameter_version="test", calculation_metadata={}, created_at=at)


def an_event(status: str, occurred_at: datetime, next_attempt_at: datetime | None = None) -> DomainEvent:
    return DomainEvent(event_type="ScoreCalculated", aggregate_type="user", aggregate_id="u1", payload={},
                       status=status, occurred_at=occurred_at, next_attempt_at=next_attempt_at)


async def test_add_is_only_kept_when_the_caller_commits(sessions) -> None:
    async with sessions() as session:
        UserRepository(session).add(a_user(1))
        await session.flush()
        assert await UserRepository(session).count() == 1
        # leaving without commit: the repository never committed on its own
    async with sessions() as session:
        assert await UserRepository(session).count() == 0
        repo = UserRepository(session)
        user = repo.add(a_user(2))
        await session.commit()
    async with sessions() as session:
        fetched = await UserRepository(session).get(user.id)
        assert fetched is not None and fetched.email == "user02@example.org"


async def test_delete_and_count(sessions) -> None:
    async with sessions() as session:
        for i in (3, 1, 4, 0, 2):
            session.add(a_user(i))
        await session.commit()
    async with sessions() as session:
        repo = UserRepository(session)
        await repo.delete(await repo.by_email("user00@example.org"))
        await session.commit()
    async with sessions() as session:
        assert await UserRepository(session).count() == 4
        assert await UserRepository(session).by_email("user00@example.org") is None
        recent = await UserRepository(session).recent(limit=2)
        assert len(recent) == 2 and recent[0].created_at >= recent[1].created_at


async def test_by_email_ignores_case_and_spaces(sessions) -> None:
    async with sessions() as session:
        session.add(a_user(7))
        await session.commit()
        found = await UserRepository(session).by_email("  USER07@Example.org ")
        assert found is not None and found.name == "User 7"


async def test_latest_score_and_history_counts(sessions) -> None:
    async with sessions() as session:
        ada, alan, nobody = a_user(1), a_user(2), a_user(3)
        session.add_all([nobody, a_score(ada, 50, T0), a_score(ada, 70, T0 + timedelta(days=2)),
                         a_score(ada, 60, T0 + timedelta(days=1)), a_score(alan, 40, T0)])
        await session.commit()
    async with sessions() as session:
        scores = AIRScoreRepository(session)
        newest = await scores.latest_for(ada.id)
        assert newest is not None and newest.air_score == 70
        assert await scores.latest_for(nobody.id) is None
        assert await UserRepository(session).history_counts(ada.id) == (0, 3)


async def test_event_reads_for_pages_and_health(sessions) -> None:
    async with sessions() as session:
        assert await DomainEventRepository(session).oldest_pending_at() is None
        session.add_all([
            an_event("pending", T0 + timedelta(minutes=2)),
            an_event("pending", T0 + timedelta(minutes=3), next_attempt_at=T0 + timedelta(hours=1)),
            an_event("pending", T0 + timedelta(minutes=1)),
            an_event("published", T0),
            an_event("failed", T0),
        ])
        await session.commit()
    async with sessions() as session:
        events = DomainEventRepository(session)
        assert await events.counts_by_status() == {"pending": 3, "published": 1, "failed": 1}
        assert await events.oldest_pending_at() == T0 + timedelta(minutes=1)
        recent = await events.recent(limit=3)
        assert [e.occurred_at for e in recent] == [T0 + timedelta(minutes=m) for m in (3, 2, 1)]


async def test_row_counts_per_table(sessions) -> None:
    async with sessions() as session:
        await load_samples(session, 4, scores_per_user=2)
    async with sessions() as session:
        counts = await row_counts(session)
    assert (counts["users"], counts["assessments"], counts["air_scores"]) == (4, 12, 8)
