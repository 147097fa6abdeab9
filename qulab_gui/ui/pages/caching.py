"""Lab 4 · Caching: a read-through Redis cache, its counters, invalidation after commit, fail-open,
and a skewed workload charting hit ratio and latency against the database path.

The page is a few sections; each builds its controls and returns the refresh that redraws it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from nicegui import ui

from qulab_gui.lab import (
    BYPASS,
    CACHING,
    ERROR,
    HIT,
    MISS,
    PROFILE,
    SCORE,
    Lab,
    Lookup,
    ScoreRecorded,
    SimulatedFailure,
    ValidationError,
    current_lab,
)
from qulab_gui.ui.code_view import code_view
from qulab_gui.ui.frame import (
    PAGE_TIMEOUT_S,
    Refresh,
    Refreshes,
    busy,
    frame,
    lab_started,
    notify_error,
    section,
    table_column,
)
from qulab_gui.ui.guided import guided_path
from qulab_gui.ui.kept import kept_results
from qulab_gui.ui.latency_knob import latency_knob
from qulab_gui.ui.text import plural
from qulab_gui.ui.user_picker import UserPicker

from .caching_counters import counters_section, keys_section
from .caching_workload import workload_section

TITLE = "4 · Caching"
OUTCOME_STYLE = {  # label, colour, what happened
    HIT: ("HIT", "positive", "served from Redis"),
    MISS: ("MISS", "primary", "loaded from the database, then cached"),
    ERROR: ("ERROR", "negative", "Redis failed: served by the database (fail-open)"),
    BYPASS: ("BYPASS", "warning", "Redis skipped while the breaker is open: served by the database"),
}
HISTORY_COLUMNS = [table_column("at", "Time (UTC)"), table_column("read", "Read"), table_column("outcome", "Outcome"),
                   table_column("ms", "Latency (ms)", align="right")]
HISTORY_SHOWN = 12


def describe_value(family: str, value: dict[str, Any] | None) -> str:
    if value is None:
        return "no such user" if family == PROFILE else "no score yet (cached as “nothing” with a short TTL)"
    if family == PROFILE:
        return f"{value['name']} <{value['email']}>, {value['years_experience']} years of experience"
    return f"AIR {value['air_score']:.2f} (95% CI {value['ci_lower']:.1f}–{value['ci_upper']:.1f}), " \
           f"score {value['id'][:8]} of {value['created_at'][:19].replace('T', ' ')}"


def read_section(lab: Lab, changed: Refresh) -> tuple[UserPicker, Refresh]:
    """Fetch a profile or latest score through the cache; returns the user picker and its refresh."""
    policy = lab.caching.policy
    history: list[dict[str, Any]] = []
    with section("Read through the cache", "Profile and latest AIR score, each cached as JSON under "
                 f"{lab.caching.prefix}<family>:<user id> with a TTL of {policy.ttl_s:g} s ± {policy.jitter:.0%} "
                 f"({policy.negative_ttl_s:g} s for “nothing”)."):
        with ui.row().classes("items-center gap-4") as no_users:
            ui.label("There are no users yet.")
            load_button = ui.button("Load 1,000 sample users", icon="download", on_click=lambda: load_users()) \
                .mark("load-users")
            load_spinner = ui.spinner(size="sm")
            load_spinner.set_visibility(False)
        with ui.row().classes("items-end gap-3 w-full"):
            picker = UserPicker(lab, marker="cache-user")
            picker.select.classes("min-w-[22rem]")
            ui.button("Fetch profile", icon="person", on_click=lambda: fetch(PROFILE)).mark("fetch-profile")
            ui.button("Fetch latest score", icon="analytics", on_click=lambda: fetch(SCORE)).mark("fetch-score")
            ui.button("Invalidate user", icon="backspace", on_click=lambda: invalidate_user()) \
                .props("outline").mark("invalidate-user")
            ui.button("Invalidate everything", icon="delete_sweep", on_click=lambda: invalidate_all()) \
                .props("outline color=negative").mark("invalidate-all")
        results = {}
        for family, title in ((PROFILE, "Profile"), (SCORE, "Latest score")):
            with ui.row().classes("items-center gap-3"):
                ui.label(title).classes("w-28 text-grey-8")
                results[family] = (ui.badge("–", color="grey").classes("text-sm").mark(f"{family}-outcome"),
                                   ui.label("").classes("font-mono").mark(f"{family}-result"))
        history_table = ui.table(rows=[], columns=HISTORY_COLUMNS, row_key="n").props("dense flat") \
            .classes("w-full").mark("cache-history")

    async def refresh_users() -> None:
        no_users.set_visibility(not await picker.refresh())

    def show(family: str, lookup: Lookup) -> None:
        label, color, meaning = OUTCOME_STYLE[lookup.outcome]
        badge, text = results[family]
        badge.text = f"{label} · {lookup.seconds * 1000:.2f} ms"
        badge.props(f"color={color}")
        text.text = f"{describe_value(family, lookup.value)} — {meaning}"
        reads = history[0]["n"] + 1 if history else 1
        history.insert(0, {"n": reads, "at": datetime.now(UTC).strftime("%H:%M:%S"), "read": family,
                           "outcome": label, "ms": f"{lookup.seconds * 1000:.3f}"})
        del history[HISTORY_SHOWN:]  # the table shows the newest reads only; keep no more
        history_table.rows = list(history)

    async def fetch(family: str) -> None:
        try:
            lookup = await lab.caching.read(family, picker.value)
        except ValidationError as problem:
            notify_error(str(problem))
            return
        await changed()  # counters and keys first: once the read shows, everything it changed shows with it
        show(family, lookup)

    async def invalidate_user() -> None:
        try:
            deleted = await lab.caching.invalidate_user(picker.value)
        except ValidationError as problem:
            notify_error(str(problem))
            return
        ui.notify(f"Deleted {deleted} key(s) of this user", type="info")
        await changed()

    async def invalidate_all() -> None:
        deleted = await lab.caching.invalidate_all()
        ui.notify(f"Deleted {deleted} cache key(s)", type="info")
        await changed()

    async def load_users() -> None:
        with busy(load_button, shown=load_spinner):
            try:
                count = await lab.load_samples(1000)
            except (ValidationError, ValueError) as problem:
                notify_error(str(problem))
                return
        ui.notify(f"Loaded {plural(count, 'user')}", type="positive")
        await refresh_users()

    return picker, refresh_users


def write_section(lab: Lab, picker: UserPicker, users_changed: Refresh, changed: Refresh) -> None:
    """Edit a profile or calculate a score, committed or rolled back, and see what the cache did."""
    with section("Write, then read again", "The cache follows every committed unit of work: the keys of "
                 "what a transaction wrote are deleted right after its commit, and a rollback deletes "
                 "nothing. Fetch before and after to see MISS, then HIT, with the new value."):
        with ui.row().classes("items-end gap-3"):
            name_input = ui.input("New name").props("outlined dense").mark("edit-name")
            years_input = ui.number("Years of experience") \
                .props("outlined dense").classes("w-44").mark("edit-years")
            ui.button("Save profile", icon="save", on_click=lambda: save_profile()).mark("save-profile")
            ui.button("Calculate a new score", icon="calculate", on_click=lambda: new_score()).mark("new-score")
            fail_box = ui.checkbox("Fail before commit (roll back)").mark("fail-before-commit")
        write_result = ui.label().mark("write-result")

    async def save_profile() -> None:
        try:
            changes = await lab.caching.edit_profile(picker.value, name=name_input.value or None,
                                                     years_experience=years_input.value,
                                                     fail_before_commit=fail_box.value)
        except ValidationError as problem:
            notify_error(str(problem))
            return
        except SimulatedFailure as failure:
            write_result.text = f"Rolled back ({failure}): nothing written, no key invalidated."
        else:
            write_result.text = (f"Committed {', '.join(f'{k} = {v}' for k, v in changes.items())}; the "
                                 "profile key was invalidated after the commit. Fetch it again: MISS, new value.")
            await users_changed()
        await changed()

    async def new_score() -> None:
        try:
            outcome = await lab.outbox.calculate_score(picker.value, fail_after_write=fail_box.value)
        except ValidationError as problem:
            notify_error(str(problem))
            return
        if isinstance(outcome, ScoreRecorded):
            write_result.text = (f"Committed a new score (AIR {outcome.air_score:.2f}) and its outbox event; "
                                 "the score key was invalidated after the commit.")
        else:
            write_result.text = (f"Rolled back: {outcome.scores_found} score row(s) exist afterwards; "
                                 "no key invalidated, the cached score stays valid.")
        await changed()


def fail_open_section(lab: Lab, changed: Refresh) -> Refresh:
    policy = lab.caching.policy
    with section("Fail-open", "The switch points the cache at a closed port: a real connection error on "
                 "every Redis call. Reads still answer, from the database; errors are counted; a small "
                 f"circuit breaker skips Redis for {policy.retry_after_s:g} s after a failure so a dead "
                 "server costs one timeout per interval, not one per read."):
        switch = ui.switch("Simulate Redis unreachable", value=lab.caching.simulating_unreachable,
                           on_change=lambda e: simulate(e.value)).mark("simulate-down")

    async def simulate(on: bool) -> None:
        if on != lab.caching.simulating_unreachable:  # not the echo of refresh() syncing the switch
            await lab.caching.simulate_unreachable(on)
        await changed()

    async def refresh() -> None:
        switch.value = lab.caching.simulating_unreachable  # another tab may have flipped it

    return refresh


@ui.page("/caching", response_timeout=PAGE_TIMEOUT_S)
async def caching_page() -> None:
    lab = current_lab()
    if not await lab_started(TITLE):
        return
    refresh = Refreshes()  # what the timer and every change redraw: the switch, the keys, the counters
    with frame(TITLE, "A read-through Redis cache in front of the user repository: it counts its own "
               "hits, invalidates after commit, and fails open when Redis is gone."):
        guided_path("caching")
        banner = ui.label().classes("w-full p-3 rounded bg-orange-2 text-orange-10").mark("cache-degraded")
        banner.set_visibility(False)
        latency_knob(lab)
        picker, refresh_users = read_section(lab, refresh)
        write_section(lab, picker, refresh_users, refresh)
        refresh.add(fail_open_section(lab, refresh))
        refresh.add(keys_section(lab))
        refresh.add(counters_section(lab, banner, refresh))
        workload_section(lab, refresh)
        code_view("caching")
        kept_results(lab, CACHING)

    await refresh_users()
    await refresh()
    ui.timer(1.0, refresh)
