"""The caching page through NiceGUI's user fixture: HIT/MISS labels, writes that invalidate,
the fail-open switch, keys with TTL, counters and the workload chart."""


from nicegui import ui
from nicegui.testing import User

from tests.conftest import until
from tests.ui.conftest import lab_ready


async def open_caching(user: User) -> None:
    await user.open("/caching")
    await user.should_see("key(s) under qulab:cache:", retries=50)  # the page has finished building


async def open_with_users(user: User, n: int = 5):
    lab = await lab_ready()
    await lab.load_samples(n)
    await open_caching(user)
    return lab


def text_of(user: User, marker: str) -> str:
    return user.find(marker=marker).elements.pop().text


async def picked_email(user: User) -> str:
    """The email of the user the page's picker has selected, read from the database."""
    from qulab_gui.lab import current_lab

    picked = user.find(marker="cache-user").elements.pop().value
    return next(u.email for u in await current_lab().list_users() if u.id == picked)


async def fetch(user: User, family: str) -> str:
    """Click a fetch button and wait for that read to land in the history; returns its badge text."""
    history = user.find(marker="cache-history").elements.pop()
    before = history.rows[0]["n"] if history.rows else 0  # the number of the newest read shown
    user.find(marker=f"fetch-{family}").click()
    await until(lambda: history.rows and history.rows[0]["n"] != before, message=f"the {family} read to finish")
    return text_of(user, f"{family}-outcome")


async def test_fetch_is_labelled_miss_then_hit_and_counted(user: User) -> None:
    await open_with_users(user)
    assert (await fetch(user, "profile")).startswith("MISS · ")
    assert "loaded from the database, then cached" in text_of(user, "profile-result")
    assert (await fetch(user, "profile")).startswith("HIT · ")
    assert "served from Redis" in text_of(user, "profile-result")
    await user.should_see("1 key(s) under qulab:cache:", retries=50)
    assert text_of(user, "stat-profile-hits") == "1"
    assert text_of(user, "stat-profile-misses") == "1"
    assert text_of(user, "stat-profile-hit_ratio") == "50.0%"
    history = user.find(marker="cache-history").elements.pop().rows
    assert [row["outcome"] for row in history] == ["HIT", "MISS"]
    keys = user.find(marker="cache-keys").elements.pop().rows
    assert len(keys) == 1 and keys[0]["key"].startswith("qulab:cache:profile:")
    first_ttl = float(keys[0]["ttl"])
    assert 250 < first_ttl <= 330  # 300 s ± 10 % jitter
    # the page's ui.timer re-reads PTTL every second: the TTL counts down
    await until(lambda: float(user.find(marker="cache-keys").elements.pop().rows[0]["ttl"]) < first_ttl,
                message="the TTL to count down")

    user.find(marker="reset-counters").click()
    await until(lambda: text_of(user, "stat-profile-hits") == "0", 2, message="the counters to reset")
    assert (text_of(user, "stat-profile-hits"), text_of(user, "stat-profile-hit_ratio")) == ("0", "–")


async def test_no_score_yet_is_a_negative_hit(user: User) -> None:
    lab = await lab_ready()
    await lab.load_samples(1, scores_per_user=0)
    await open_caching(user)
    assert (await fetch(user, "score")).startswith("MISS")
    assert (await fetch(user, "score")).startswith("HIT")
    assert "no score yet" in text_of(user, "score-result")
    await user.should_see("1 key(s) under qulab:cache:", retries=50)
    assert user.find(marker="cache-keys").elements.pop().rows[0]["value"] == "nothing (negative)"
    assert text_of(user, "stat-score-negative_hits") == "1"


async def test_edit_invalidates_after_commit_and_rollback_does_not(user: User) -> None:
    await open_with_users(user)
    assert (await fetch(user, "profile")).startswith("MISS")

    user.find(marker="edit-years").elements.pop().value = 42
    user.find(marker="fail-before-commit").elements.pop().value = True
    user.find(marker="save-profile").click()
    await user.should_see("Rolled back", retries=50)
    assert (await fetch(user, "profile")).startswith("HIT")  # still cached, and still right
    assert "42 years" not in text_of(user, "profile-result")

    user.find(marker="fail-before-commit").elements.pop().value = False
    user.find(marker="save-profile").click()
    await user.should_see("profile key was invalidated after the commit", retries=50)
    assert (await fetch(user, "profile")).startswith("MISS")
    assert "42 years of experience" in text_of(user, "profile-result")


