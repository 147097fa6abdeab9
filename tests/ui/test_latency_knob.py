"""The latency knob on the N+1 and caching pages: it sets the Lab's delay, every page shows the value in
force, and a lazy run on the page then pays the delay on each of its statements."""

from nicegui import ui
from nicegui.testing import User

from tests.ui.conftest import lab_ready


def knob(user: User) -> ui.slider:
    return user.find(marker="latency").elements.pop()


async def test_the_knob_delays_each_statement_of_a_run_and_shows_on_both_pages(user: User) -> None:
    lab = await lab_ready()
    await lab.load_samples(10, 2)
    await user.open("/repository")
    await user.should_see("so timings grow with the number of round trips")
    await user.should_see("0 ms: no simulated network")
    assert knob(user).value == 0  # a desktop starts without a simulated network
    knob(user).value = 5
    await user.should_see("5 ms per statement and per Redis command")
    assert lab.latency.ms == 5
    assert (await lab.health())["latency_ms"] == 5

    user.find(marker="n").elements.pop().value = 10
    user.find(marker="strategy").elements.pop().value = "lazy"
    user.find(marker="run-one").click()
    await user.should_see("Measured 1 strategy for N = 10", retries=100)
    [row] = user.find(marker="results-table").elements.pop().rows
    assert row["statements"] == 21
    assert row["ms"] >= 21 * 5  # each of the 21 round trips waited 5 ms

    await user.open("/caching")
    assert knob(user).value == 5  # the value in force, set on the other page
    await user.should_see("5 ms per statement and per Redis command")
    knob(user).value = 25  # past the end: refused with the rule, the delay in force stays
    await user.should_see("Network latency must be a number of milliseconds from 0 to 20 (got 25)")
    assert (lab.latency.ms, knob(user).value) == (5, 5)
    knob(user).value = 0
    await user.should_see("0 ms: no simulated network")
    assert lab.latency.ms == 0
