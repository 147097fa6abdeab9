"""Lab 1's guided path walked end to end: validation counted, the cascade observed on real rows."""

from nicegui.testing import User

from tests.ui.conftest import lab_ready
from tests.ui.guided_steps import drawer_progress, predict, refused


async def test_guided_models_checks_predictions_against_the_database(user: User) -> None:
    lab = await lab_ready()
    await user.open("/models")
    await user.should_see("Guided path · What the models promise")
    assert drawer_progress(user, "models") == "0/4"
    await refused(user, lab, "models", "form-problems", "3 or so", "'3 or so' is not a number")

    wrong = await predict(user, lab, "models", "form-problems", "1")  # as if validation stopped at the first
    assert wrong["correct"] is False and wrong["measured"] == 3
    right = await predict(user, lab, "models", "form-problems", "3")
    assert right["correct"] is True
    assert right["explanation"].startswith("The form listed 3 problems")

    rows = await predict(user, lab, "models", "rejected-rows", "0")
    assert rows["correct"] is True and rows["measured"] == 0

    scores = await predict(user, lab, "models", "cascade-scores", "0")
    assert scores["correct"] is True and "removed all 2" in scores["explanation"]
    events = await predict(user, lab, "models", "cascade-events", "0")  # the usual guess: the cascade took them
    assert events["correct"] is False and events["measured"] == 2
    assert (await lab.count_rows()).users == 0  # the steps' own users are gone again
    assert drawer_progress(user, "models") == "4/4"
    await user.should_see(marker="guided-takeaway")

    user.find(marker="nav-/connectivity").click()  # the drawer of every page shows the progress
    await user.should_see(marker="guided-connectivity")
    assert drawer_progress(user, "models") == "4/4" and drawer_progress(user, "connectivity") == "0/3"
