"""Sample scores are computed like any other score: the same evidence rules as 'calculate AIR score'."""

from sqlalchemy import select

from qulab_gui.data import samples, score_calculation
from qulab_gui.data.models import AIRScore, Assessment, User


async def test_added_sample_scores_ignore_unfinished_assessments_like_a_calculated_score(sessions) -> None:
    async with sessions() as session, session.begin():
        user = User(email="ada@example.org", name="Ada", occupation_code="15-1252", education_level="master",
                    years_experience=8)
        session.add(user)
        await session.flush()
        session.add_all([
            Assessment(user_id=user.id, component="fluency", status="completed", current_ability=0.5,
                       items_administered=20),
            Assessment(user_id=user.id, component="domain", status="in_progress", current_ability=3.0,
                       items_administered=30),  # unfinished: no evidence yet
        ])
    assert await samples.add_scores(sessions, 1) == 1
    recorded = await score_calculation.record_score(sessions, user.id)
    async with sessions() as session:
        scores = list(await session.scalars(select(AIRScore).order_by(AIRScore.created_at)))
    sampled, calculated = scores
    assert calculated.id == recorded.score_id
    assert sampled.air_score == calculated.air_score
    assert sampled.calculation_metadata["components"]["domain"] == 50.0  # the population mean, not Φ(3.0)
    assert sampled.calculation_metadata["evidence_items"] == 20
