"""Lab 1's guided path walked end to end: validation counted, the cascade observed on real rows."""

from pathlib import Path

import pytest
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
    await user.should_see(marker="guided-connectivity", retries=50)
    assert drawer_progress(user, "models") == "4/4" and drawer_progress(user, "connectivity") == "0/3"


async def test_a_broken_guide_file_is_named_on_the_page_which_keeps_working(
        user: User, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from qulab_gui.lab import guided

    for lab in guided.LABS:
        shipped = (guided.GUIDES / f"{lab}.toml").read_text(encoding="utf-8")
        (tmp_path / f"{lab}.toml").write_text(shipped.replace('unit = "problems"\n', ""), encoding="utf-8")
    monkeypatch.setattr(guided, "GUIDES", tmp_path)
    guided.load_guide.cache_clear()
    try:
        await lab_ready()
        await user.open("/models")
        await user.should_see("The guided path could not be loaded: models.toml: steps[0]: missing field 'unit'")
        user.find(marker="email").type("ada@example.org")  # the lab itself still works
        user.find(marker="name").type("Ada Lovelace")
        user.find(marker="create-user").click()
        await user.should_see("Created ada@example.org", retries=50)
        await user.should_not_see(marker="progress-models")
        assert drawer_progress(user, "outbox") == "0/3"  # the other guides are fine
    finally:
        guided.load_guide.cache_clear()  # the next test reads the shipped file again
