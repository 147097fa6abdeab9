"""Lab 5's guided path walked end to end: a real broker outage, and a rolled-back write."""

from nicegui.testing import User

from tests.ui.conftest import lab_ready
from tests.ui.guided_steps import drawer_progress, predict


async def test_guided_outbox_checks_predictions_against_the_stream(user: User) -> None:
    lab = await lab_ready()
    await user.open("/outbox")
    await user.should_see("Guided path · Events that survive the broker")

    # the usual guess: "the publisher sent them anyway"
    pending = await predict(user, lab, "outbox", "pending-while-down", "0", slow=True)
    assert pending["correct"] is False and pending["measured"] == 20
    assert not lab.outbox.faults.broker_down  # the broker is back after the step

    lost = await predict(user, lab, "outbox", "lost-after-outage", "20")
    assert lost["correct"] is False and lost["measured"] == 0
    lost = await predict(user, lab, "outbox", "lost-after-outage", "0")
    assert lost["correct"] is True and "20 of 20 reached the stream" in lost["explanation"]

    rolled_back = await predict(user, lab, "outbox", "rolled-back", "0")
    assert rolled_back["correct"] is True and rolled_back["measured"] == 0
    assert drawer_progress(user, "outbox") == "3/3"
    await user.should_see(marker="guided-takeaway")
