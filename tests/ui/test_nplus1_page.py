"""Lab 3 page: runs, the sweep drawn point by point, the guard's error, bad N, and a refused double click."""

import pytest
from nicegui import ui
from nicegui.testing import User

from tests.conftest import until
from tests.ui.conftest import lab_ready


async def seeded(users: int, scores: int = 2):
    lab = await lab_ready()
    await lab.load_samples(users, scores)
    return lab


def chart(user: User, marker: str) -> ui.echart:
    return user.find(marker=marker).elements.pop()


async def test_run_all_four_shows_exact_counts_rows_and_the_guard_error(user: User) -> None:
    await seeded(60)
    await user.open("/repository")
    await user.should_see("60 users · 180 assessments · 120 scores")
    assert user.find(marker="n").elements.pop().value == 60  # min(1000, users): the first click works
    user.find(marker="run-all").click()
    await user.should_see("Measured 4 strategies for N = 60", retries=100)
    rows = user.find(marker="results-table").elements.pop().rows
    assert [(r["statements"], r["theory"]) for r in rows] == [(121, "121 ✓"), (3, "3 ✓"), (1, "1 ✓"), (1, "1 ✓")]
    assert [r["rows"] for r in rows] == [360, 360, 360, 60]  # joined: 60 users x 2 scores x 3 assessments
    assert [r["per_user_theory"] for r in rows[:3]] == [
        "1 + scores + assessments = 1 + 2 + 3", "1 + scores + assessments = 1 + 2 + 3",
        "scores × assessments = 2 × 3"]
    bars = chart(user, "bar-chart").options
    assert bars["xAxis"]["data"] == ["lazy", "selectin", "joined", "raise"]
    assert bars["series"][0]["data"] == [121, 3, 1, 1]
    await user.should_see("raiseload refused the lazy load, as intended: "
                          "InvalidRequestError: 'User.scores' is not available due to lazy='raise'")
    assert "text-negative" not in user.find(marker="guard-result").elements.pop().classes  # not shown as a crash
    assert bars["yAxis"][0]["type"] == "log"  # joined's 1 statement stays visible next to lazy's 121
    user.find(marker="bar-log-scale").elements.pop().value = False
    assert chart(user, "bar-chart").options["yAxis"][0]["type"] == "value"
    await user.should_see("Lazy loading (awaitable_attrs in a loop): 121 statements, 3 distinct")


async def test_one_strategy_at_a_time_builds_up_the_comparison(user: User) -> None:
    await seeded(20)
    await user.open("/repository")
    user.find(marker="n").elements.pop().value = 20
    user.find(marker="strategy").elements.pop().value = "selectin"
    user.find(marker="run-one").click()
    await user.should_see("Measured 1 strategy for N = 20", retries=100)
    user.find(marker="strategy").elements.pop().value = "lazy"
    user.find(marker="run-one").click()
    await user.should_see("41 statements, 3 distinct", retries=100)
    rows = user.find(marker="results-table").elements.pop().rows
    assert [r["statements"] for r in rows] == [41, 3]  # shown in lab order: lazy first


async def test_sweep_charts_every_point_with_labelled_axes(user: User) -> None:
    await seeded(120, scores=1)
    await user.open("/repository")
    user.find(marker="n").elements.pop().value = 120
    await user.should_see("Run sweep up to N = 120")  # the N it reads from the card above
    user.find(marker="run-sweep").click()
    await user.should_see("Sweep finished: 12 runs up to N = 120", retries=200)
    statements = chart(user, "sweep-statements").options
    assert statements["xAxis"]["name"] == "N (users)" and statements["yAxis"]["name"] == "statements"
    by_strategy = {series["name"]: series["data"] for series in statements["series"]}
    assert by_strategy == {"lazy": [[10, 21], [50, 101], [100, 201], [120, 241]],
                           "selectin": [[10, 3], [50, 3], [100, 3], [120, 3]],
                           "joined": [[10, 1], [50, 1], [100, 1], [120, 1]]}
    times = chart(user, "sweep-time").options
    assert times["yAxis"]["name"] == "milliseconds"
    assert [len(series["data"]) for series in times["series"]] == [4, 4, 4]
    assert all(ms > 0 for series in times["series"] for _, ms in series["data"])
    user.find(marker="log-scale").elements.pop().value = True  # selectin's and joined's lines leave the floor
    assert statements["yAxis"]["type"] == times["yAxis"]["type"] == "log"


