"""Kept results: a lab's last runs, tables and charts are still on its page after navigating away and
back, and after a restart (a new Lab on the same data dir); "Clear kept results" forgets one lab only."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from nicegui import core, ui
from nicegui.testing import User

from tests.ui.conftest import lab_ready

ANSWER = {"question": "How many statements does lazy loading run for N = 30?", "prediction": 31.0,
          "measured": 61.0, "unit": "statements", "correct": False, "explanation": "1 + 30 × 2 = 61", "at": "now"}


def element(user: User, marker: str) -> ui.element:
    return user.find(marker=marker).elements.pop()


def charts(user: User) -> dict[str, dict]:
    """The page's charts' options by title."""
    return {chart.options["title"]["text"]: chart.options for chart in user.find(ui.echart).elements}


def statements_in_table(user: User) -> list[int]:
    return [row["statements"] for row in element(user, "results-table").rows]


async def run_all_four(user: User, users: int) -> None:
    lab = await lab_ready()
    await lab.load_samples(users, 2)
    await user.open("/repository")
    element(user, "n").value = users
    user.find(marker="run-all").click()
    await user.should_see(f"Measured 4 strategies for N = {users}", retries=100)


async def test_the_strategy_table_and_chart_survive_navigating_away_and_back(user: User) -> None:
    await run_all_four(user, 30)
    assert statements_in_table(user) == [61, 3, 1, 1]
    await user.open("/models")
    await user.open("/repository")
    await user.should_see("Your last runs at N = 30, kept from your last visit.")
    assert statements_in_table(user) == [61, 3, 1, 1]
    bars = element(user, "bar-chart").options
    assert bars["xAxis"]["data"] == ["lazy", "selectin", "joined", "raise"]
    assert bars["series"][0]["data"] == [61, 3, 1, 1]
    await user.should_see("raiseload refused the lazy load, as intended")


async def run_one_and_come_back(user: User, strategy: str, n: int) -> list[int]:
    """Run one strategy, leave the page and open it again: the statements its table shows then."""
    element(user, "n").value = n
    element(user, "strategy").value = strategy
    user.find(marker="run-one").click()
    await user.should_see(f"Measured 1 strategy for N = {n}", retries=100)
    await user.open("/models")
    await user.open("/repository")
    return statements_in_table(user)


async def test_a_run_at_another_n_replaces_the_comparison_and_one_strategy_joins_it(user: User) -> None:
    await run_all_four(user, 30)
    assert await run_one_and_come_back(user, "lazy", 10) == [21]  # the N = 30 runs are not mixed with N = 10
    assert await run_one_and_come_back(user, "selectin", 10) == [21, 3]


async def test_the_sweep_chart_is_drawn_again_after_a_restart_on_the_same_data_dir(user: User) -> None:
    from qulab_gui.lab import Lab
    from qulab_gui.lab.current import set_current_lab

    lab = await lab_ready()
    await lab.load_samples(60, 1)
    await user.open("/repository")
    element(user, "n").value = 60
    user.find(marker="run-sweep").click()
    await user.should_see("Sweep finished: 9 runs up to N = 60", retries=200)

    restarted = Lab(lab.settings)  # what the next start of QuLab builds: the same data dir, a new process state
    await restarted.start()
    set_current_lab(restarted)
    try:
        await user.open("/repository")
        await user.should_see("Your last sweep, kept: 9 runs up to N = 60.")
        statements = {series["name"]: series["data"] for series in element(user, "sweep-statements").options["series"]}
        assert statements == {"lazy": [[10, 21], [50, 101], [60, 121]], "selectin": [[10, 3], [50, 3], [60, 3]],
                              "joined": [[10, 1], [50, 1], [60, 1]]}
    finally:
        set_current_lab(lab)
        await restarted.stop()


async def test_the_probe_and_the_workload_are_kept_with_their_charts(user: User) -> None:
    lab = await lab_ready()
    await lab.load_samples(50)
    await user.open("/connectivity")
    for marker, value in (("probe-sessions", 4), ("probe-size", 2), ("probe-overflow", 0), ("probe-hold", 0.1)):
        element(user, marker).value = value
    user.find(marker="run-probe").click()
    await user.should_see("4 of 4 sessions got a connection (pool limit 2)", retries=100)
    probe_text = element(user, "probe-result").text
    await user.open("/caching")
    element(user, "workload-reads").value = 300
    user.find(marker="run-workload").click()
    await user.should_see("300 reads over 50 users", retries=200)
    workload_text = element(user, "workload-result").text

    await user.open("/connectivity")
    await user.should_see(probe_text)
    pool = charts(user)["Pool during the probe"]["series"]
    assert max(value for _, value in pool[0]["data"]) == 2  # checked out: the pool's limit, reached
    waits = charts(user)["Checkout wait per session"]
    assert waits["xAxis"]["data"] == ["1", "2", "3", "4"]
    await user.open("/caching")
    assert element(user, "workload-result").text == workload_text
    hit_ratio, *latencies = charts(user)["Workload: hit ratio and read latency"]["series"]
    assert [reads for reads, _ in hit_ratio["data"]] == list(range(15, 301, 15))  # 20 steps of 15 reads
    assert all(len(series["data"]) == 20 for series in latencies)


async def test_the_last_score_write_is_kept_on_the_outbox_page(user: User) -> None:
    lab = await lab_ready()
    await lab.load_samples(3)
    (first, *_) = await lab.list_users()
    recorded = await lab.outbox.calculate_score(first.id)
    await user.open("/outbox")
    await user.should_see(f"Your last write: Committed score {recorded.air_score:g}")


async def test_clear_forgets_this_labs_runs_and_answers_and_leaves_the_others(user: User) -> None:
    await run_all_four(user, 30)
    lab = await lab_ready()
    await lab.notebook.answer("nplus1", "lazy-statements", ANSWER)
    await lab.notebook.answer("models", "rejected", {**ANSWER, "question": "How many rows are written?"})
    await user.open("/repository")
    user.find(marker="clear-kept").click()
    user.find(marker="clear-kept-confirm").click()
    await user.should_see("Cleared: this lab starts afresh")
    await user.should_see(marker="run-all")  # the page was drawn again
    assert statements_in_table(user) == []
    await user.should_not_see("Your last runs at N = 30")
    assert lab.notebook.results("nplus1") == {} and lab.notebook.answers("nplus1") == {}
    assert list(lab.notebook.answers("models")) == ["rejected"]  # another lab keeps its answers


@pytest.fixture
def classroom_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QULAB_CLASSROOM", "1")


@pytest.fixture
async def second_browser(classroom_mode: None, user: User) -> AsyncIterator[User]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(core.app), base_url="http://test") as client:
        yield User(client)


async def test_in_a_classroom_each_learner_sees_and_reports_only_their_own_runs(
        classroom_mode: None, user: User, second_browser: User) -> None:
    from qulab_gui.lab.current import current_classroom

    alice, bob = user, second_browser
    await alice.open("/repository")
    (alice_lab,) = current_classroom().labs
    await alice_lab.ready()
    await alice_lab.load_samples(30, 2)
    element(alice, "n").value = 30
    alice.find(marker="run-all").click()
    await alice.should_see("Measured 4 strategies for N = 30", retries=100)

    await bob.open("/repository")
    assert statements_in_table(bob) == []  # Alice's runs are kept in her workspace, not his
    await bob.open("/report")
    await bob.should_see("Download tables (CSV, zip: 0 files)")
    await alice.open("/report")
    await alice.should_see("Download tables (CSV, zip: 1 file)")
    await alice.open("/repository")
    assert statements_in_table(alice) == [61, 3, 1, 1]
