"""The classroom's sandboxes: opened on first visit, closed when idle with no tab, reopened with their data, capped."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import pytest

from qulab_gui.lab.classroom import Classroom, ClassroomFull
from qulab_gui.settings import load_settings

ALICE, BOB, CAROL = "a1a1a1a1a1a1", "b2b2b2b2b2b2", "c3c3c3c3c3c3"


@dataclass
class FakeTimer:
    interval: float
    active: bool = True
    canceled: bool = False

    def cancel(self) -> None:
        self.canceled = True


class Room:
    """A Classroom with a clock, timers and connected tabs the test controls."""

    def __init__(self, tmp_path, max_learners: int = 60) -> None:
        self.now = 0.0
        self.tabs: set[str] = set()
        self.timers: list[FakeTimer] = []
        self.tasks: list[asyncio.Task] = []
        settings = load_settings(["--data-dir", str(tmp_path), "--redis-url", "fake", "--classroom",
                                  "--max-learners", str(max_learners)], env={})
        self.classroom = Classroom(settings, self.start_timer, self.run, self.tabs.__contains__, lambda: self.now)

    def start_timer(self, interval, callback) -> FakeTimer:
        self.timers.append(FakeTimer(interval))
        return self.timers[-1]

    def run(self, coroutine) -> None:
        self.tasks.append(asyncio.ensure_future(coroutine))

    async def settle(self) -> None:
        await asyncio.gather(*self.tasks)


@pytest.fixture
async def room(tmp_path):
    room = Room(tmp_path)
    yield room
    await room.classroom.stop()
    await room.settle()


async def test_an_idle_sandbox_is_closed_only_once_no_tab_shows_it_and_reopens_with_its_data(room: Room) -> None:
    room.tabs.add("tab-1")
    lab = room.classroom.lab_for(ALICE, "tab-1")
    await lab.ready()
    await lab.load_samples(4)
    assert room.classroom.lab_for(ALICE) is lab  # the same sandbox on every visit

    room.now += 31 * 60
    assert await room.classroom.close_idle() == 0  # a tab is still open: it stays
    room.tabs.clear()
    assert await room.classroom.close_idle() == 1
    await room.settle()
    assert all(timer.canceled for timer in room.timers)
    assert room.classroom.open_count == 0

    reopened = room.classroom.lab_for(ALICE)
    assert reopened is not lab
    await reopened.ready()
    assert (await reopened.count_rows()).users == 4  # the file stayed: the data is back
    assert [row.learner for row in await room.classroom.summaries()] == [ALICE]


async def test_a_full_classroom_makes_room_from_idle_sandboxes_or_refuses(tmp_path) -> None:
    room = Room(tmp_path, max_learners=2)
    room.tabs.update({"alice-tab", "bob-tab"})
    room.classroom.lab_for(ALICE, "alice-tab")
    room.classroom.lab_for(BOB, "bob-tab")
    with pytest.raises(ClassroomFull, match="The classroom is full: 2 learners are working"):
        room.classroom.lab_for(CAROL, "carol-tab")
    room.tabs.discard("alice-tab")  # Alice closed her tab: her sandbox can make room
    room.classroom.lab_for(CAROL, "carol-tab")
    assert room.classroom.open_count == 2
    assert {row.learner for row in await room.classroom.summaries() if row.open} == {BOB, CAROL}
    await room.classroom.stop()
    await room.settle()


async def _drop_learner_schemas(database_url: str) -> None:
    """The test PostgreSQL is shared across runs: start from no learner schema."""
    from sqlalchemy import text

    from qulab_gui.data import database

    engine = database.create_engine(database_url)
    async with engine.begin() as conn:
        for learner in (ALICE, BOB):
            await conn.execute(text(f'DROP SCHEMA IF EXISTS "qulab_{learner}" CASCADE'))
    await engine.dispose()


async def test_two_learners_on_one_server_share_no_table_key_or_stream(tmp_path, database_url, redis_conn) -> None:
    if database_url.startswith("postgresql"):
        await _drop_learner_schemas(database_url)
    redis_url = redis_conn.url if redis_conn.backend == "redis" else "fake"
    settings = load_settings(["--data-dir", str(tmp_path / "room"), "--database-url", database_url,
                              "--redis-url", redis_url, "--classroom"], env={})
    room = Room(tmp_path)
    room.classroom = Classroom(settings, room.start_timer, room.run, room.tabs.__contains__, lambda: room.now)
    alice, bob = room.classroom.lab_for(ALICE), room.classroom.lab_for(BOB)
    await asyncio.gather(alice.ready(), bob.ready())
    assert (alice.sandbox.schema, bob.sandbox.schema) == ((f"qulab_{ALICE}", f"qulab_{BOB}")
                                                          if database_url.startswith("postgresql") else (None, None))
    await alice.load_samples(3)
    await bob.load_samples(5)
    user_id = (await alice.list_users())[0].id
    await alice.caching.read("profile", user_id)
    await alice.outbox.calculate_score(user_id)
    await alice.outbox.publish_now()

    assert (await alice.count_rows()).users == 3 and (await bob.count_rows()).users == 5
    assert len(await alice.outbox.stream_tail()) == 1 and await bob.outbox.stream_tail() == []
    assert (await alice.caching.entries()).total == 1 and (await bob.caching.entries()).total == 0
    await alice.reset_database()
    assert (await alice.count_rows()).users == 0 and (await bob.count_rows()).users == 5
    await room.classroom.stop()
    await room.settle()


async def test_an_idle_outbox_rests_until_a_commit_wakes_the_publisher_and_a_batch_the_consumer(room: Room) -> None:
    lab = room.classroom.lab_for(ALICE)
    await lab.ready()
    outbox = lab.outbox
    assert (await outbox.publish_tick()).claimed == 0  # an empty outbox: the publisher rests
    await outbox.consume_tick()  # an empty stream: the consumer rests
    assert await outbox.publish_tick() is None  # resting: not even a claim

    await lab.load_samples(2)
    first, second = [user.id for user in await lab.list_users()]
    await outbox.calculate_score(first)
    assert (await outbox.publisher.drain()).published == 1  # behind the lab's back: nobody wakes the consumer
    await outbox.consume_tick()
    assert (await outbox.consumer_state()).applied == 0  # still resting

    await outbox.calculate_score(second)  # the commit wakes the publisher
    assert (await outbox.publish_tick()).published == 1  # and its batch wakes the consumer
    await outbox.consume_tick()
    assert (await outbox.consumer_state()).applied == 2