async def test_bad_n_gets_a_clear_message_and_runs_nothing(user: User) -> None:
    await seeded(30)
    await user.open("/repository")
    for bad, message in ((0, "N must be at least 1 (got 0)"), (-4, "N must be at least 1 (got -4)"),
                         (31, "N = 31 is more than the 30 users in the table"), (None, "whole number")):
        user.find(marker="n").elements.pop().value = bad
        user.find(marker="run-all").click()
        await user.should_see(message, retries=50)
    user.find(marker="run-sweep").click()
    await user.should_see("whole number", retries=50)
    assert user.find(marker="results-table").elements.pop().rows == []
    assert all(not series["data"] for series in chart(user, "sweep-statements").options["series"])


async def test_empty_table_says_to_add_users_first(user: User) -> None:
    await lab_ready()
    await user.open("/repository")
    await user.should_see("add sample users to begin")
    user.find(marker="n").elements.pop().value = 10
    user.find(marker="run-one").click()
    await user.should_see("The users table is empty: add sample users first", retries=50)


async def test_second_click_while_running_is_refused_politely(user: User) -> None:
    lab = await seeded(300, scores=1)
    await user.open("/repository")
    user.find(marker="n").elements.pop().value = 300
    user.find(marker="run-sweep").click()
    user.find(marker="run-all").click()  # the sweep holds the lab: this one is turned away
    await user.should_see("The N+1 measurement is already running: wait for it to finish", retries=50)
    await user.should_see("Sweep finished: 12 runs up to N = 300", retries=300)
    assert not lab.is_busy("The N+1 measurement")
    assert user.find(marker="results-table").elements.pop().rows == []  # the refused run measured nothing


async def test_add_sample_users_then_scores_with_progress(user: User) -> None:
    lab = await lab_ready()
    await user.open("/repository")
    user.find(marker="new-users").elements.pop().value = 40
    user.find(marker="scores-per-user").elements.pop().value = 1
    user.find(marker="add-users").click()
    await user.should_see("40 users · 120 assessments · 40 scores", retries=100)
    user.find(marker="scores-per-user").elements.pop().value = 2
    user.find(marker="add-scores").click()
    await user.should_see("Added 80 scores.", retries=100)
    await user.should_see("40 users · 120 assessments · 120 scores (≈ 3.0 per user)")
    assert user.find(marker="data-progress").elements.pop().value == 1
    assert (await lab.count_rows()).air_scores == 120


async def test_stop_ends_a_running_sweep_and_keeps_its_points(user: User) -> None:

    lab = await seeded(300, scores=1)
    await user.open("/repository")
    await user.should_see("Run sweep up to N = 300", retries=50)  # N defaults to every user there is
    user.find(marker="run-sweep").click()
    await until(lambda: any(series["data"] for series in chart(user, "sweep-statements").options["series"]),
                10, message="the first point of the sweep")
    await user.should_see(marker="stop-sweep", retries=50)
    user.find(marker="stop-sweep").click()
    await user.should_see("Sweep stopped after", retries=100)
    assert not lab.nplus1.running and lab.nplus1.stopped
    points = sum(len(series["data"]) for series in chart(user, "sweep-statements").options["series"])
    assert 1 <= points < 12


async def test_a_closed_tab_stops_its_sweep(user: User) -> None:

    lab = await seeded(300, scores=1)
    await user.open("/repository")
    await user.should_see("Run sweep up to N = 300", retries=50)
    user.find(marker="run-sweep").click()
    await until(lambda: lab.nplus1.sweeping, message="the sweep to start")
    user.client.delete()  # what NiceGUI does once a closed tab's reconnect timeout has passed
    await until(lambda: not lab.nplus1.running, 10, message="the sweep to stop")
    assert lab.nplus1.stopped


@pytest.mark.parametrize("users,message", [
    (100000, "Users must be a whole number from 1 to 20,000 (got 100,000)"),
    (2.5, "Users must be a whole number from 1 to 20,000 (got 2.5)"),
    (None, "Users must be a whole number from 1 to 20,000 (the field is empty)"),
])
async def test_sample_users_out_of_range_are_refused_not_clamped(user: User, users, message) -> None:
    lab = await lab_ready()
    await user.open("/repository")
    user.find(marker="new-users").elements.pop().value = users
    user.find(marker="add-users").click()
    await user.should_see(message, retries=50)
    assert (await lab.count_rows()).users == 0
    assert user.notify.messages == []  # said next to the field, not in a toast


async def test_no_excuse_is_shown_when_the_measurement_agrees_with_the_lesson(user: User) -> None:
    lab = await seeded(60)
    lab.set_latency(2)  # 121 lazy round trips of 2 ms each: lazy is clearly the slowest
    await user.open("/repository")
    await user.should_see("60 users · 180 assessments · 120 scores")  # N has followed the users
    user.find(marker="run-all").click()
    await user.should_see("Measured 4 strategies for N = 60", retries=100)
    await user.should_not_see(marker="why-slower")  # measured as the lesson says: nothing to explain
