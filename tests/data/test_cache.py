"""The read-through cache on fakeredis and (with QULAB_TEST_REDIS_URL) a real Redis server: counting,
invalidation that follows the transaction, single-flight, negative caching, TTL expiry, fail-open
and recovery when Redis comes back.
"""

from __future__ import annotations

import asyncio
import shutil
import signal
import socket
import subprocess
import time

import pytest
from redis.asyncio import Redis
from sqlalchemy import select

from qulab_gui.data import redis_client, samples, score_calculation
from qulab_gui.data.cache import (
    BYPASS,
    ERROR,
    HIT,
    MISS,
    PROFILE,
    SCORE,
    CachedUserRepository,
    CachePolicy,
    cache_client,
    key_for,
)
from qulab_gui.data.errors import SimulatedFailure, ValidationError
from qulab_gui.data.models import AIRScore, User, utcnow
from qulab_gui.data.profile_edits import update_profile
from qulab_gui.data.unit_of_work import UnitOfWork
from qulab_gui.data.workload import WorkloadSpec, run_workload, zipf_sequence
from qulab_gui.net import free_port
from tests.conftest import until


class Clock:
    """An injectable monotonic clock for the circuit breaker."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def add_users(sessions, n: int, scores_per_user: int = 1, *, counted_from=None) -> list[str]:
    """Load sample users; with `counted_from=cache`, that cache's counters start after the load."""
    async with sessions() as session:
        await samples.load_samples(session, n, scores_per_user)
    if counted_from is not None:
        await counted_from.reset_stats()  # the load's own invalidations are not the test's
    async with sessions() as session:
        return list(await session.scalars(select(User.id).order_by(User.email)))


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def cache(sessions, redis_conn, clock):
    cached = CachedUserRepository(cache_client(redis_conn), sessions, CachePolicy(jitter=0.1),
                                  backend=redis_conn.backend, clock=clock)
    yield cached
    await cached.close()


async def test_miss_then_hit_counted_per_family(cache, sessions, redis_conn) -> None:
    [user_id] = await add_users(sessions, 1)
    first, second = await cache.profile(user_id), await cache.profile(user_id)
    assert (first.outcome, second.outcome) == (MISS, HIT)
    assert first.value == second.value == await cache.from_database(PROFILE, user_id)
    assert first.value["id"] == user_id
    score = await cache.latest_score(user_id)
    assert score.outcome == MISS and score.value["user_id"] == user_id

    profile, scores = cache.stats[PROFILE], cache.stats[SCORE]
    assert (profile.hits, profile.misses, profile.loads, profile.hit_ratio) == (1, 1, 1, 0.5)
    assert (scores.hits, scores.misses, scores.loads) == (0, 1, 1)
    assert cache.totals().misses == 2
    ttl_ms = await redis_conn.client.pttl(key_for(PROFILE, user_id))
    assert 300_000 * 0.9 - 1000 <= ttl_ms <= 300_000 * 1.1  # the TTL carries ±10 % jitter


async def test_ttl_jitter_spreads_expiry(sessions, redis_conn) -> None:
    user_ids = await add_users(sessions, 20)
    cache = CachedUserRepository(cache_client(redis_conn), sessions, CachePolicy(ttl_s=100, jitter=0.2))
    for user_id in user_ids:
        await cache.profile(user_id)
    ttls = [await redis_conn.client.pttl(key_for(PROFILE, u)) for u in user_ids]
    assert all(80_000 - 1000 <= t <= 120_000 for t in ttls)
    assert max(ttls) - min(ttls) > 5_000  # not all expiring in the same instant
    await cache.close()


async def test_no_score_yet_is_cached_negatively_with_short_ttl(cache, sessions, redis_conn) -> None:
    [user_id] = await add_users(sessions, 1, scores_per_user=0)
    first, second = await cache.latest_score(user_id), await cache.latest_score(user_id)
    assert (first.outcome, first.value) == (MISS, None)
    assert (second.outcome, second.value) == (HIT, None)
    stats = cache.stats[SCORE]
    assert (stats.loads, stats.hits, stats.negative_hits) == (1, 1, 1)
    ttl_ms = await redis_conn.client.pttl(key_for(SCORE, user_id))
    assert 0 < ttl_ms <= 30_000 * 1.1  # the negative TTL, not the 300 s one

    missing = await cache.profile("no-such-user")
    assert (missing.outcome, missing.value) == (MISS, None)
    assert (await cache.profile("no-such-user")).outcome == HIT