async def test_new_score_invalidates_the_cached_score_and_rollback_does_not(user: User) -> None:
    await open_with_users(user)
    assert (await fetch(user, "score")).startswith("MISS")
    user.find(marker="fail-before-commit").elements.pop().value = True
    user.find(marker="new-score").click()
    await user.should_see("Rolled back: 0 score row(s) exist afterwards", retries=50)
    assert (await fetch(user, "score")).startswith("HIT")
    user.find(marker="fail-before-commit").elements.pop().value = False
    user.find(marker="new-score").click()
    await user.should_see("score key was invalidated", retries=50)
    assert (await fetch(user, "score")).startswith("MISS")


async def test_fail_open_switch_serves_from_database_and_recovers(user: User) -> None:
    lab = await open_with_users(user)
    now = lab.caching.cache.breaker.clock()
    lab.caching.cache.breaker.clock = lambda: now  # the breaker's 2 s window cannot close while the test runs
    assert (await fetch(user, "profile")).startswith("MISS")

    user.find(marker="simulate-down").click()
    await user.should_see("Redis is unreachable: the keys cannot be listed", retries=50)
    assert (await fetch(user, "profile")).startswith("ERROR")  # a real ConnectionError on this read
    assert "served by the database" in text_of(user, "profile-result")
    assert await picked_email(user) in text_of(user, "profile-result")  # the profile itself was answered
    assert (await fetch(user, "profile")).startswith("BYPASS")  # the breaker spares the next reads
    await user.should_see("Cache degraded: ConnectionError", retries=50)
    assert lab.backend_status["redis"] is False
    await user.should_see("fakeredis (embedded) · degraded", retries=40)  # the header chip, filled orange
    health = (await user.http_client.get("/api/health")).json()
    assert health["status"] == "degraded" and health["cache"]["simulating_unreachable"] is True
    await user.should_see("1 read(s) that skipped Redis", retries=50)
    assert (text_of(user, "stat-profile-errors"), text_of(user, "stat-profile-bypassed")) == ("1", "1")

    user.find(marker="simulate-down").click()
    await user.should_not_see("Redis is unreachable", retries=50)
    assert (await fetch(user, "profile")).startswith("HIT")  # the entry cached before the outage
    await user.should_not_see("Cache degraded", retries=50)
    health = (await user.http_client.get("/api/health")).json()
    assert health["status"] == "ok" and lab.backend_status["redis"] is True
    await user.should_not_see("fakeredis (embedded) · degraded", retries=40)


async def test_invalidate_user_and_everything(user: User) -> None:
    await open_with_users(user)
    await fetch(user, "profile")
    await fetch(user, "score")
    await user.should_see("2 key(s) under qulab:cache:", retries=50)
    user.find(marker="invalidate-user").click()
    await user.should_see("0 key(s) under qulab:cache:", retries=50)
    assert (await fetch(user, "profile")).startswith("MISS")
    await user.should_see("1 key(s) under qulab:cache:", retries=50)
    user.find(marker="invalidate-all").click()
    await user.should_see("0 key(s) under qulab:cache:", retries=50)


async def test_workload_charts_hit_ratio_and_latency(user: User) -> None:
    await open_with_users(user, 50)
    user.find(marker="workload-reads").elements.pop().value = 400
    user.find(marker="run-workload").click()
    await user.should_see("400 reads over 50 users", retries=150)
    await user.should_see("ms predicted", retries=50)
    series = {s["name"]: s["data"] for s in user.find(ui.echart).elements.pop().options["series"]}
    assert [x for x, _ in series["hit ratio"]] == list(range(20, 401, 20))
    assert 0 < series["hit ratio"][-1][1] < 100
    assert all(len(points) == 20 for points in series.values())
    # the note on a cached p95 above the database p95 follows this run's measurement, never shown blindly
    (_, cached_p95), (_, database_p95) = series["cached p95"][-1], series["database p95"][-1]
    if cached_p95 > database_p95:
        await user.should_see("is above the database p95")
    else:
        await user.should_not_see(marker="workload-tail")


