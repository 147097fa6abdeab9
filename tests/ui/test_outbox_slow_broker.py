"""The running app through two broker troubles that are not outages of the app: a Redis that stops
answering (`CLIENT PAUSE` for 8 s, twice) while /api/health keeps answering within a second, and the
broker-down switch held for a full minute on fakeredis while the breaker is visible on page and
health. Events are committed at 50/s throughout; afterwards nothing is lost, charged or reordered.

Slow by nature (about a minute and a half): the pauses and the hold are real wall time.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import pytest
from nicegui.testing import User

from qulab_gui.bench.outbox_outage import Producer
from qulab_gui.bench.redis_server import RedisServer
from tests.conftest import until
from tests.data.outage import (
    RECOVERY_S,
    assert_consumer_caught_up,
    assert_nothing_lost_charged_or_reordered,
    pending,
    private_server,
)
from tests.ui.conftest import lab_ready

PAUSE_S = 8.0
FAKE_DRAIN_S = 30.0


@pytest.fixture
def server(tmp_path) -> Iterator[RedisServer]:
    yield from private_server(tmp_path)


@pytest.fixture
def app_redis(server: RedisServer, monkeypatch: pytest.MonkeyPatch) -> RedisServer:
    """The app started by the `user` fixture talks to the private server (requested before `user`)."""
    monkeypatch.setenv("QULAB_REDIS_URL", server.url)
    return server


async def drained_within(sessions, seconds: float) -> None:
    async def nothing_pending() -> bool:
        return await pending(sessions) == 0

    await until(nothing_pending, seconds, message=f"the backlog to drain within {seconds:g} s")


async def test_a_paused_redis_is_a_transport_failure_and_health_answers_within_a_second(
        app_redis: RedisServer, user: User) -> None:
    lab = await lab_ready()
    assert lab.redis.backend == "redis" and lab.outbox.running
    producer = Producer(lab.sessions).start()
    await asyncio.sleep(1.0)
    answers: list[tuple[float, str, str]] = []  # (seconds to answer, status, breaker) while paused
    for _ in range(2):
        await asyncio.to_thread(app_redis.pause, PAUSE_S)
        resumes = time.monotonic() + PAUSE_S
        while time.monotonic() < resumes - 0.5:
            began = time.monotonic()
            response = await user.http_client.get("/api/health")
            answers.append((time.monotonic() - began, response.json()["status"], response.json()["outbox"]["breaker"]))
            await asyncio.sleep(0.25)
        await asyncio.sleep(max(0.0, resumes - time.monotonic()) + 2.0)  # answering again for 2 s
    rows = await producer.stop()

    assert max(took for took, _, _ in answers) < 1.0, answers
    assert {status for _, status, _ in answers} == {"degraded"}  # a Redis that does not answer is not ok
    assert "open" in {breaker for _, _, breaker in answers}  # the hung publish timed out: a transport failure
    await drained_within(lab.sessions, RECOVERY_S)
    publisher = lab.outbox.publisher
    entries = await assert_nothing_lost_charged_or_reordered(
        lab.sessions, lab.redis.client, rows, max_duplicates=2 * publisher.config.batch_size)
    await assert_consumer_caught_up(lab.outbox.consumer, lab.redis.client, rows, entries)
    assert publisher.stats.dead_lettered == 0 and publisher.breaker.state == "closed"


async def test_the_broker_down_switch_held_for_a_minute_dead_letters_nothing(user: User) -> None:
    lab = await lab_ready()
    await user.open("/outbox")
    await user.should_see("published/s", retries=50)
    producer = Producer(lab.sessions).start()
    user.find(marker="outbox-broker-down").click()
    held_until = time.monotonic() + 60.0
    chip = user.find(marker="outbox-breaker").elements.pop()
    await until(lambda: chip.text == "open", 5, message="the breaker chip to show open")
    while time.monotonic() < held_until:
        await asyncio.sleep(min(5.0, max(0.0, held_until - time.monotonic())))
        health = (await user.http_client.get("/api/health")).json()
        assert (health["status"], health["outbox"]["breaker"], health["outbox"]["failed"]) == ("degraded", "open", 0)
        assert health["outbox"]["breaker_since"] and health["outbox"]["breaker_next_probe"]
        assert chip.text == "open"
    rows = await producer.stop()
    assert len(rows) > 2500 and await pending(lab.sessions) == len(rows)  # a minute of events, all waiting

    user.find(marker="outbox-broker-down").click()
    # fakeredis runs in the app's own event loop, beside the pages and the consumer: its drain speed
    # is not what this test is about (the real-Redis outage tests hold the 5 s), so give it room
    await drained_within(lab.sessions, FAKE_DRAIN_S)
    await until(lambda: chip.text == "closed", 5, message="the breaker chip to show closed")
    entries = await assert_nothing_lost_charged_or_reordered(lab.sessions, lab.redis.client, rows, max_duplicates=0)
    await assert_consumer_caught_up(lab.outbox.consumer, lab.redis.client, rows, entries)
    assert lab.outbox.publisher.stats.dead_lettered == 0
    [outage] = lab.outbox.outages()
    assert outage.ended is not None and outage.ended - outage.started >= 60.0
