"""Lab 2's guided path walked end to end: the pool probe's real waits and timeouts."""

from nicegui.testing import User

from tests.ui.conftest import lab_ready
from tests.ui.guided_steps import drawer_progress, predict


async def test_guided_connectivity_checks_predictions_against_the_probe(user: User) -> None:
    lab = await lab_ready()
    await user.open("/connectivity")
    await user.should_see("Guided path · How many connections, for how many requests")

    queued = await predict(user, lab, "connectivity", "queue-wait", "0")  # "the pool hands out ten at once"
    assert queued["correct"] is False and 0.4 <= queued["measured"] <= 1.0  # the second five waited ~0.5 s
    queued = await predict(user, lab, "connectivity", "queue-wait", "0.5")
    assert queued["correct"] is True

    overflow = await predict(user, lab, "connectivity", "overflow-wait", "0")
    assert overflow["correct"] is True and overflow["measured"] < 0.2

    wrong = await predict(user, lab, "connectivity", "timeouts", "0")
    assert wrong["correct"] is False and wrong["measured"] == 10
    right = await predict(user, lab, "connectivity", "timeouts", "10")
    assert right["correct"] is True and "10 sessions timed out and 2 got a connection" in right["explanation"]
    assert drawer_progress(user, "connectivity") == "3/3"
    await user.should_see(marker="guided-try")
