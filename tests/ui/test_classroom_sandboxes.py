"""A classroom server gives every browser its own lab: one learner's clicks never move another's numbers."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
from nicegui import core
from nicegui.testing import User

from tests.conftest import until


@pytest.fixture(autouse=True)
def classroom_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QULAB_CLASSROOM", "1")  # on loopback, as the classroom bench runs it
    monkeypatch.setenv("QULAB_INSTRUCTOR_TOKEN", "teach-me")


@pytest.fixture
async def another_learner(user: User) -> AsyncIterator[User]:
    """A second browser on the app `user` runs (NiceGUI's create_user would start the app a second time)."""
    async with httpx.AsyncClient(transport=httpx.ASGITransport(core.app), base_url="http://test") as client:
        yield User(client)


def classroom():
    from qulab_gui.lab.current import current_classroom

    room = current_classroom()
    assert room is not None
    return room


async def learners_lab(user: User, path: str, opened_before: int):
    """Open `path` for `user` and return the Lab of the sandbox that visit opened."""
    await user.open(path)
    labs = classroom().labs  # in the order the learners arrived
    assert len(labs) == opened_before + 1
    lab = labs[-1]
    await lab.ready()
    return lab


async def test_one_learner_resets_and_breaks_things_while_the_others_numbers_stay(
        user: User, another_learner: User) -> None:
    alice, bob = user, another_learner
    alice_lab = await learners_lab(alice, "/caching", 0)
    bob_lab = await learners_lab(bob, "/caching", 1)
    assert alice_lab.sandbox.names.stream != bob_lab.sandbox.names.stream
    assert bob_lab.sandbox.names.stream == f"qulab:{bob_lab.sandbox.learner}:events"
    await bob.should_see(f"Your lab · {bob_lab.sandbox.learner}")  # the id the instructor's view lists
    await bob_lab.load_samples(30, 2)

    # Bob reads through his cache twice and measures N+1 on his 30 users.
    await bob.open("/caching")
    await bob.should_see(f"key(s) under qulab:{bob_lab.sandbox.learner}:cache:", retries=50)
    for _ in range(2):
        bob.find(marker="fetch-profile").click()
        await until(lambda: len(bob.find(marker="cache-history").elements.pop().rows) >= 1)
    await until(lambda: bob_lab.caching.cache.totals().hits == 1)
    await bob.open("/repository")
    bob.find(marker="n").elements.pop().value = 30
    bob.find(marker="run-all").click()
    await bob.should_see("Measured 4 strategies for N = 30", retries=100)
    bob_rows = [r["statements"] for r in bob.find(marker="results-table").elements.pop().rows]
    assert bob_rows == [61, 3, 1, 1]
    bob_totals = bob_lab.caching.cache.totals()

    # Alice loads users, invalidates everything, takes Redis and the broker down, resets her database.
    await alice.open("/caching")
    alice.find(marker="load-users").click()
    await alice.should_see("Loaded 1,000 users", retries=200)
    alice.find(marker="invalidate-all").click()
    alice.find(marker="simulate-down").elements.pop().value = True
    await until(lambda: alice_lab.caching.simulating_unreachable)
    await alice.open("/outbox")
    alice.find(marker="outbox-broker-down").elements.pop().value = True
    await until(lambda: alice_lab.outbox.faults.broker_down)
    await alice.open("/models")
    alice.find(marker="reset-open").click()
    alice.find(marker="reset-confirm").click()
    await until(lambda: alice_lab.is_busy("Resetting the database"))
    await until(lambda: not alice_lab.is_busy("Resetting the database"))

    # Bob's data, counters, keys and switches did not move; his next measurement is the same.
    assert (await bob_lab.count_rows()).users == 30
    assert bob_lab.caching.cache.totals() == bob_totals
    assert (await bob_lab.caching.entries()).total == 1
    assert not bob_lab.caching.simulating_unreachable and not bob_lab.outbox.faults.broker_down
    await bob.open("/repository")
    bob.find(marker="n").elements.pop().value = 30
    bob.find(marker="run-all").click()
    await bob.should_see("Measured 4 strategies for N = 30", retries=100)
    assert [r["statements"] for r in bob.find(marker="results-table").elements.pop().rows] == bob_rows
    assert (await alice_lab.count_rows()).users == 0  # her reset did happen, in her sandbox only


async def test_health_counts_the_learners_and_sums_their_outboxes(user: User, another_learner: User) -> None:
    first = await learners_lab(user, "/outbox", 0)
    await learners_lab(another_learner, "/outbox", 1)
    await first.load_samples(3)
    await first.outbox.calculate_score((await first.list_users())[0].id)

    async def health() -> dict:
        response = await user.http_client.get("/api/health")
        assert response.status_code == 200
        return response.json()

    # answered from the room's snapshot, which a timer refreshes every 2 s: wait for one that has both
    async def both_counted() -> bool:
        outbox = (await health())["outbox"]
        return outbox["sandboxes_counted"] == 2 and outbox["pending"] + outbox["published"] == 1

    await until(both_counted, timeout_s=10)
    answer = await health()
    assert answer["learners"] == 2 and answer["classroom"]["max"] == 60 and answer["checked_at"]
    assert answer["outbox"]["pending"] + answer["outbox"]["published"] == 1  # the one score event, first's


async def test_the_instructor_sees_the_learners_and_resets_one(user: User, another_learner: User) -> None:
    alice = await learners_lab(user, "/models", 0)
    bob = await learners_lab(another_learner, "/models", 1)
    await alice.load_samples(5)
    await bob.load_samples(7)
    instructor = another_learner  # any browser with the key
    await instructor.open("/instructor?key=wrong")
    await instructor.should_see("That key is not the instructor key.")
    await instructor.open("/instructor?key=teach-me")
    await instructor.should_see("2 of 60 sandboxes open")
    rows = instructor.find(marker="learners").elements.pop().rows
    assert {row["learner"] for row in rows} == {alice.sandbox.learner, bob.sandbox.learner}
    assert len(classroom().labs) == 2  # the instructor's page opened no sandbox of its own
    await classroom().reset(alice.sandbox.learner)
    assert (await alice.count_rows()).users == 0
    assert (await bob.count_rows()).users == 7


async def test_a_reset_stops_the_learners_own_run_with_a_message(user: User) -> None:
    from qulab_gui.lab.runs import Interrupted

    lab = await learners_lab(user, "/repository", 0)
    await lab.load_samples(100, 5)
    lab.set_latency(5)  # 5 ms per statement: lazy loading's 201 statements take over a second
    run = asyncio.create_task(lab.nplus1.measure(["lazy"], 100))
    await until(lambda: lab.is_busy("The N+1 measurement"))
    await lab.reset_database()
    with pytest.raises(Interrupted, match="The N\\+1 measurement was stopped: the database was reset"):
        await run
    assert not lab.is_busy("The N+1 measurement")
    assert (await lab.count_rows()).users == 0
