"""Every writer of the app goes through a unit of work, so the cache never serves what a write made
stale: fetch (HIT), write through the app's real path, fetch again (MISS with the new value).
Also: a write that times out on SQLite's lock is a clear message, not a traceback.
"""

from __future__ import annotations

import asyncio
import uuid

import pytest
from sqlalchemy import select

from qulab_gui.data import database, profile_edits, samples, score_calculation, users
from qulab_gui.data.cache import HIT, MISS, PROFILE, SCORE, CachedUserRepository, CachePolicy, cache_client, key_for
from qulab_gui.data.errors import ValidationError
from qulab_gui.data.models import User


@pytest.fixture
async def cache(sessions, redis_conn):
    cached = CachedUserRepository(cache_client(redis_conn), sessions, CachePolicy(), backend=redis_conn.backend)
    yield cached
    await cached.close()


async def warm(cache: CachedUserRepository, family: str, user_id: str) -> dict | None:
    await cache.read(family, user_id)
    second = await cache.read(family, user_id)
    assert second.outcome == HIT
    return second.value


async def first_user(sessions) -> str:
    async with sessions() as session:
        return (await session.scalars(select(User.id).order_by(User.email).limit(1))).one()


async def test_delete_user_drops_profile_and_score(cache, sessions) -> None:
    async with sessions() as session:
        await samples.load_samples(session, 2)
    user_id = await first_user(sessions)
    assert (await warm(cache, PROFILE, user_id))["id"] == user_id
    assert (await warm(cache, SCORE, user_id))["user_id"] == user_id

    async with sessions() as session:
        deleted = await users.delete_user(session, user_id)
    assert (deleted.assessments, deleted.scores) == (3, 1)

    profile, score = await cache.profile(user_id), await cache.latest_score(user_id)
    assert (profile.outcome, profile.value) == (MISS, None)
    assert (score.outcome, score.value) == (MISS, None)


async def test_create_user_is_announced_to_the_cache(cache, sessions) -> None:
    new = users.NewUser.parse("ada@example.org", "Ada", "15-1252", "doctorate", 3)
    before = cache.stats[PROFILE].invalidations
    async with sessions() as session:
        user = await users.create_user(session, new)
    assert cache.stats[PROFILE].invalidations == before + 1
    lookup = await cache.profile(user.id)
    assert lookup.outcome == MISS and lookup.value["email"] == "ada@example.org"


async def test_add_scores_drops_every_users_latest_score(cache, sessions) -> None:
    async with sessions() as session:
        await samples.load_samples(session, 3)
    user_id = await first_user(sessions)
    old = await warm(cache, SCORE, user_id)

    async with sessions() as session:
        assert await samples.add_scores(session, 2) == 6

    fresh = await cache.latest_score(user_id)
    assert fresh.outcome == MISS
    assert fresh.value == await cache.from_database(SCORE, user_id) and fresh.value["id"] != old["id"]


async def test_load_samples_drops_the_keys_of_the_users_it_inserted(cache, sessions, monkeypatch) -> None:
    """Asking for a user before it exists caches "nothing" (negative caching): the load must drop that."""
    ids = [str(uuid.uuid4()) for _ in range(20)]
    monkeypatch.setattr(samples, "new_id", iter(ids).__next__)  # the load's first id is its first user's
    user_id = ids[0]
    assert await warm(cache, PROFILE, user_id) is None
    assert await warm(cache, SCORE, user_id) is None

    async with sessions() as session:
        await samples.load_samples(session, 1, 1)

    profile, score = await cache.profile(user_id), await cache.latest_score(user_id)
    assert profile.outcome == MISS and profile.value["id"] == user_id
    assert score.outcome == MISS and score.value == await cache.from_database(SCORE, user_id)


async def test_an_invalidation_added_during_a_flush_is_kept(cache, sessions, redis_conn) -> None:
    """_flush_invalidations deletes a snapshot; a key remembered meanwhile must survive for the next flush."""
    first, late = key_for(PROFILE, "u-first"), key_for(PROFILE, "u-late")
    cache.pending.keys.add(first)
    real_delete = cache.client.delete

    async def delete_while_another_write_fails(*keys):
        cache.pending.keys.add(late)  # an invalidation that could not reach Redis during our await
        await asyncio.sleep(0)
        return await real_delete(*keys)

    cache.client.delete = delete_while_another_write_fails
    try:
        assert await cache._flush_invalidations()
    finally:
        del cache.client.delete
    assert cache.pending.keys == {late}


WRITERS = {
    "create user": lambda sessions, user_id: users.create_user(
        sessions, users.NewUser.parse("ada@example.org", "Ada", "15-1252", "doctorate", 3)),
    "delete user": lambda sessions, user_id: users.delete_user(sessions, user_id),
    "calculate score": lambda sessions, user_id: score_calculation.record_score(sessions, user_id),
    "burst": lambda sessions, user_id: score_calculation.record_burst(sessions, 2, seed=1),
    "edit profile": lambda sessions, user_id: profile_edits.update_profile(sessions, user_id, name="Grace"),
}


@pytest.mark.parametrize("writer", WRITERS)
async def test_a_write_blocked_by_a_long_lock_is_a_clear_message(tmp_path, writer: str) -> None:
    """SQLite: another connection holds the write lock past busy_timeout -> ValidationError, no traceback."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'busy.db'}"
    engine = database.create_engine(url, database.PoolSettings(size=1, max_overflow=0))
    holder = database.create_engine(url)
    try:
        await database.reset(engine)
        async with engine.connect() as conn:  # the pool's one connection: wait 50 ms, not 5 s, for the lock
            await conn.exec_driver_sql("PRAGMA busy_timeout=50")
        sessions = database.create_session_factory(engine)
        await samples.load_samples(sessions, 2)
        user_id = await first_user(sessions)
        async with holder.connect() as lock:
            await lock.exec_driver_sql("BEGIN IMMEDIATE")  # what a long sample load holds
            with pytest.raises(ValidationError, match="The database is busy .*try again in a moment"):
                await WRITERS[writer](sessions, user_id)
            await lock.rollback()
        await WRITERS[writer](sessions, user_id)  # once the lock is gone the same write succeeds
    finally:
        await engine.dispose()
        await holder.dispose()


def test_sample_batches_are_sized_in_rows() -> None:
    assert samples.users_per_batch(5) == samples.ROWS_PER_BATCH // 5  # 1 user + 3 assessments + 1 score
    assert samples.ROWS_PER_BATCH - 54 < samples.users_per_batch(54) * 54 <= samples.ROWS_PER_BATCH
    assert samples.users_per_batch(10 * samples.ROWS_PER_BATCH) == 1  # never an empty batch
