"""Drive the real QuLab in Chromium as a student would, from source and as the frozen executable.

Each test module gets one app process (the `served` fixture, once from source and once frozen).
Every test seeds the data it needs through the pages themselves, so any one of them runs alone
(`-k caching`); run in file order, the screenshots at the end show pages with data in them.
"""

from __future__ import annotations

import re
import time

import pytest

from qulab_gui.bench import launcher
from tests.conftest import until_sync
from tests.e2e.conftest import Tab
from tests.pages import PAGES

pytestmark = pytest.mark.e2e
expect = pytest.importorskip("playwright.sync_api", reason="Playwright for Python is not installed").expect



def user_count(tab: Tab) -> int:
    """The users in the table, as the models page counts them."""
    tab.open("/models", "1 · Data models")
    counts = tab.page.get_by_text(re.compile(r"^[\d,]+ users? · "))
    expect(counts).to_be_visible()
    return int(counts.inner_text().split(" user")[0].replace(",", ""))


def add_sample_users(tab: Tab, count: int) -> None:
    """Sample users with one score each, through the connectivity page's own button."""
    page = tab.page
    tab.open("/connectivity", "2 · Connectivity & pooling")
    page.get_by_label("Users", exact=True).fill(str(count))
    page.get_by_role("button", name="Load sample data").click()
    expect(page.get_by_text(f"Loaded {count:,} users").first).to_be_visible(timeout=120_000)


def test_health_answers_per_the_contract(served: launcher.RunningApp) -> None:
    health = served.health()
    assert health is not None
    assert health["status"] == "ok"
    assert health["database"]["dialect"] == "sqlite"
    assert str(served.data_dir) in health["database"]["url"]  # the data dir, never the bundle or the cwd
    assert health["redis"]["backend"] in ("redis", "fakeredis")
    if served.label == "frozen":  # no Redis answers: the bundle's own fakeredis took over
        assert health["redis"]["backend"] == "fakeredis"
    assert set(health["outbox"]) >= {"pending", "published", "failed", "oldest_pending_age_s", "publisher"}


def test_create_a_user_and_a_duplicate(tab: Tab) -> None:
    before = user_count(tab)
    page = tab.page
    page.get_by_label("Email").fill("ada@example.org")
    page.get_by_label("Name", exact=True).fill("Ada Lovelace")
    page.get_by_role("button", name="Create user").click()
    expect(page.get_by_role("cell", name="ada@example.org")).to_be_visible()

    page.get_by_label("Email").fill("ada@example.org")
    page.get_by_label("Name", exact=True).fill("Ada Again")
    page.get_by_role("button", name="Create user").click()
    expect(page.get_by_text("A user with email ada@example.org already exists").first).to_be_visible()
    expect(page.get_by_role("cell", name="Ada Again")).to_have_count(0)  # nothing written

    page.get_by_label("Email").fill("not-an-email")
    page.get_by_label("Name", exact=True).fill("Nobody")
    page.get_by_role("button", name="Create user").click()
    expect(page.get_by_text("'not-an-email' is not a valid email address").first).to_be_visible()
    expect(page.get_by_text(re.compile(rf"^{before + 1:,} users? · "))).to_be_visible()
    tab.assert_clean()


def test_load_sample_data(tab: Tab) -> None:
    before = user_count(tab)
    add_sample_users(tab, 40)
    assert user_count(tab) == before + 40
    tab.assert_clean()


def test_run_the_pool_probe(tab: Tab, served: launcher.RunningApp) -> None:
    page = tab.page
    tab.open("/connectivity", "2 · Connectivity & pooling")
    page.get_by_label("Sessions (K)").fill("8")
    page.get_by_label("Pool size").fill("2")
    page.get_by_label("Max overflow").fill("1")
    page.get_by_label("Hold (s)").fill("0.2")
    page.get_by_role("button", name="Run probe").click()
    expect(page.get_by_text(re.compile(r"8 of 8 sessions got a connection \(pool limit 3\)")).first).to_be_visible(
        timeout=60_000)
    page.wait_for_timeout(1000)  # the charts animate in
    tab.screenshot(served.label, "3-connectivity-after-probe")
    tab.assert_clean()


