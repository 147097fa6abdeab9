"""Page "5 · Outbox" through the `user` fixture: the atomic write and its failure switch, the publisher
controls, the fault switches (broker down, crash before mark), dead letters, and the consumer."""

from __future__ import annotations

from datetime import UTC, datetime

from nicegui import ui
from nicegui.testing import User

from tests.conftest import until
from tests.ui.conftest import lab_ready


async def open_page(user: User):
    """The page with sample users, the publisher paused so each tick is one the test asks for."""
    lab = await lab_ready()
    await lab.load_samples(5)
    lab.outbox.set_running(False)
    await user.open("/outbox")
    await user.should_see("5 · Outbox")
    await user.should_see("published/s", retries=50)  # the async page has loaded its users and status
    return lab


async def expire(lab, column: str) -> None:
    """Set every event's lease or backoff (`column`) in the past, as if its time had run out."""
    from sqlalchemy import update

    from qulab_gui.data.models import DomainEvent

    moment = getattr(DomainEvent, column)
    async with lab.session() as session, session.begin():
        await session.execute(update(DomainEvent).where(moment.is_not(None))
                              .values({moment: datetime(2000, 1, 1, tzinfo=UTC)}))


async def expire_leases(lab) -> None:
    await expire(lab, "lease_expires_at")


def table_rows(user: User, marker: str) -> list[dict]:
    return user.find(marker=marker).elements.pop().rows


async def test_failure_after_writing_leaves_neither_row_and_success_writes_both(user: User) -> None:
    lab = await open_page(user)
    before = await lab.count_rows()

    user.find(marker="outbox-fail").click()
    user.find(marker="outbox-calculate").click()
    await user.should_see("Rolled back", retries=50)
    await user.should_see("air_scores with id")
    text = user.find(marker="outbox-write-result").elements.pop().text
    assert ": 0, domain_events with id" in text and text.endswith(": 0.")
    # the requested failure is the expected outcome: an info note, not the red error toast
    assert user.notify.messages == ["Rolled back as requested: neither the score nor its event was written"]
    assert await lab.count_rows() == before

    user.find(marker="outbox-fail").click()
    user.find(marker="outbox-calculate").click()
    await user.should_see("Committed score", retries=50)
    after = await lab.count_rows()
    assert after.air_scores == before.air_scores + 1
    assert after.domain_events == before.domain_events + 1
    rows = table_rows(user, "outbox-events")
    assert [r["status"] for r in rows] == ["pending"]


async def test_publish_now_delivers_to_the_stream_and_the_consumer(user: User) -> None:
    lab = await open_page(user)
    user.find(marker="outbox-burst-size").elements.pop().value = 3
    user.find(marker="outbox-burst").click()
    await user.should_see("Committed 3 scores", retries=50)
    assert {r["status"] for r in table_rows(user, "outbox-events")} == {"pending"}

    user.find(marker="outbox-publish-now").click()
    await user.should_see("Claimed 3, published 3.", retries=50)
    assert {r["status"] for r in table_rows(user, "outbox-events")} == {"published"}
    stream = table_rows(user, "outbox-stream")
    assert len(stream) == 3 and all(r["type"] == "AIRScoreCalculated" for r in stream)

    await lab.outbox.consume_tick()
    await user.should_see("applied 3 · duplicates absorbed 0", retries=50)
    assert len(table_rows(user, "outbox-projection")) >= 1
    chart = user.find(ui.echart).elements.pop().options
    assert chart["series"][1]["data"][-1][1] == 3  # published


def chip_text(user: User) -> str:
    return user.find(marker="outbox-breaker").elements.pop().text


async def test_broker_down_opens_the_breaker_charges_nothing_and_the_backlog_drains_when_it_closes(
        user: User) -> None:
    lab = await open_page(user)
    user.find(marker="outbox-calculate").click()
    await user.should_see("Committed score", retries=50)
    assert chip_text(user) == "closed"

    user.find(marker="outbox-broker-down").click()
    assert lab.outbox.faults.broker_down
    user.find(marker="outbox-publish-now").click()
    await user.should_see("The breaker opened", retries=50)
    assert chip_text(user) == "open"
    [row] = table_rows(user, "outbox-events")
    assert (row["status"], row["attempts"], row["lease"]) == ("pending", 0, "")  # nothing charged, nothing held
    health = (await user.http_client.get("/api/health")).json()
    assert health["status"] == "degraded" and health["outbox"]["breaker"] == "open"
    assert health["outbox"]["breaker_since"] and health["outbox"]["breaker_next_probe"]
    user.find(marker="outbox-publish-now").click()
    await user.should_see("Nothing claimed: the circuit breaker is open", retries=50)
    chart = user.find(ui.echart).elements.pop()
    [area] = chart.options["series"][3]["markArea"]["data"]  # the outage, drawn on the live chart
    assert area[0]["name"] == "broker unreachable"

    user.find(marker="outbox-broker-down").click()  # the broker is back: the next probe finds it
    user.find(marker="outbox-running").click()
    await until(lambda: chip_text(user) == "closed", 10, message="the breaker to close")
    await until(lambda: [r["status"] for r in table_rows(user, "outbox-events")] == ["published"], 5,
                message="the event to be published")
    health = (await user.http_client.get("/api/health")).json()
    assert health["status"] == "ok" and health["outbox"]["breaker"] == "closed"
    assert "breaker_since" not in health["outbox"] and health["outbox"]["dead_lettered"] == 0
    assert len(table_rows(user, "outbox-stream")) == 1


