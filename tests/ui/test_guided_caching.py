"""Lab 4's guided path walked end to end: hit ratios counted by the cache, a miss timed, the outage."""

from nicegui.testing import User

from tests.ui.conftest import lab_ready
from tests.ui.guided_steps import drawer_progress, predict


async def test_guided_caching_checks_predictions_against_the_cache(user: User) -> None:
    lab = await lab_ready()
    await user.open("/caching")
    await user.should_see("Guided path · What a cache really saves")

    skewed = await predict(user, lab, "caching", "hit-ratio-skewed", "0")
    assert skewed["correct"] is False and skewed["measured"] > 50  # popular learners are read again and again
    assert (await lab.count_rows()).users == 1000
    again = await predict(user, lab, "caching", "hit-ratio-skewed", str(skewed["measured"]))
    assert again["correct"] is True and again["measured"] == skewed["measured"]  # seeded: the same reads

    uniform = await predict(user, lab, "caching", "hit-ratio-uniform", "90")
    assert uniform["measured"] < skewed["measured"] and uniform["correct"] is False

    miss = await predict(user, lab, "caching", "miss-latency", "6")
    assert miss["measured"] >= 4  # at least a GET and the database read at 2 ms each
    assert lab.latency.ms == 0

    outage = await predict(user, lab, "caching", "fail-open", "0")
    assert outage["correct"] is True and "50 of 50 were answered by the database" in outage["explanation"]
    assert not lab.caching.simulating_unreachable  # the switch is off again
    assert drawer_progress(user, "caching") == "4/4"
    await user.should_see(marker="guided-takeaway")