async def test_entries_expire_after_their_ttl(sessions, redis_conn) -> None:
    [user_id] = await add_users(sessions, 1)
    cache = CachedUserRepository(cache_client(redis_conn), sessions, CachePolicy(ttl_s=0.4, jitter=0))
    assert (await cache.profile(user_id)).outcome == MISS
    assert (await cache.profile(user_id)).outcome == HIT
    listing = await cache.entries()
    assert [e.key for e in listing.entries] == [key_for(PROFILE, user_id)]
    assert 0 < listing.entries[0].ttl_s <= 0.4

    async def expired() -> bool:
        return not await redis_conn.client.exists(key_for(PROFILE, user_id))

    await until(expired, message="Redis to expire the entry after its TTL")
    assert (await cache.profile(user_id)).outcome == MISS
    assert cache.stats[PROFILE].loads == 2
    await cache.close()


async def write_score(sessions, user_id: str, *, fail: bool = False) -> str:
    """A new latest score through a unit of work that knows nothing about the cache."""
    async with UnitOfWork(sessions) as uow:
        latest = await uow.scores.latest_for(user_id)
        score = uow.scores.add(AIRScore(
            user_id=user_id, air_score=latest.air_score + 1, vr_score=latest.vr_score, hr_score=latest.hr_score,
            synergy_score=latest.synergy_score, ci_lower=latest.ci_lower, ci_upper=latest.ci_upper,
            parameter_version=latest.parameter_version, created_at=utcnow()))
        await uow.session.flush()
        if fail:
            raise SimulatedFailure("rolled back on purpose")
        await uow.commit()
        return score.id


async def test_write_invalidates_after_commit_so_no_stale_read(cache, sessions, redis_conn) -> None:
    [user_id] = await add_users(sessions, 1, counted_from=cache)
    before = (await cache.profile(user_id)).value
    assert (await cache.profile(user_id)).outcome == HIT
    new_years = (before["years_experience"] + 7) % 70

    await update_profile(sessions, user_id, years_experience=new_years)
    after = await cache.profile(user_id)
    assert after.outcome == MISS
    assert after.value["years_experience"] == new_years
    assert cache.stats[SCORE].invalidations == 0  # a profile edit leaves the cached score alone

    old_score = (await cache.latest_score(user_id)).value
    written = await write_score(sessions, user_id)
    fresh = await cache.latest_score(user_id)
    assert fresh.outcome == MISS and fresh.value["id"] == written != old_score["id"]


async def test_outbox_score_write_invalidates_the_cached_score(cache, sessions) -> None:
    [user_id] = await add_users(sessions, 1, counted_from=cache)
    await cache.latest_score(user_id)
    await score_calculation.record_score(sessions, user_id)  # lab 5's score + event write
    assert cache.stats[SCORE].invalidations == 1
    fresh = await cache.latest_score(user_id)
    assert fresh.outcome == MISS and fresh.value == await cache.from_database(SCORE, user_id)


async def test_deleting_a_user_invalidates_profile_and_score(cache, sessions) -> None:
    [user_id] = await add_users(sessions, 1)
    await cache.profile(user_id)
    await cache.latest_score(user_id)
    async with UnitOfWork(sessions) as uow:
        await uow.users.delete(await uow.users.get(user_id))
        await uow.commit()
    assert (await cache.profile(user_id)).value is None
    assert (await cache.latest_score(user_id)).value is None


async def test_rollback_invalidates_nothing(cache, sessions, redis_conn) -> None:
    [user_id] = await add_users(sessions, 1, counted_from=cache)
    cached = (await cache.profile(user_id)).value
    score = (await cache.latest_score(user_id)).value
    raw = await redis_conn.client.get(key_for(PROFILE, user_id))

    with pytest.raises(SimulatedFailure):
        await update_profile(sessions, user_id, name="Never Written", fail_before_commit=True)
    with pytest.raises(SimulatedFailure):
        await write_score(sessions, user_id, fail=True)
    async with UnitOfWork(sessions) as uow:  # leaving without commit() is a rollback too
        (await uow.users.get(user_id)).name = "Also Never Written"
        await uow.session.flush()

    assert await redis_conn.client.get(key_for(PROFILE, user_id)) == raw
    assert cache.stats[PROFILE].invalidations == cache.stats[SCORE].invalidations == 0
    assert await cache.from_database(PROFILE, user_id) == cached  # the database agrees: nothing written
    assert (await cache.profile(user_id)).outcome == HIT
    assert (await cache.latest_score(user_id)).value == score


async def test_bad_edit_is_refused_before_any_write(sessions) -> None:
    [user_id] = await add_users(sessions, 1)
    for bad in ({"years_experience": -1}, {"years_experience": "many"}, {"years_experience": 2.5},
                {"name": "  "}, {"name": "x" * 121}, {}):
        with pytest.raises(ValidationError):
            await update_profile(sessions, user_id, **bad)
    with pytest.raises(ValidationError):
        await update_profile(sessions, "no-such-user", name="Someone")