def test_compare_the_loading_strategies(tab: Tab, served: launcher.RunningApp) -> None:
    """Run all four strategies on N = 20 users and read the engine's statement counts off the table.

    The numbers are the theory worked out by hand: lazy 1 + 20 x 2 relationships, selectin 1 + 1 per
    relationship (20 keys fit one IN-list of 500), joined and the guard one statement each.
    """
    add_sample_users(tab, 20)
    page = tab.page
    tab.open("/repository", "3 · Repository & N+1")
    tab.fill_n("20")
    page.get_by_role("button", name="Run all four").click()
    expect(page.get_by_text("Measured 4 strategies for N = 20.").first).to_be_visible(timeout=60_000)
    expected = {"Lazy loading (awaitable_attrs in a loop)": 41, "selectinload": 3, "joinedload": 1,
                'raiseload("*") guard': 1}
    for label, statements in expected.items():
        row = page.locator("tbody tr").filter(has=page.get_by_role("cell", name=label, exact=True))
        expect(row.locator("td").nth(1)).to_have_text(str(statements))  # counted by the engine
        expect(row.locator("td").nth(2)).to_have_text(f"{statements} ✓")  # and equal to the page's theory
    page.wait_for_timeout(1000)  # the bar chart animates in
    tab.screenshot(served.label, "4-repository-after-run")
    tab.assert_clean()


def test_read_through_the_cache_miss_then_hit_and_invalidated_by_a_write(tab: Tab, served: launcher.RunningApp
                                                                         ) -> None:
    add_sample_users(tab, 5)
    page = tab.page
    tab.open("/caching", "4 · Caching")
    fetch = page.get_by_role("button", name="Fetch profile")
    miss = page.get_by_text(re.compile(r"loaded from the database, then cached$"))
    hit = page.get_by_text(re.compile(r"served from Redis$"))

    fetch.click()
    expect(miss.first).to_be_visible()
    expect(page.get_by_text(re.compile(r"^MISS · [\d.]+ ms$"))).to_be_visible()
    fetch.click()
    expect(hit.first).to_be_visible()
    expect(page.get_by_text(re.compile(r"^HIT · [\d.]+ ms$"))).to_be_visible()

    page.get_by_label("New name").fill("Renamed By E2E")
    page.get_by_role("button", name="Save profile").click()
    expect(page.get_by_text(re.compile("profile key was invalidated after the commit"))).to_be_visible()
    fetch.click()  # the commit deleted the key: the next read misses and brings the new name
    expect(page.get_by_text(re.compile(r"^Renamed By E2E <.*loaded from the database, then cached$"))).to_be_visible()
    fetch.click()
    expect(page.get_by_text(re.compile(r"^Renamed By E2E <.*served from Redis$"))).to_be_visible()
    page.wait_for_timeout(1000)
    tab.screenshot(served.label, "5-caching-after-reads")
    tab.assert_clean()


def test_a_new_score_is_published_through_the_outbox(tab: Tab, served: launcher.RunningApp) -> None:
    """The score and its event commit together; the publisher (an app timer) delivers the event to the
    Redis Stream and the consumer group applies it with a Lua script: inside the frozen bundle too."""
    add_sample_users(tab, 5)
    before = served.health()["outbox"]["published"]
    page = tab.page
    tab.open("/caching", "4 · Caching")
    page.get_by_role("button", name="Calculate a new score").click()
    expect(page.get_by_text(re.compile(r"^Committed a new score \(AIR [\d.]+\) and its outbox event"))
           ).to_be_visible()

    def delivered() -> dict | None:
        outbox = served.health()["outbox"]
        return outbox if outbox["published"] > before and outbox["pending"] == 0 else None

    outbox = until_sync(delivered, 30, message="the event to be published", interval_s=0.2)
    assert outbox["failed"] == 0 and outbox["publisher"] == "running", outbox
    tab.assert_clean()


def test_outbox_score_and_event_commit_together_and_the_event_turns_published(tab: Tab, served: launcher.RunningApp
                                                                            ) -> None:
    add_sample_users(tab, 5)
    page = tab.page
    tab.open("/outbox", "5 · Outbox")
    page.get_by_role("button", name="Calculate AIR score").click()
    committed = page.get_by_text(re.compile(r"^Committed score .* and its event \w{8} together"))
    expect(committed).to_be_visible()
    event = re.search(r"its event (\w{8}) together", committed.inner_text()).group(1)

    rows = page.locator("tbody tr").filter(has=page.get_by_role("cell", name=event, exact=True))
    published = rows.filter(has=page.get_by_role("cell", name="published", exact=True))
    expect(published).to_have_count(1, timeout=30_000)  # the outbox row, marked by the publisher
    expect(rows).to_have_count(2)  # ... and the entry in the Redis Stream carrying the same event_id
    # the consumer group applied it downstream (with a Lua script: inside the frozen bundle too)
    expect(page.get_by_text(re.compile(r"^delivered \d+ · applied [1-9]\d* · "))).to_be_visible(timeout=30_000)

    fail = page.get_by_role("checkbox", name="fail after writing the score")
    fail.click()
    expect(fail).to_have_attribute("aria-checked", "true")
    page.get_by_role("button", name="Calculate AIR score").click()
    rolled_back = page.get_by_text(re.compile(r"^Rolled back: .*air_scores with id \w{8}: 0, "
                                              r"domain_events with id \w{8}: 0\.$"))
    expect(rolled_back).to_be_visible()  # neither the score nor its event survived the failure
    fail.click()
    page.wait_for_timeout(1000)
    tab.screenshot(served.label, "6-outbox-after-publish")
    tab.assert_clean()