async def test_reads_that_are_not_a_whole_number_in_range_are_refused(user: User) -> None:
    await open_with_users(user, 20)
    for bad, message in ((2.5, "(got 2.5)"), (100000, "(got 100,000)"), (None, "(the field is empty)")):
        user.find(marker="workload-reads").elements.pop().value = bad
        user.find(marker="run-workload").click()
        await user.should_see(f"Reads must be a whole number from 1 to 50,000 {message}", retries=50)


async def test_bad_input_is_refused_with_a_message(user: User) -> None:
    await lab_ready()
    await open_caching(user)
    await user.should_see("Load 1,000 sample users")
    user.find(marker="fetch-profile").click()
    await user.should_see("Pick a user first", retries=50)
    user.find(marker="run-workload").click()
    await user.should_see("There are no users: load sample data first", retries=50)


async def test_redis_gone_mid_run_breaks_no_page_and_recovers(user: User) -> None:
    """fakeredis' own connection-error mode for the whole app: every page still renders."""
    lab = await open_with_users(user)
    assert (await fetch(user, "profile")).startswith("MISS")
    lab.redis._server.connected = False  # the embedded server "goes away" for every client
    try:
        for path, title in (("/", "Welcome to QuLab"), ("/models", "1 · Data models"),
                            ("/connectivity", "2 · Connectivity & pooling"), ("/repository", "3 · Repository & N+1"),
                            ("/outbox", "5 · Outbox"), ("/caching", "4 · Caching")):
            await user.open(path)
            await user.should_see(title, retries=50)
        await user.should_see("Redis is unreachable: the keys cannot be listed", retries=50)
        assert (await fetch(user, "profile")).startswith("ERROR")
        assert await picked_email(user) in text_of(user, "profile-result")  # answered by the database
        health = (await user.http_client.get("/api/health")).json()
        assert health["status"] == "degraded" and health["redis"]["ok"] is False
    finally:
        lab.redis._server.connected = True
    await lab.refresh_status()  # what the status timer does every 3 s
    assert lab.backend_status["redis"] is True and not lab.caching.cache.degraded
    assert (await fetch(user, "profile")).startswith("HIT")  # the entry survived the outage
    health = (await user.http_client.get("/api/health")).json()
    assert health["status"] == "ok"


async def test_the_simulate_switch_shows_the_cache_state_after_a_reload(user: User) -> None:
    lab = await lab_ready()
    await open_caching(user)
    assert user.find(marker="simulate-down").elements.pop().value is False
    await lab.caching.simulate_unreachable(True)  # as another tab, or this one before a reload, did
    await user.open("/caching")
    await user.should_see("Redis is unreachable: the keys cannot be listed", retries=50)
    assert user.find(marker="simulate-down").elements.pop().value is True
    await lab.caching.simulate_unreachable(False)
    await until(lambda: user.find(marker="simulate-down").elements.pop().value is False,  # the refresh timer
                message="the switch to follow the cache")


async def test_history_times_are_utc(user: User) -> None:
    import os
    import time
    from datetime import UTC, datetime, timedelta

    zone = os.environ.get("TZ")
    os.environ["TZ"] = "Asia/Kolkata"  # a local time five and a half hours off UTC
    time.tzset()
    try:
        await open_with_users(user)
        await fetch(user, "profile")
    finally:
        if zone is None:
            del os.environ["TZ"]
        else:
            os.environ["TZ"] = zone
        time.tzset()
    history = user.find(marker="cache-history").elements.pop()
    assert history.columns[0]["label"] == "Time (UTC)"
    now = datetime.now(UTC)
    shown = datetime.strptime(history.rows[0]["at"], "%H:%M:%S").replace(year=now.year, month=now.month,
                                                                         day=now.day, tzinfo=UTC)
    assert min(abs(now - shown - timedelta(days=d)) for d in (-1, 0, 1)) < timedelta(minutes=1)