async def test_concurrent_misses_load_once(cache, sessions, recorder, monkeypatch) -> None:
    [user_id] = await add_users(sessions, 1)
    release = asyncio.Event()
    real_load = cache.from_database

    async def held_load(family: str, uid: str):  # the load waits until every read has missed
        await release.wait()
        return await real_load(family, uid)

    monkeypatch.setattr(cache, "from_database", held_load)
    statements = recorder.total
    reads = asyncio.gather(*(cache.latest_score(user_id) for _ in range(50)))
    await until(lambda: cache.stats[SCORE].misses == 50)  # without the hold, a fast load lets late GETs hit
    release.set()
    lookups = await reads
    assert recorder.total - statements == 1  # one SELECT, counted by the engine
    stats = cache.stats[SCORE]
    assert (stats.misses, stats.hits, stats.loads, stats.coalesced) == (50, 0, 1, 49)  # all waited for one load
    assert len({lookup.value["id"] for lookup in lookups}) == 1


async def test_load_racing_an_invalidation_is_not_written_back(cache, sessions, redis_conn, monkeypatch) -> None:
    [user_id] = await add_users(sessions, 1)
    release = asyncio.Event()
    loaded: list[dict] = []
    real_load = cache.from_database

    async def slow_load(family: str, uid: str):
        value = await real_load(family, uid)  # read before the write commits...
        loaded.append(value)
        await release.wait()
        return value

    monkeypatch.setattr(cache, "from_database", slow_load)
    reader = asyncio.ensure_future(cache.profile(user_id))
    await until(lambda: len(loaded) == 1)
    await update_profile(sessions, user_id, name="Renamed Meanwhile")  # ...and commits + invalidates meanwhile
    late_reader = asyncio.ensure_future(cache.profile(user_id))
    await until(lambda: len(loaded) == 2)  # a load of its own: it did not join the outdated one
    release.set()
    old, new = await reader, await late_reader
    assert old.value["name"] != "Renamed Meanwhile"
    assert new.value["name"] == "Renamed Meanwhile"
    stats = cache.stats[PROFILE]
    assert (stats.loads, stats.stale) == (2, 1)
    assert (await cache.profile(user_id)).value["name"] == "Renamed Meanwhile"  # the old row never got cached


async def test_cancelled_loader_does_not_fail_its_waiters(cache, sessions, monkeypatch) -> None:
    [user_id] = await add_users(sessions, 1)
    real_load = cache.from_database
    gate = asyncio.Event()
    entered: list[str] = []

    async def gated_load(family: str, uid: str):
        entered.append(uid)
        await gate.wait()
        return await real_load(family, uid)

    monkeypatch.setattr(cache, "from_database", gated_load)
    leader = asyncio.ensure_future(cache.profile(user_id))
    await until(lambda: len(entered) == 1)
    waiter = asyncio.ensure_future(cache.profile(user_id))
    await until(lambda: cache.stats[PROFILE].coalesced == 1)
    leader.cancel()
    await until(lambda: len(entered) == 2)  # the waiter took the load over
    gate.set()
    assert (await waiter).value["id"] == user_id
    assert leader.cancelled()


async def test_invalidate_all_leaves_other_qulab_keys(cache, sessions, redis_conn) -> None:
    user_ids = await add_users(sessions, 3)
    for user_id in user_ids:
        await cache.profile(user_id)
        await cache.latest_score(user_id)
    await redis_conn.client.xadd("qulab:events", {"event_id": "e1"})
    assert (await cache.entries()).total == 6
    assert await cache.invalidate(user_ids[0]) == 2
    assert await cache.invalidate_all() == 4
    assert (await cache.entries()).total == 0
    assert await redis_conn.client.xlen("qulab:events") == 1


async def test_workload_hit_ratio_is_one_minus_first_reads(cache, sessions) -> None:
    user_ids = await add_users(sessions, 100)
    spec = WorkloadSpec(reads=1000, skew=1.0, seed=3, steps=5)
    points = []
    result = await run_workload(cache, user_ids, spec, on_progress=points.append)
    distinct = len(set(zipf_sequence(user_ids, 1000, 1.0, __import__("random").Random(3))))
    assert (result.hits, result.misses) == (1000 - distinct, distinct)  # a cold cache misses once per user
    assert result.hits == cache.stats[SCORE].hits
    assert [p.reads for p in points] == [200, 400, 600, 800, 1000]
    assert len(result.database_s) == 1000 and result.t_avg_predicted_ms is not None
    with pytest.raises(ValueError):
        await run_workload(cache, user_ids, WorkloadSpec(reads=0))


