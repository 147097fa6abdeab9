"""Lab 2 page: engine facts, sample data with progress, and the pool probe charting real exhaustion."""

from pathlib import Path

import pytest
from nicegui import ui
from nicegui.testing import User

from tests.ui.conftest import lab_ready


async def test_engine_facts_are_this_apps_engine(user: User, tmp_path: Path) -> None:
    await lab_ready()
    await user.open("/connectivity")
    await user.should_see("AsyncAdaptedQueuePool")
    await user.should_see(f"sqlite+aiosqlite:///{tmp_path / 'qulab.db'}")  # the data dir this test gave it


@pytest.mark.parametrize("requested,message,users", [
    (600, "Loaded 600 users", 600),
    (0, "Users must be a whole number from 1 to 20,000 (got 0)", 0),  # refused: nothing written
])
async def test_load_sample_data(user: User, requested: int, message: str, users: int) -> None:
    lab = await lab_ready()
    await user.open("/connectivity")
    user.find(marker="sample-users").elements.pop().value = requested
    user.find(marker="load-samples").click()
    await user.should_see(message, retries=50)
    assert (await lab.count_rows()).users == users
    if users:
        assert user.find(marker="progress").elements.pop().value == 1


async def test_probe_past_the_pool_limit_shows_timeouts_and_charts_the_pool(user: User) -> None:
    await lab_ready()
    await user.open("/connectivity")
    for marker, value in (("probe-sessions", 8), ("probe-size", 2), ("probe-overflow", 1),
                          ("probe-timeout", 0.2), ("probe-hold", 0.5)):
        user.find(marker=marker).elements.pop().value = value
    user.find(marker="run-probe").click()
    await user.should_see("3 of 8 sessions got a connection (pool limit 3); 5 timed out", retries=50)
    await user.should_see("Pool exhausted")
    pool_chart, wait_chart = sorted(user.find(ui.echart).elements, key=lambda e: e.id)
    checked_out = [y for _, y in pool_chart.options["series"][0]["data"]]
    colours = [series["color"] for series in pool_chart.options["series"]]
    assert [series["name"] for series in pool_chart.options["series"]] == ["checked out", "overflow", "waiting"]
    assert len(set(colours)) == 3  # told apart at a glance, not by ECharts' palette order
    assert max(checked_out) == 3
    served, failed = (series["data"] for series in wait_chart.options["series"])
    assert [series["name"] for series in wait_chart.options["series"]] == ["got a connection", "timed out"]
    assert wait_chart.options["legend"]  # the bars' two colours are named
    assert len(served) == len(failed) == 8  # one bar per session, in one of the two series
    assert served[3:] == [None] * 5 and failed[:3] == [None] * 3
    assert all(ms >= 200 for ms in failed[3:])  # the timed-out sessions waited the whole timeout
    # the longest wait counts the sessions that gave up, not only the ones that got a connection
    await user.should_see("longest wait ≥ 2", retries=5)
    await user.should_see("(5 sessions timed out at 200 ms, the pool timeout; the longest wait that got a connection")
    styles = {series["name"]: series for series in pool_chart.options["series"]}
    assert styles["waiting"]["lineStyle"]["type"] == "dashed" and styles["waiting"]["z"] < styles["checked out"]["z"]


async def test_probe_refuses_bad_settings(user: User) -> None:
    await lab_ready()
    await user.open("/connectivity")
    user.find(marker="probe-sessions").elements.pop().value = 500
    user.find(marker="probe-size").elements.pop().value = 2.5
    user.find(marker="probe-timeout").elements.pop().value = None
    user.find(marker="run-probe").click()
    await user.should_see("Concurrent sessions must be a whole number from 1 to 200 (got 500)", retries=50)
    shown = user.find(marker="probe-result").elements.pop().text.splitlines()  # all three at once, none clamped
    assert shown[1:] == ["Pool size must be a whole number from 1 to 50 (got 2.5)",
                         "Pool timeout must be a number from 0.1 to 30 s (the field is empty)"]
    assert user.notify.messages == []


async def test_enter_in_the_users_field_loads_the_samples(user: User) -> None:
    lab = await lab_ready()
    await user.open("/connectivity")
    user.find(marker="sample-users").elements.pop().value = 7
    user.find(marker="sample-users").trigger("keydown.enter")
    await user.should_see("Loaded 7 users with", retries=50)
    assert (await lab.count_rows()).users == 7