async def test_poison_dead_letters_one_event_retry_republishes_and_duplicates_are_absorbed(user: User) -> None:
    lab = await open_page(user)
    lab.outbox.config.backoff_base_s = 0.05
    lab.outbox.config.max_attempts = 2
    lab.outbox.config.lease_s = 600.0  # the test ends the lease itself below, not the wall clock
    user.find(marker="outbox-poison").click()
    await user.should_see("No event is pending")  # nothing to poison yet: the switch falls back
    assert not lab.outbox.faults.poison
    user.find(marker="outbox-calculate").click()
    await user.should_see("Committed score", retries=50)

    user.find(marker="outbox-poison").click()
    await user.should_see("is poison", retries=50)
    user.find(marker="outbox-publish-now").click()
    await user.should_see("the broker rejected 1 event(s)", retries=50)
    [row] = table_rows(user, "outbox-events")
    assert (row["status"], row["attempts"]) == ("pending", 1) and "0-0" in row["error"]
    assert chip_text(user) == "closed"  # the broker answered: a rejection is not an outage
    await expire(lab, "next_attempt_at")  # the backoff is over
    user.find(marker="outbox-publish-now").click()
    await user.should_see("dead-lettered 1", retries=50)
    assert table_rows(user, "outbox-events")[0]["status"] == "failed"

    user.find(marker="outbox-poison").click()
    user.find(marker="outbox-crash").click()
    user.find(marker="outbox-retry").click()
    await user.should_see("1 dead-lettered event(s) are pending again", retries=50)
    user.find(marker="outbox-publish-now").click()
    await user.should_see("Crashed after publishing 1 events", retries=50)
    [row] = table_rows(user, "outbox-events")
    assert row["status"] == "pending" and row["lease"] == lab.outbox.publisher.name
    assert len(table_rows(user, "outbox-stream")) == 1  # on the stream, yet not marked

    user.find(marker="outbox-crash").click()
    user.find(marker="outbox-publish-now").click()
    await user.should_see("Claimed 0, published 0.", retries=50)  # the lease still holds
    await expire_leases(lab)
    user.find(marker="outbox-publish-now").click()
    await user.should_see("Claimed 1, published 1.", retries=50)
    assert len(table_rows(user, "outbox-stream")) == 2  # published twice: at least once
    await lab.outbox.consume_tick()
    await user.should_see("applied 1 · duplicates absorbed 1", retries=50)


async def test_publisher_controls_pause_resume_and_reject_bad_settings(user: User) -> None:
    lab = await open_page(user)
    health = (await user.http_client.get("/api/health")).json()["outbox"]
    assert health["publisher"] == "paused"

    user.find(marker="outbox-running").click()
    assert lab.outbox.running
    assert (await user.http_client.get("/api/health")).json()["outbox"]["publisher"] == "running"
    interval = user.find(marker="outbox-interval")
    field = next(iter(interval.elements))
    field.value = 0
    assert lab.outbox.interval_s != 0  # a keystroke alone applies nothing (typing 0.5 starts with 0)
    field.value = 0.2
    interval.trigger("blur")
    assert lab.outbox.interval_s == 0.2
    batch = user.find(marker="outbox-batch")
    next(iter(batch.elements)).value = 9000
    batch.trigger("keydown.enter")
    await user.should_see("The batch size must be a whole number from 1 to 5,000 (got 9,000)")
    assert lab.outbox.config.batch_size != 9000

    user.find(marker="outbox-calculate").click()  # the running timer publishes it without a click
    await user.should_see("published 1 ·", retries=50)
    user.find(marker="outbox-running").click()
    assert not lab.outbox.running


async def test_bad_input_is_refused_with_a_message_and_writes_nothing(user: User) -> None:
    lab = await lab_ready()
    lab.outbox.set_running(False)
    await user.open("/outbox")
    await user.should_see("published/s", retries=50)
    await user.should_see("Add 20 sample users")  # an empty database offers sample users

    user.find(marker="outbox-calculate").click()
    await user.should_see("Nothing written: Pick a user first")
    user.find(marker="outbox-burst").click()
    await user.should_see("There are no users yet")
    user.find(marker="outbox-burst-size").elements.pop().value = 0
    user.find(marker="outbox-burst").click()
    await user.should_see("A burst must be a whole number from 1 to 1,000 (got 0)")
    user.find(marker="outbox-burst-size").elements.pop().value = 2.5  # refused, not rounded to 2
    user.find(marker="outbox-burst").click()
    await user.should_see("A burst must be a whole number from 1 to 1,000 (got 2.5)")
    assert (await lab.count_rows()).domain_events == 0

    user.find(marker="outbox-add-users").click()
    await until(lambda: len(user.find(marker="outbox-user").elements.pop().options) == 20,
                message="20 users in the picker")
    user.find(marker="outbox-calculate").click()
    await user.should_see("Committed score", retries=50)
