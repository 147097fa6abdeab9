"""Lab 5 · Outbox: a score and its event in one transaction, a publisher on a timer that delivers the
event to a Redis Stream at least once, switches that break it, and the consumer on the other side."""

from __future__ import annotations

import time
from typing import Any

from nicegui import ui

from qulab_gui.lab import OUTBOX, RolledBack, ValidationError, current_lab
from qulab_gui.ui.code_view import code_view
from qulab_gui.ui.frame import PAGE_TIMEOUT_S, busy, frame, lab_started, measured, notify_error, section
from qulab_gui.ui.guided import guided_path
from qulab_gui.ui.kept import kept_results
from qulab_gui.ui.pages.outbox_views import (
    BREAKER_COLORS,
    EVENT_COLUMNS,
    HISTORY_POINTS,
    PROJECTION_COLUMNS,
    STREAM_COLUMNS,
    WHY_NOT_POISON,
    burst_text,
    clock,
    history_chart,
    kept_text,
    outage_areas,
    short,
    write_text,
)
from qulab_gui.ui.user_picker import UserPicker


@ui.page("/outbox", response_timeout=PAGE_TIMEOUT_S)
async def outbox_page() -> None:
    lab = current_lab()
    if not await lab_started("5 · Outbox"):
        return
    opened = time.monotonic()
    with frame("5 · Outbox", "The score and its event commit together; a publisher on a timer delivers the "
               f"event to the Redis Stream {lab.outbox.stream} at least once; the consumer absorbs the duplicates."):
        guided_path("outbox")
        with ui.row().classes("w-full gap-4 items-stretch"):
            with section("Write a score and its event", "One transaction: the AIRScore row and an "
                         "AIRScoreCalculated event (pending). Either both exist or neither."
                         ).classes("flex-1 min-w-[360px]"):
                picker = UserPicker(lab, marker="outbox-user", limit=200)
                picker.select.classes("w-full")
                fail = ui.checkbox("fail after writing the score").mark("outbox-fail")
                with ui.row().classes("items-center gap-2"):
                    ui.button("Calculate AIR score", icon="calculate", on_click=lambda: calculate()) \
                        .mark("outbox-calculate")
                    add_users = ui.button("Add 20 sample users", icon="group_add", on_click=lambda: seed()) \
                        .props("outline").mark("outbox-add-users")
                write_result = ui.label().classes("text-body2").mark("outbox-write-result")
                with ui.row().classes("items-end gap-2"):
                    burst_size = ui.number("Burst of K scores", value=50) \
                        .props("outlined dense").classes("w-40").mark("outbox-burst-size")
                    burst_button = ui.button("Burst", icon="bolt", on_click=lambda: burst()).props("outline") \
                        .mark("outbox-burst")
                    burst_spinner = ui.spinner(size="sm")
                    burst_spinner.set_visibility(False)

            with section("Publisher", "An app.timer claims due events with a lease, XADDs them in one script "
                         "call (one result per entry) and marks them published in one UPDATE."
                         ).classes("flex-1 min-w-[360px]"):
                with ui.row().classes("items-end gap-3"):
                    running = ui.switch("running", value=lab.outbox.running,
                                        on_change=lambda e: lab.outbox.set_running(e.value)) \
                        .mark("outbox-running")
                    interval = ui.number("Interval (s)", value=lab.outbox.interval_s, step=0.1) \
                        .props("outlined dense").classes("w-28").mark("outbox-interval")
                    batch = ui.number("Batch size", value=lab.outbox.config.batch_size).props("outlined dense") \
                        .classes("w-28").mark("outbox-batch")
                    # Applied on blur or Enter, not per keystroke: typing 0.5 would send 0 first.
                    for field, key in ((interval, "interval_s"), (batch, "batch_size")):
                        for event in ("blur", "keydown.enter"):
                            field.on(event, lambda f=field, k=key: configure(**{k: f.value}))
                with ui.row().classes("items-center gap-2"):
                    ui.button("Publish now", icon="send", on_click=lambda: publish_now()).mark("outbox-publish-now")
                    ui.button("Retry dead letters", icon="replay", on_click=lambda: retry()) \
                        .props("outline").mark("outbox-retry")
                with ui.row().classes("items-center gap-2"):
                    ui.label("Circuit breaker").classes("text-body2")
                    breaker_chip = ui.chip("closed", icon="power").props("dense").mark("outbox-breaker")
                    with breaker_chip:
                        breaker_tip = ui.tooltip("")
                metrics = ui.label().classes("font-mono text-sm whitespace-pre-line").mark("outbox-metrics")
                tick_result = ui.label().classes("text-body2").mark("outbox-tick-result")

            with section("Break it", "Watch the guarantees hold: nothing is lost, duplicates are absorbed."
                         ).classes("flex-1 min-w-[300px]"):
                ui.switch("Broker down", value=lab.outbox.faults.broker_down,
                          on_change=lambda e: lab.outbox.set_broker_down(e.value)) \
                    .mark("outbox-broker-down")
                ui.label("Every publish fails as if Redis were unreachable: the breaker opens, nothing is "
                         "claimed while it is open, probes back off (full jitter, capped at "
                         f"{lab.outbox.config.probe_max_s:g} s). No event spends an attempt; switch it off and the "
                         "backlog drains.").classes("text-caption text-grey-8")
                ui.label(WHY_NOT_POISON).classes("text-caption").mark("outbox-why-not-poison")
                poison = ui.switch("Poison the next event", value=bool(lab.outbox.faults.poison),
                                   on_change=lambda e: set_poison(e.value)).mark("outbox-poison")
                ui.label("The broker really rejects it (an XADD with an ID Redis refuses): attempts grow, each "
                         f"retry waits longer, after {lab.outbox.config.max_attempts} attempts it is dead-lettered "
                         "until you retry it. Later events of the same user wait behind it: per-aggregate order."
                         ).classes("text-caption text-grey-8")
                ui.switch("Crash after publishing, before marking", value=lab.outbox.faults.crash_after_publish,
                          on_change=lambda e: setattr(lab.outbox.faults, "crash_after_publish", e.value)) \
                    .mark("outbox-crash")
                ui.label("The batch reaches the stream but stays pending, leased to the dead publisher. After "
                         f"the {lab.outbox.config.lease_s:g} s lease it is published again: a duplicate the "
                         "consumer absorbs by event id.").classes("text-caption text-grey-8")

        with section("Over time", "Sampled every second while this page is open."):
            chart = history_chart().mark("outbox-chart")

        with section("Events", "The newest outbox rows; their status follows the publisher."):
            events_table = ui.table(rows=[], columns=EVENT_COLUMNS, row_key="id").props("dense flat") \
                .classes("w-full").mark("outbox-events")
            events_table.add_slot("body-cell-status", """
                <q-td :props="props"><q-badge :color="{pending: 'orange', published: 'green', failed: 'red'}
                [props.value]" :label="props.value" /></q-td>""")

        with ui.row().classes("w-full gap-4 items-stretch"):
            with section("The stream", f"XREVRANGE {lab.outbox.stream}: the newest entries, as the broker holds them."
                         ).classes("flex-[3] min-w-[420px]"):
                stream_table = ui.table(rows=[], columns=STREAM_COLUMNS, row_key="entry").props("dense flat") \
                    .classes("w-full").mark("outbox-stream")
            with section("The consumer", "A consumer group (XREADGROUP / XACK) keeps each user's latest score; "
                         "it remembers event ids, so a republished event changes nothing."
                         ).classes("flex-[2] min-w-[300px]"):
                consumer_label = ui.label().classes("font-mono text-sm").mark("outbox-consumer")
                projection_table = ui.table(rows=[], columns=PROJECTION_COLUMNS, row_key="user") \
                    .props("dense flat").classes("w-full").mark("outbox-projection")
        code_view("outbox")
        kept_results(lab, OUTBOX)

    async def load_users() -> None:
        add_users.set_visibility(not await picker.refresh())

    async def refresh() -> None:
        status = await lab.outbox.status()
        running.value = lab.outbox.running
        breaker_chip.text = status["breaker"].replace("_", "-")
        breaker_chip.props(f"color={BREAKER_COLORS[status['breaker']]}")
        breaker_tip.text = (f"open since {status['breaker_since']}, next probe {status['breaker_next_probe']}"
                            if status["breaker"] == "open" else "publishing normally" if status["breaker"] == "closed"
                            else "a probe answered: one small batch decides")
        oldest = measured(status["oldest_pending_age_s"], 1, " s")
        tick, p50, p95 = (measured(status[key], 0, " ms") for key in ("last_tick_ms", "latency_p50_ms",
                                                                      "latency_p95_ms"))
        metrics.text = (
            f"publisher {status['publisher']} · every {status['interval_s']:g} s · batch {status['batch_size']}\n"
            f"pending {status['pending']} · published {status['published']} · failed {status['failed']}\n"
            f"oldest pending {oldest} · published/s {status['published_per_s']:g}\n"
            f"transport failures {status['transport_failures']} · poison rejections "
            f"{status['poison_rejections']} · dead-lettered {status['dead_lettered']} · "
            f"crashes {status['crashes']}\n"
            f"last tick {tick} · commit→stream p50 {p50} p95 {p95}")
        at = round(time.monotonic() - opened, 1)
        for series, value in zip(chart.options["series"], (status["pending"], status["published"],
                                                           status["failed"], status["latency_p95_ms"]), strict=True):
            series["data"] = [*series["data"][-HISTORY_POINTS + 1:], [at, value]]
        chart.options["series"][3]["markArea"]["data"] = outage_areas(lab.outbox.outages(), opened,
                                                                      time.monotonic())
        chart.update()
        events_table.rows = [{
            "id": e.id, "occurred": clock(e.occurred_at), "event": short(e.id), "type": e.event_type,
            "aggregate": f"{e.aggregate_type}/{short(e.aggregate_id)}", "status": e.status, "attempts": e.attempts,
            "next": clock(e.next_attempt_at), "lease": e.claimed_by or "", "error": (e.last_error or "")[:80],
        } for e in await lab.outbox.recent_events(20)]
        stream_table.rows = [{"entry": s["entry_id"], "event": short(s.get("event_id")), "type": s.get("event_type"),
                              "aggregate": short(s.get("aggregate_id"))} for s in await lab.outbox.stream_tail(10)]
        state = await lab.outbox.consumer_state()
        if state is not None:
            consumer_label.text = (f"delivered {state.delivered} · applied {state.applied} · "
                                   f"duplicates absorbed {state.duplicates}")
            projection_table.rows = [{"user": picker.names.get(user, short(user)), "score": score}
                                     for user, score in sorted(state.latest_scores.items())][:50]

    async def calculate() -> None:
        try:
            outcome = await lab.outbox.calculate_score(picker.value, fail_after_write=bool(fail.value))
        except ValidationError as problem:
            write_result.text = f"Nothing written: {problem}"
            notify_error(str(problem))
            return
        await refresh()  # the tables first: the result text is what tells a reader they are current
        write_result.text = write_text(outcome)
        if isinstance(outcome, RolledBack):
            ui.notify("Rolled back as requested: neither the score nor its event was written", type="info")

    async def burst() -> None:
        write_result.text = "Writing the burst…"
        try:
            with busy(burst_button, shown=burst_spinner):
                written = await lab.outbox.score_burst(burst_size.value)
        except ValidationError as problem:
            write_result.text = ""
            notify_error(str(problem))
            return
        await refresh()
        write_result.text = burst_text(written)

    async def seed() -> None:
        try:
            with busy(add_users):
                await lab.load_samples(20)
        except ValidationError as problem:
            notify_error(str(problem))
        await load_users()

    def configure(**values: Any) -> None:
        try:
            lab.outbox.configure(**{k: (int(v) if k == "batch_size" else float(v)) for k, v in values.items()
                                       if v is not None})
        except ValidationError as problem:
            notify_error(str(problem))

    async def publish_now() -> None:
        result = await lab.outbox.publish_now()
        await refresh()
        if result.crashed:
            tick_result.text = (f"Crashed after publishing {result.claimed} events, before marking them: they stay "
                                "pending and leased until the lease runs out.")
        elif result.skipped:
            tick_result.text = f"Nothing claimed: the circuit breaker is open ({result.error})."
        elif result.transport_failed:
            tick_result.text = (f"Claimed {result.claimed}; {result.error}. The breaker opened; the events are "
                                "pending again, no attempt charged.")
        elif result.error:
            tick_result.text = (f"Claimed {result.claimed}, published {result.published}; {result.error} "
                                f"({result.held} later event(s) of its aggregate wait behind it).")
        else:
            tick_result.text = f"Claimed {result.claimed}, published {result.published}."

    async def retry() -> None:
        count = await lab.outbox.retry_dead_letters()
        await refresh()
        tick_result.text = f"{count} dead-lettered event(s) are pending again."

    async def set_poison(on: bool) -> None:
        if not on:
            lab.outbox.clear_poison()
            tick_result.text = "Poison switch off: the broker accepts every event again."
            return
        event_id = await lab.outbox.poison_next()
        if event_id is None:
            poison.value = False
            notify_error("No event is pending: write a score first, then poison it")
            return
        tick_result.text = f"Event {short(event_id)} is poison: the broker will reject it."

    write_result.text = kept_text(lab.outbox.last_write(), lab.outbox.last_burst())
    await load_users()
    await refresh()
    ui.timer(1.0, refresh)


