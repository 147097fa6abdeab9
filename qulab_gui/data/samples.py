"""Sample data: users with assessments and computed AIR scores, generated from a seeded RNG.

The names and abilities are drawn from `random.Random(seed)` so a run can be repeated; every score
is computed by `scoring.calculate_air` from the user's assessments, never drawn at random.
Rows are inserted in batches with executemany inside one unit of work: a failure mid-load leaves
nothing half-written, `progress` is called between batches so a page can show a live bar, and
the user cache drops the keys of every user whose rows were inserted (`UnitOfWork.bulk_insert`).

A batch is sized in rows, not users: 50 scores per user make each user 50 times the work, and
one batch is computed between two awaits, so its size bounds how long the event loop stalls.
While a load runs it holds SQLite's write lock; another write waits up to the busy timeout and
then gets "the database is busy" (see `errors.py`).
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from .errors import all_problems, whole_number
from .models import COMPONENTS, AIRScore, Assessment, User, new_id  # COMPONENTS: one assessment each per user
from .scoring import EDUCATION_LEVELS, OCCUPATIONS, AssessmentEvidence, calculate_air
from .unit_of_work import SessionSource, UnitOfWork

FIRST = ["Ada", "Alan", "Grace", "Edsger", "Barbara", "Donald", "Margaret", "Ken", "Frances", "John",
         "Radia", "Tim", "Hedy", "Linus", "Sophie", "Guido", "Katherine", "Dennis", "Anita", "Niklaus"]
LAST = ["Lovelace", "Turing", "Hopper", "Dijkstra", "Liskov", "Knuth", "Hamilton", "Thompson", "Allen",
        "McCarthy", "Perlman", "Berners-Lee", "Lamarr", "Torvalds", "Wilson", "van Rossum", "Johnson",
        "Ritchie", "Borg", "Wirth"]
ROWS_PER_BATCH = 2_500  # rows per batch: bounds the CPU between two awaits (0.05-0.2 s measured on 2 cores)
MAX_SAMPLE_USERS = 20_000

Progress = Callable[[int, int], Awaitable[None] | None]


def users_per_batch(rows_per_user: int) -> int:
    """How many users make about ROWS_PER_BATCH rows (at least one user per batch)."""
    return max(1, ROWS_PER_BATCH // max(1, rows_per_user))


def _assessments_for(rng: random.Random, user_id: str) -> list[dict[str, Any]]:
    return [
        {"id": new_id(), "user_id": user_id, "component": component, "status": "completed",
         "current_ability": round(rng.gauss(0.0, 1.0), 3), "items_administered": rng.randint(8, 40)}
        for component in COMPONENTS
    ]


def _scores_for(user: dict[str, Any], assessments: list[dict[str, Any]], count: int) -> list[dict[str, Any]]:
    """`count` scores as if recalculated over time: score k sees k/count of the items administered."""
    rows = []
    for k in range(1, count + 1):
        evidence = [AssessmentEvidence(a["component"], a["current_ability"], a["items_administered"] * k // count,
                                       a["status"] == "completed") for a in assessments]
        result = calculate_air(user["occupation_code"], user["years_experience"], evidence)
        rows.append({"id": new_id(), "user_id": user["id"], **result.columns()})
    return rows


async def load_samples(
    sessions: SessionSource, users: int, scores_per_user: int = 1, *, seed: int = 42,
    progress: Progress | None = None,
) -> int:
    """Insert `users` sample users, each with 3 assessments and `scores_per_user` scores."""
    users, scores_per_user = all_problems(lambda: whole_number(users, "Users", 1, MAX_SAMPLE_USERS),
                                          lambda: whole_number(scores_per_user, "Scores per user", 0, 50))
    rng = random.Random(seed)
    batch_tag = uuid.uuid4().hex[:6]  # keeps emails unique across repeated loads
    occupations = sorted(OCCUPATIONS)
    batch = users_per_batch(1 + len(COMPONENTS) + scores_per_user)  # the user, assessments, scores
    async with UnitOfWork(sessions) as uow:
        for start in range(0, users, batch):
            user_rows, assessment_rows, score_rows = [], [], []
            for i in range(start, min(start + batch, users)):
                first, last = rng.choice(FIRST), rng.choice(LAST)
                user = {
                    "id": new_id(), "name": f"{first} {last}",
                    "email": f"{first}.{last}.{batch_tag}{i}@example.org".lower().replace(" ", ""),
                    "occupation_code": rng.choice(occupations), "education_level": rng.choice(EDUCATION_LEVELS),
                    "years_experience": rng.randint(0, 35),
                }
                assessments = _assessments_for(rng, user["id"])
                user_rows.append(user)
                assessment_rows += assessments
                score_rows += _scores_for(user, assessments, scores_per_user)
            await uow.bulk_insert(User, user_rows)
            await uow.bulk_insert(Assessment, assessment_rows)
            await uow.bulk_insert(AIRScore, score_rows)
            if progress is not None:
                maybe = progress(start + len(user_rows), users)
                if maybe is not None:
                    await maybe
        await uow.commit()
    return users


async def add_scores(sessions: SessionSource, per_user: int, *, progress: Progress | None = None) -> int:
    """Recalculate `per_user` more scores for every existing user from their assessments."""
    per_user = whole_number(per_user, "Scores per user", 1, 50)
    added = 0
    batch_users = users_per_batch(per_user)  # only score rows are inserted
    async with UnitOfWork(sessions) as uow:
        users = await uow.users.scoring_inputs()
        for start in range(0, len(users), batch_users):
            batch = []
            for user, assessments in users[start:start + batch_users]:
                batch += _scores_for(user, assessments, per_user)
            await uow.bulk_insert(AIRScore, batch)
            added += len(batch)
            if progress is not None:
                maybe = progress(min(start + batch_users, len(users)), len(users))
                if maybe is not None:
                    await maybe
        await uow.commit()
    return added