def test_the_sweep_fills_point_by_point_while_the_app_stays_responsive(tab: Tab, served: launcher.RunningApp
                                                                        ) -> None:
    """Issue 3's "done when": the chart grows during the sweep; health and navigation answer meanwhile."""
    page = tab.page
    tab.open("/repository", "3 · Repository & N+1")
    counts = page.get_by_text(re.compile(r"^[\d,]+ users? · "))
    expect(counts).to_be_visible()
    users = int(counts.inner_text().split(" user")[0].replace(",", ""))
    if users < 1000:  # N = 1000: lazy takes about a second there, so the sweep is watchable
        page.get_by_label("Users", exact=True).fill(str(1000 - users))
        page.get_by_label("Scores per user").fill("5")
        page.get_by_role("button", name="Add sample users").click()
        expect(page.get_by_text(re.compile(r"^Added [\d,]+ users with 5 score"))).to_be_visible(timeout=120_000)
    tab.fill_n("1000")
    page.get_by_role("button", name="Run sweep up to N = 1,000").click()
    chart = page.locator("[_echarts_instance_]").nth(1)  # bar chart, then the sweep's statements chart

    def points() -> int:
        return chart.evaluate("el => getElement(el).chart.getOption().series"
                              ".reduce((sum, s) => sum + s.data.length, 0)")

    first = until_sync(points, 60, message="the first point of the sweep")
    deadline = time.monotonic() + 60
    started = time.perf_counter()
    assert served.health()["status"] == "ok"  # the API answers while the sweep runs
    health_s = time.perf_counter() - started
    other = page.context.new_page()  # and another tab navigates
    other.goto(tab.base_url + "/outbox")
    expect(other.get_by_text("5 · Outbox", exact=True).first).to_be_visible()
    other.close()
    until_sync(lambda: points() != first, max(0.0, deadline - time.monotonic()), message="the next point")
    second = points()
    assert first < second <= 15, (first, second)  # drawn point by point, not all at the end
    expect(page.get_by_text("Sweep finished: 15 runs up to N = 1,000.")).to_be_visible(timeout=120_000)
    print(f"\n/api/health answered in {health_s * 1000:.0f} ms during the sweep (points {first} -> {second})")
    page.wait_for_timeout(1000)
    tab.screenshot(served.label, "4-repository-after-sweep")
    tab.assert_clean()


@pytest.mark.parametrize("path", PAGES)
def test_every_page_renders_cleanly(tab: Tab, served: launcher.RunningApp, path: str) -> None:
    """Each page in the frame, no console errors, no failed requests; a screenshot for review."""
    tab.open(path, PAGES[path])
    page = tab.page
    for label in list(PAGES.values())[1:]:  # the navigation drawer lists every lab
        expect(page.get_by_role("listitem").filter(has_text=label).first).to_be_visible()
    expect(page.get_by_text("SQLite", exact=True).first).to_be_visible()  # the backend chips
    page.wait_for_timeout(1500)  # let charts and diagrams finish drawing for the screenshot
    name = "home" if path == "/" else path.strip("/")
    tab.screenshot(served.label, f"{list(PAGES).index(path) + 1}-{name}")
    tab.assert_clean()


def test_navigation_drawer_moves_between_labs(tab: Tab) -> None:
    page = tab.page
    tab.open("/", "Welcome to QuLab")
    page.get_by_role("listitem").filter(has_text="2 · Connectivity & pooling").first.click()
    expect(page.get_by_text("Concurrency probe").first).to_be_visible()
    assert page.url.endswith("/connectivity")
    tab.assert_clean()


def test_second_instance_on_the_same_data_dir_is_refused(served: launcher.RunningApp) -> None:
    command = served.process.args[: served.process.args.index("--port")]
    second = launcher.launch(command, served.data_dir, "--headless", "--redis-url", "fake",
                             cwd=served.data_dir.parent)
    assert second.process.wait(timeout=60) == 1
    assert "already running with the data dir" in second.output_text()
    assert f"pid {served.process.pid}" in second.output_text()
    assert served.health() is not None  # the first one is untouched


def test_another_instance_with_its_own_data_dir_runs_alongside(served: launcher.RunningApp) -> None:
    command = served.process.args[: served.process.args.index("--port")]
    other = launcher.launch(command, served.data_dir.parent / "other-data", "--headless", "--redis-url", "fake",
                            cwd=served.data_dir.parent)
    try:
        other.wait_healthy(timeout=60)
        mine, theirs = served.health(), other.health()
        assert other.port != served.port
        assert mine["database"]["url"] != theirs["database"]["url"]
    finally:
        assert other.stop() in (0, -15)
    assert served.health()["status"] == "ok"
