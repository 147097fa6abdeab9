"""Lab 4 · Caching: a read-through Redis cache, its counters, invalidation after commit, fail-open,
and a skewed workload charting hit ratio and latency against the database path."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from nicegui import ui

from qulab_gui.lab import (
    BYPASS,
    CACHE_PREFIX,
    ERROR,
    HIT,
    MISS,
    PROFILE,
    SCORE,
    Lookup,
    ScoreRecorded,
    SimulatedFailure,
    ValidationError,
    WorkloadPoint,
    WorkloadResult,
    current_lab,
)
from qulab_gui.ui.frame import clear_chart, frame, lab_started, measured, notify_error, section, table_column

OUTCOME_STYLE = {  # label, colour, what happened
    HIT: ("HIT", "positive", "served from Redis"),
    MISS: ("MISS", "primary", "loaded from the database, then cached"),
    ERROR: ("ERROR", "negative", "Redis failed: served by the database (fail-open)"),
    BYPASS: ("BYPASS", "warning", "Redis skipped while the breaker is open: served by the database"),
}
STAT_ROWS = [("hits", "Hits"), ("negative_hits", "… of which cached “nothing”"), ("misses", "Misses"),
             ("hit_ratio", "Hit ratio"), ("loads", "Database loads"), ("coalesced", "Misses that shared a load"),
             ("stale", "Stale loads not cached"), ("errors", "Redis errors"), ("bypassed", "Bypassed (breaker open)"),
             ("invalidations", "Invalidations"), ("mean_load_ms", "Mean load (ms)")]
KEY_COLUMNS = [
    table_column("key", "Key"),
    table_column("ttl", "TTL left (s)", align="right"),
    table_column("value", "Value"),
]
HISTORY_COLUMNS = [
    table_column("at", "Time (UTC)"),
    table_column("read", "Read"),
    table_column("outcome", "Outcome"),
    table_column("ms", "Latency (ms)", align="right"),
]
KEYS_SHOWN = 20
HISTORY_SHOWN = 12
FORMULA = "T_avg = H·T_cache + (1 − H)·(T_cache + T_db)"


def workload_chart() -> ui.echart:
    latency = {"type": "line", "showSymbol": True, "symbolSize": 4, "data": []}
    return ui.echart({
        "title": {"text": "Workload: hit ratio and read latency", "textStyle": {"fontSize": 14}},
        "tooltip": {"trigger": "axis"},
        "legend": {"top": 24},
        "grid": {"top": 72, "left": 64, "right": 64, "bottom": 48},
        "xAxis": {"type": "value", "name": "reads", "nameLocation": "middle", "nameGap": 28},
        "yAxis": [{"type": "log", "name": "latency (ms)"},
                  {"type": "value", "name": "hit ratio (%)", "min": 0, "max": 100}],
        "series": [
            {"name": "hit ratio", "type": "line", "yAxisIndex": 1, "areaStyle": {"opacity": 0.08},
             "showSymbol": False, "data": []},
            {**latency, "name": "cached p50"}, {**latency, "name": "cached p95", "lineStyle": {"type": "dashed"}},
            {**latency, "name": "database p50"},
            {**latency, "name": "database p95", "lineStyle": {"type": "dashed"}},
        ],
    }).classes("w-full h-96")


def _stat(name: str, value: Any) -> str:
    if value is None:
        return "–"
    if name == "hit_ratio":
        return f"{value:.1%}"
    if name == "mean_load_ms":
        return f"{value:.2f}"
    return f"{value:,}"


def describe_value(family: str, value: dict[str, Any] | None) -> str:
    if value is None:
        return "no such user" if family == PROFILE else "no score yet (cached as “nothing” with a short TTL)"
    if family == PROFILE:
        return f"{value['name']} <{value['email']}>, {value['years_experience']} years of experience"
    return f"AIR {value['air_score']:.2f} (95% CI {value['ci_lower']:.1f}–{value['ci_upper']:.1f}), " \
           f"score {value['id'][:8]} of {value['created_at'][:19].replace('T', ' ')}"


def formula_text(result: WorkloadResult) -> str:
    h, t_cache, t_db = result.hit_ratio, result.t_cache_ms, result.t_db_ms
    if h is None or t_cache is None or t_db is None:
        return "Not enough hits and database reads to plug into the formula."
    text = (f"{FORMULA} = {h:.3f}·{t_cache:.3f} + {1 - h:.3f}·({t_cache:.3f} + {t_db:.3f}) "
            f"= {result.t_avg_predicted_ms:.3f} ms predicted; {result.t_avg_measured_ms:.3f} ms measured "
            f"(mean of every cached-path read). Uncached, every read costs T_db = {t_db:.3f} ms.")
    if result.t_miss_ms is not None:
        text += (f" A miss measured {result.t_miss_ms:.3f} ms on average against T_cache + T_db = "
                 f"{t_cache + t_db:.3f} ms: the model leaves out the SET that writes the entry back, and means "
                 "carry every outlier (compare the p50s).")
    return text


@ui.page("/caching")
async def caching_page() -> None:
    lab = current_lab()
    if not await lab_started("4 · Caching"):
        return
    history: list[dict[str, Any]] = []

    with frame("4 · Caching", "A read-through Redis cache in front of the user repository: it counts its own "
               "hits, invalidates after commit, and fails open when Redis is gone."):
        degraded_banner = ui.label().classes("w-full p-3 rounded bg-orange-2 text-orange-10").mark("cache-degraded")
        degraded_banner.set_visibility(False)

        policy = lab.caching.policy
        with section("Read through the cache", "Profile and latest AIR score, each cached as JSON under "
                     f"{CACHE_PREFIX}<family>:<user id> with a TTL of {policy.ttl_s:g} s ± {policy.jitter:.0%} "
                     f"({policy.negative_ttl_s:g} s for “nothing”)."):
            no_users = ui.row().classes("items-center gap-4")
            with no_users:
                ui.label("There are no users yet.")
                load_button = ui.button("Load 1,000 sample users", icon="download", on_click=lambda: load_users()) \
                    .mark("load-users")
                load_spinner = ui.spinner(size="sm")
                load_spinner.set_visibility(False)
            with ui.row().classes("items-end gap-3 w-full"):
                user_select = ui.select({}, label="User", with_input=True).props("outlined dense") \
                    .classes("min-w-[22rem]").mark("cache-user")
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

        with section("Write, then read again", "The cache follows every committed unit of work: the keys of "
                     "what a transaction wrote are deleted right after its commit, and a rollback deletes "
                     "nothing. Fetch before and after to see MISS, then HIT, with the new value."):
            with ui.row().classes("items-end gap-3"):
                name_input = ui.input("New name").props("outlined dense").mark("edit-name")
                years_input = ui.number("Years of experience", min=0, max=70, format="%d") \
                    .props("outlined dense").classes("w-44").mark("edit-years")
                ui.button("Save profile", icon="save", on_click=lambda: save_profile()).mark("save-profile")
                ui.button("Calculate a new score", icon="calculate", on_click=lambda: new_score()) \
                    .mark("new-score")
                fail_box = ui.checkbox("Fail before commit (roll back)").mark("fail-before-commit")
            write_result = ui.label().mark("write-result")

        with section("Fail-open", "The switch points the cache at a closed port: a real connection error on "
                     "every Redis call. Reads still answer, from the database; errors are counted; a small "
                     f"circuit breaker skips Redis for {policy.retry_after_s:g} s after a failure so a dead "
                     "server costs one timeout per interval, not one per read."):
            simulate_switch = ui.switch("Simulate Redis unreachable",
                                        value=lab.caching.simulating_unreachable,
                                        on_change=lambda e: simulate(e.value)).mark("simulate-down")

        with section("Keys in Redis", "What the cache holds right now; the remaining TTL is read from Redis "
                     "(PTTL) every second."):
            keys_summary = ui.label().mark("keys-summary")
            keys_table = ui.table(rows=[], columns=KEY_COLUMNS, row_key="key").props("dense flat") \
                .classes("w-full").mark("cache-keys")

        with section("Counters", "Counted by the cache itself on its own code paths, per key family; the hit "
                     "ratio is over the reads that reached Redis."):
            stat_labels: dict[tuple[str, str], ui.label] = {}
            with ui.grid(columns=3).classes("gap-x-8 gap-y-1").mark("cache-stats"):
                for text in ("", "profile", "score"):
                    ui.label(text).classes("font-medium")
                for name, title in STAT_ROWS:
                    ui.label(title).classes("text-grey-8")
                    for family in (PROFILE, SCORE):
                        stat_labels[name, family] = ui.label("–").classes("font-mono text-right") \
                            .mark(f"stat-{family}-{name}")
            server_label = ui.label().classes("text-body2").mark("server-counters")
            ui.button("Reset counters", icon="restart_alt", on_click=lambda: reset_counters()).props("flat") \
                .mark("reset-counters")

        with section("Workload", "K reads of the latest score with Zipf-like popularity (user of rank k drawn "
                     "∝ 1/kˢ, seeded), each read through the cache and again uncached, charted as it runs."):
            with ui.row().classes("items-end gap-3"):
                reads_input = ui.number("Reads (K)", value=2000, min=1, max=50000, format="%d") \
                    .props("outlined dense").classes("w-32").mark("workload-reads")
                skew_input = ui.number("Skew s", value=1.0, min=0, max=3, step=0.1).props("outlined dense") \
                    .classes("w-28").mark("workload-skew")
                cold_box = ui.checkbox("Start cold (invalidate everything first)", value=True).mark("workload-cold")
                workload_button = ui.button("Run workload", icon="play_arrow", on_click=lambda: run_workload()) \
                    .mark("run-workload")
            chart = workload_chart()
            ui.label(FORMULA).classes("font-mono text-body1")
            workload_result = ui.label().classes("text-body1").mark("workload-result")

    # -- reads ---------------------------------------------------------------------------------------

    async def load_user_options() -> None:
        people = await lab.list_users(500)
        options = {u.id: f"{u.name} <{u.email}>" for u in people}
        keep = user_select.value if user_select.value in options else next(iter(options), None)
        user_select.set_options(options, value=keep)
        no_users.set_visibility(not people)

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
            lookup = await lab.caching.read(family, user_select.value)
        except ValidationError as problem:
            notify_error(str(problem))
            return
        await refresh()  # counters and keys first: once the read shows, everything it changed shows with it
        show(family, lookup)

    async def invalidate_user() -> None:
        try:
            deleted = await lab.caching.invalidate_user(user_select.value)
        except ValidationError as problem:
            notify_error(str(problem))
            return
        ui.notify(f"Deleted {deleted} key(s) of this user", type="info")
        await refresh()

    async def invalidate_all() -> None:
        deleted = await lab.caching.invalidate_all()
        ui.notify(f"Deleted {deleted} cache key(s)", type="info")
        await refresh()

    async def load_users() -> None:
        load_button.disable()
        load_spinner.set_visibility(True)
        try:
            count = await lab.load_samples(1000)
        except (ValidationError, ValueError) as problem:
            notify_error(str(problem))
            return
        finally:
            load_button.enable()
            load_spinner.set_visibility(False)
        ui.notify(f"Loaded {count:,} users", type="positive")
        await load_user_options()

    # -- writes --------------------------------------------------------------------------------------

    async def save_profile() -> None:
        try:
            changes = await lab.caching.edit_profile(user_select.value, name=name_input.value or None,
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
            await load_user_options()
        await refresh()

    async def new_score() -> None:
        try:
            outcome = await lab.outbox.calculate_score(user_select.value, fail_after_write=fail_box.value)
        except ValidationError as problem:
            notify_error(str(problem))
            return
        if isinstance(outcome, ScoreRecorded):
            write_result.text = (f"Committed a new score (AIR {outcome.air_score:.2f}) and its outbox event; "
                                 "the score key was invalidated after the commit.")
        else:
            write_result.text = (f"Rolled back: {outcome.scores_found} score row(s) exist afterwards; "
                                 "no key invalidated, the cached score stays valid.")
        await refresh()

    # -- fail-open, keys, counters -------------------------------------------------------------------

    async def simulate(on: bool) -> None:
        if on != lab.caching.simulating_unreachable:  # not the echo of refresh() syncing the switch
            await lab.caching.simulate_unreachable(on)
        await refresh()

    async def refresh() -> None:
        simulate_switch.value = lab.caching.simulating_unreachable  # another tab may have flipped it
        listing = await lab.caching.entries(KEYS_SHOWN)
        if listing is None:
            keys_summary.text = "Redis is unreachable: the keys cannot be listed."
            keys_table.rows = []
        else:
            keys_summary.text = f"{listing.total:,} key(s) under {CACHE_PREFIX}" + (
                f", the first {len(listing.entries)} shown" if listing.total > len(listing.entries) else "")
            keys_table.rows = [{"key": e.key, "ttl": f"{e.ttl_s:.1f}" if e.ttl_s is not None else "none",
                                "value": "nothing (negative)" if e.negative else e.family}
                               for e in listing.entries]
        counters = await lab.caching.counters()
        for (name, family), label in stat_labels.items():
            label.text = _stat(name, getattr(counters.families[family], name))
        server, total, health = counters.server, counters.total, counters.health
        if server is not None:
            server_label.text = (f"Redis INFO since reset (server-wide, every client): keyspace_hits "
                                 f"{server.keyspace_hits:,}, keyspace_misses {server.keyspace_misses:,}; "
                                 f"the cache counted {total.hits:,} hits and "
                                 f"{total.misses:,} misses.")
        else:
            server_label.text = ("Redis' own keyspace_hits/misses (INFO) are not available: fakeredis does not "
                                 "implement INFO." if lab.redis_backend == "fakeredis" else
                                 "Redis' own INFO counters are not available while Redis is unreachable.")
        if health.degraded:
            pending = health.pending_invalidations
            degraded_banner.text = (
                f"Cache degraded: {(health.last_error or '').rstrip('.')}. Reads are served by the database. "
                "Counted: "
                f"{total.errors:,} Redis error(s) on reads, {total.bypassed:,} read(s) that skipped Redis "
                f"while the breaker was open, {health.probe_errors:,} failed status check(s) or listing(s)"
                + (f"; {pending} invalidation(s) waiting for Redis." if pending else "."))
        degraded_banner.set_visibility(health.degraded)

    async def reset_counters() -> None:
        await lab.caching.reset_counters()
        await refresh()

    # -- workload ------------------------------------------------------------------------------------

    def on_point(point: WorkloadPoint) -> None:
        values = (None if point.hit_ratio is None else round(point.hit_ratio * 100, 2),
                  point.cached_p50_ms, point.cached_p95_ms, point.database_p50_ms, point.database_p95_ms)
        for series, value in zip(chart.options["series"], values, strict=True):
            if value is not None:
                series["data"].append([point.reads, round(value, 4)])
        chart.update()
        workload_result.text = f"{point.reads:,} reads, hit ratio " + (
            f"{point.hit_ratio:.1%}" if point.hit_ratio is not None else "–") + "…"

    async def run_workload() -> None:
        clear_chart(chart)
        workload_button.disable()
        workload_result.text = "Running…"
        try:
            result = await lab.caching.run_workload(reads_input.value, skew_input.value, cold=cold_box.value,
                                                  on_progress=on_point)
        except (ValidationError, ValueError) as problem:
            workload_result.text = ""
            notify_error(str(problem))
        else:
            last = result.points[-1]
            workload_result.text = (
                f"{result.spec.reads:,} reads over {result.users:,} users in {result.elapsed_s:.1f} s: "
                f"hit ratio {_stat('hit_ratio', result.hit_ratio)}"
                + (f" ({result.degraded:,} reads Redis could not serve)" if result.degraded else "")
                + f"; cached p50 {measured(last.cached_p50_ms, 3, ' ms')} / p95 "
                f"{measured(last.cached_p95_ms, 3, ' ms')}, database p50 {measured(last.database_p50_ms, 3, ' ms')}"
                f" / p95 {measured(last.database_p95_ms, 3, ' ms')}. {formula_text(result)}")
        finally:
            workload_button.enable()
        await refresh()

    await load_user_options()
    await refresh()
    ui.timer(1.0, refresh)
