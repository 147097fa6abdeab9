"""Lab 3's guided path walked end to end: statements counted by the engine, then timed at 5 ms a trip."""

from nicegui.testing import User

from tests.ui.conftest import lab_ready
from tests.ui.guided_steps import drawer_progress, predict, refused


async def test_guided_nplus1_checks_predictions_against_the_engine(user: User) -> None:
    lab = await lab_ready()
    await user.open("/repository")
    await user.should_see("Guided path · The statements your dashboard really sends")
    assert drawer_progress(user, "nplus1") == "0/4"

    await refused(user, lab, "nplus1", "lazy-statements", "", "Enter your prediction first")
    await refused(user, lab, "nplus1", "lazy-statements", "many", "'many' is not a number")
    await refused(user, lab, "nplus1", "lazy-statements", "-3", "must be between 0 and 100000")
    assert (await lab.count_rows()).users == 0  # refused predictions ran nothing

    wrong = await predict(user, lab, "nplus1", "lazy-statements", "101")  # forgets one relationship
    assert wrong["measured"] == 201 and wrong["correct"] is False
    assert "off by 100 statements (too low)" in wrong["explanation"]
    assert (await lab.count_rows()).users == 100  # the step added the sample users it needs, and said so
    await user.should_see("Added 100 sample users (with 5 scores each) first")
    assert drawer_progress(user, "nplus1") == "1/4"

    right = await predict(user, lab, "nplus1", "lazy-statements", "201")
    assert right["correct"] is True and right["measured"] == 201
    assert right["explanation"].startswith("Lazy loading sent 201 statements")

    selectin = await predict(user, lab, "nplus1", "selectin-statements", "3")
    assert selectin["correct"] is True

    slow = await predict(user, lab, "nplus1", "lazy-latency", "1", slow=True)
    assert slow["correct"] is False and slow["measured"] >= 201 * 5  # every statement waited 5 ms
    assert "201 statements × 5 ms = 1005 ms" in slow["explanation"]
    assert lab.latency.ms == 0  # the knob is back where the learner left it

    fast = await predict(user, lab, "nplus1", "selectin-latency", "15")
    assert fast["measured"] >= 15 and fast["measured"] < slow["measured"]
    assert drawer_progress(user, "nplus1") == "4/4"
    await user.should_see(marker="guided-takeaway")
    await user.should_see(marker="guided-try")

    await user.open("/repository")  # reopened: the answers are still there
    await user.should_see("Lazy loading sent 201 statements")
    assert user.find(marker="guided-lazy-statements-prediction").elements.pop().value == "201"
    assert drawer_progress(user, "nplus1") == "4/4"
