"""The caching page never shows a stale score after a write elsewhere in the app: sample scores
added on the repository lab, or the database reset on the models lab, reach the cache."""


from nicegui.testing import User

from tests.conftest import until
from tests.ui.conftest import lab_ready


async def fetch_score(user: User) -> str:
    """Click "fetch latest score" and wait for that read to land in the history; returns its badge."""
    history = user.find(marker="cache-history").elements.pop()
    before = len(history.rows)
    user.find(marker="fetch-score").click()
    await until(lambda: len(history.rows) > before, message="the score read to finish")
    return user.find(marker="score-outcome").elements.pop().text


def shown_score(user: User) -> str:
    return user.find(marker="score-result").elements.pop().text


async def test_added_sample_scores_are_fetched_fresh(user: User) -> None:
    from qulab_gui.data.cache import SCORE

    lab = await lab_ready()
    await lab.load_samples(3)
    await user.open("/caching")
    await user.should_see("key(s) under qulab:cache:", retries=50)
    user_id = user.find(marker="cache-user").elements.pop().value
    old = await lab.caching.cache.from_database(SCORE, user_id)
    assert (await fetch_score(user)).startswith("MISS")
    assert (await fetch_score(user)).startswith("HIT")
    assert f"score {old['id'][:8]}" in shown_score(user)

    assert await lab.nplus1.add_sample_scores(1) == 3  # the repository lab's bulk insert

    new = await lab.caching.cache.from_database(SCORE, user_id)
    assert new["id"] != old["id"]
    assert (await fetch_score(user)).startswith("MISS")
    assert f"score {new['id'][:8]}" in shown_score(user)


async def test_reset_database_empties_the_cache(user: User) -> None:
    from qulab_gui.data.cache import HIT, MISS, PROFILE

    lab = await lab_ready()
    await lab.load_samples(1)
    [person] = await lab.list_users()
    await lab.caching.read(PROFILE, person.id)
    assert (await lab.caching.read(PROFILE, person.id)).outcome == HIT

    await lab.reset_database()

    lookup = await lab.caching.read(PROFILE, person.id)
    assert (lookup.outcome, lookup.value) == (MISS, None)