def test_zipf_sequence_is_skewed_and_seeded() -> None:
    import random

    items = [f"u{i}" for i in range(100)]
    first = zipf_sequence(items, 5000, 1.0, random.Random(1))
    assert first == zipf_sequence(items, 5000, 1.0, random.Random(1))
    counts = sorted((first.count(i) for i in set(first)), reverse=True)
    assert counts[0] > 10 * 5000 / 100  # the most popular user gets far more than a uniform share
    uniform = zipf_sequence(items, 5000, 0.0, random.Random(1))
    assert max(uniform.count(i) for i in items) < 3 * 5000 / 100


async def test_server_counters_on_real_redis(cache, sessions, redis_conn) -> None:
    [user_id] = await add_users(sessions, 1)
    await cache.reset_stats()
    for _ in range(4):
        await cache.profile(user_id)
    counters = await cache.server_counters()
    if redis_conn.backend == "fakeredis":
        assert counters is None  # fakeredis has no INFO
    else:  # server-wide counters: at least ours
        assert counters.keyspace_hits >= 3 and counters.keyspace_misses >= 1


# -- Redis going away and coming back --------------------------------------------------------------


class RedisServer:
    """A redis-server process of this test's own, on a free port, to kill, pause and restart."""

    def __init__(self) -> None:
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.02)
        raise RuntimeError("redis-server did not start")

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGCONT)
            self.process.kill()
            self.process.wait()


OUTAGES = [
    pytest.param("fakeredis", id="fakeredis-disconnected"),
    pytest.param("killed", id="redis-server-killed", marks=pytest.mark.skipif(
        not shutil.which("redis-server"), reason="no redis-server binary")),
    pytest.param("paused", id="redis-server-paused", marks=pytest.mark.skipif(
        not shutil.which("redis-server"), reason="no redis-server binary")),
]


@pytest.mark.parametrize("outage", OUTAGES)
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_redis_down_mid_run_then_back(outage: str, sessions, clock: Clock) -> None:
    server = None
    if outage == "fakeredis":
        connection = redis_client.fake_connection("test")
    else:
        server = RedisServer()
        server.start()
        connection = await redis_client.connect(f"redis://127.0.0.1:{server.port}/0")
        assert connection.backend == "redis"

    def go_down() -> None:
        if outage == "fakeredis":
            connection._server.connected = False  # fakeredis' own "connection error" mode; data stays
        elif outage == "killed":
            server.kill()
        else:
            server.process.send_signal(signal.SIGSTOP)  # hung: every command times out; data stays

    def come_back() -> None:
        if outage == "fakeredis":
            connection._server.connected = True
        elif outage == "killed":
            server.start()
        else:
            server.process.send_signal(signal.SIGCONT)

    cache = CachedUserRepository(cache_client(connection), sessions, backend=connection.backend, clock=clock)
    observer = Redis(host="127.0.0.1", port=server.port, decode_responses=True) if server else connection.client
    try:
        [user_id] = await add_users(sessions, 1)
        assert [(await cache.profile(user_id)).outcome for _ in range(2)] == [MISS, HIT]

        go_down()
        failed = await cache.profile(user_id)
        assert (failed.outcome, failed.value["id"]) == (ERROR, user_id)  # served by the database
        assert cache.degraded and cache.stats[PROFILE].errors == 1 and cache.last_error
        assert (await cache.profile(user_id)).outcome == BYPASS  # breaker open: no second timeout
        assert cache.stats[PROFILE].bypassed == 1
        await update_profile(sessions, user_id, name="Written During Outage")  # commits; the DEL cannot reach Redis
        assert cache.pending_invalidations == 1
        during = await cache.profile(user_id)
        assert (during.outcome, during.value["name"]) == (BYPASS, "Written During Outage")
        assert await cache.check() is False

        come_back()
        clock.now += cache.policy.retry_after_s + 0.1
        back = await cache.profile(user_id)
        assert back.outcome == MISS  # the stale entry was deleted before Redis was trusted again
        assert back.value["name"] == "Written During Outage"
        assert (await cache.profile(user_id)).outcome == HIT
        assert not cache.degraded and cache.pending_invalidations == 0 and cache.last_error is None
        assert await observer.exists(key_for(PROFILE, user_id)) == 1
    finally:
        await cache.close()
        await connection.close()
        if server is not None:
            await observer.aclose()
            server.kill()


async def test_unreachable_client_fails_open_and_switches_back(cache, sessions) -> None:
    from qulab_gui.lab.caching import unreachable_client

    [user_id] = await add_users(sessions, 1)
    await cache.profile(user_id)
    unreachable = unreachable_client()
    cache.use_client(unreachable)
    lookup = await cache.profile(user_id)
    assert (lookup.outcome, lookup.value["id"]) == (ERROR, user_id)
    assert await cache.check() is False and cache.degraded
    assert await cache.entries() is None
    cache.use_client(None)
    await unreachable.aclose()
    assert (await cache.profile(user_id)).outcome == HIT  # no wait for the breaker after switching back
    assert await cache.check() is True and not cache.degraded
