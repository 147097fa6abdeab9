"""Lab 2 · Connectivity & pooling: the engine, sample data, and a pool pushed past its limits.

Built from sections; each returns the refresh its timer runs.
"""

from __future__ import annotations

from collections.abc import Callable

from nicegui import ui

from qulab_gui.lab import (
    COMPONENTS,
    CONNECTIVITY,
    Lab,
    PoolSnapshot,
    ProbeResult,
    ValidationError,
    current_lab,
    probe_form,
)
from qulab_gui.ui.charts import chart, clear_chart, value_axis
from qulab_gui.ui.code_view import code_view
from qulab_gui.ui.frame import PAGE_TIMEOUT_S, busy, frame, lab_started, notify_error, section
from qulab_gui.ui.guided import guided_path
from qulab_gui.ui.kept import kept_results
from qulab_gui.ui.text import plural

TITLE = "2 · Connectivity & pooling"
POOL_SERIES = {"checked out": "#1565c0", "overflow": "#ef6c00", "waiting": "#c62828"}  # name: colour
# Waiting is dashed and drawn under the others, so where the lines meet the blue one stays visible.
POOL_STYLE = {"checked out": {"z": 3, "lineStyle": {"width": 3}, "areaStyle": {"opacity": 0.12}},
              "overflow": {"z": 2}, "waiting": {"z": 1, "lineStyle": {"type": "dashed", "width": 2}}}
WAIT_SERIES = {"got a connection": "#1565c0", "timed out": "#c62828"}  # the bars' colours, named in a legend


def pool_chart() -> ui.echart:
    return chart("Pool during the probe", x_axis=value_axis("time (s)"),
                 y_axis={"type": "value", "name": "connections / sessions", "minInterval": 1},
                 series=[{"name": name, "type": "line", "step": "end", "showSymbol": False, "data": [],
                          "color": color, **POOL_STYLE[name]} for name, color in POOL_SERIES.items()],
                 right=24).classes("w-full h-80")


def wait_chart() -> ui.echart:
    return chart("Checkout wait per session", right=24,
                 x_axis={"type": "category", "name": "session (in order of outcome)", "nameLocation": "middle",
                         "nameGap": 28, "data": []},
                 y_axis={"type": "value", "name": "wait (ms)"},
                 series=[{"name": name, "type": "bar", "stack": "wait", "color": color, "data": []}
                         for name, color in WAIT_SERIES.items()]).classes("w-full h-64")


def describe(result: ProbeResult) -> str:
    limit = result.pool.size + result.pool.max_overflow
    text = (f"{result.completed} of {result.sessions} sessions got a connection (pool limit {limit}); "
            f"{result.timeouts} timed out; {longest_wait(result)}; total {result.elapsed_s:.2f} s.")
    if result.errors:
        text += f" Errors: {result.errors[0]}"
    return text


def longest_wait(result: ProbeResult) -> str:
    """A session that timed out waited at least the pool timeout, and would have waited longer."""
    served = f"{result.max_wait_s * 1000:,.0f} ms"
    if not result.timeouts:
        return f"longest wait {served}"
    gave_up = min(result.timed_out_after_s) * 1000
    return (f"longest wait ≥ {gave_up:,.0f} ms ({plural(result.timeouts, 'session')} timed out at "
            f"{result.pool.timeout_s * 1000:,.0f} ms, the pool timeout; the longest wait that got a "
            f"connection was {served})")


def engine_section(lab: Lab) -> Callable[[], None]:
    """The app's engine and its pool's live numbers; returns the refresh that updates them."""
    with section("Engine"):
        grid = ui.grid(columns="max-content 1fr").classes("gap-x-8 gap-y-1").mark("engine-info")
    values: dict[str, ui.label] = {}

    def refresh() -> None:
        """Build the facts grid once, then only update the values (the pool's numbers move)."""
        pool = lab.pool_status()
        facts: dict[str, object] = {"URL": lab.database_url, "Dialect": lab.dialect}
        if pool is not None:
            facts |= {"Pool class": pool.pool_class, "Pool size": pool.size, "Max overflow": pool.max_overflow,
                      "Timeout (s)": pool.timeout_s, "Pre-ping": pool.pre_ping, "Checked out now": pool.checkedout}
        for key, value in facts.items():
            if value is None:
                continue
            if key not in values:
                with grid:
                    ui.label(key).classes("text-grey-8")
                    values[key] = ui.label().classes("font-mono break-all")
            values[key].text = str(value)

    return refresh


def samples_section(lab: Lab) -> None:
    with section("Sample data", "Users with assessments and scores computed by the scoring module."):
        with ui.row().classes("items-end gap-4"):
            n_users = ui.number("Users", value=200).props("outlined dense") \
                .mark("sample-users")
            button = ui.button("Load sample data", icon="download", on_click=lambda: load()).mark("load-samples")
            n_users.on("keydown.enter", lambda: load())  # Enter submits a one-field form
        progress = ui.linear_progress(value=0, show_value=False).props("size=12px rounded").mark("progress")
        result = ui.label().mark("sample-result")

    def on_progress(done: int, total: int) -> None:
        progress.value = done / total
        result.text = f"Inserted {done:,} of {total:,} users…"

    async def load() -> None:
        progress.value = 0
        result.text = "Loading…"
        with busy(button):
            try:
                count = await lab.load_samples(n_users.value, progress=on_progress)
            except ValueError as problem:  # ValidationError included: said next to the field, no toast
                result.text = str(problem)
            else:
                result.text = f"Loaded {plural(count, 'user')} with {len(COMPONENTS)} assessments and 1 score each."
                ui.notify(result.text, type="positive")


def probe_section(lab: Lab) -> Callable[[], None]:
    """K sessions against a pool; returns the refresh that draws the snapshots the probe collected."""
    with section("Concurrency probe", "K sessions at once against a pool of size + overflow connections. "
                 "Past that, sessions wait; past the timeout, they fail. The probe builds its own engine with "
                 "the limits chosen here, so the app's pool above never starves and its numbers stay put."):
        with ui.row().classes("items-end gap-4"):
            sessions = ui.number("Sessions (K)", value=20).props("outlined dense") \
                .classes("w-28").mark("probe-sessions")
            size = ui.number("Pool size", value=5).props("outlined dense") \
                .classes("w-28").mark("probe-size")
            overflow = ui.number("Max overflow", value=5) \
                .props("outlined dense").classes("w-28").mark("probe-overflow")
            timeout = ui.number("Timeout (s)", value=1.0, step=0.1) \
                .props("outlined dense").classes("w-28").mark("probe-timeout")
            hold = ui.number("Hold (s)", value=0.5, step=0.1).props("outlined dense") \
                .classes("w-28").mark("probe-hold")
            button = ui.button("Run probe", icon="play_arrow", on_click=lambda: probe()).mark("run-probe")
            for field in (sessions, size, overflow, timeout, hold):  # Enter in any field runs the probe
                field.on("keydown.enter", lambda: probe())
        pool_line = pool_chart()
        waits = wait_chart()
        probe_result = ui.label().classes("text-body1 whitespace-pre-line").mark("probe-result")

    snapshots: list[PoolSnapshot] = []  # filled by the probe, drained into the chart by a ui.timer

    def draw_snapshots() -> None:
        if not snapshots:
            return
        for snap in snapshots:
            for series, value in zip(pool_line.options["series"], (snap.checked_out, snap.overflow, snap.waiting),
                                     strict=True):
                series["data"].append([round(snap.at_s, 3), value])
        snapshots.clear()
        pool_line.update()

    def draw_waits(result: ProbeResult) -> None:
        served = [round(w * 1000, 1) for w in sorted(result.waits_s)]
        failed = [round(w * 1000, 1) for w in sorted(result.timed_out_after_s)]
        gap_for = [None]  # one bar per session: each series leaves the other's sessions empty
        waits.options["xAxis"]["data"] = [str(i + 1) for i in range(len(served) + len(failed))]
        waits.options["series"][0]["data"] = served + gap_for * len(failed)
        waits.options["series"][1]["data"] = gap_for * len(served) + failed
        waits.update()

    def draw(result: ProbeResult) -> None:
        clear_chart(pool_line)
        snapshots[:] = result.snapshots
        draw_snapshots()
        draw_waits(result)
        probe_result.text = describe(result)

    async def probe() -> None:
        clear_chart(pool_line)
        snapshots.clear()
        probe_result.text = "Running…"
        with busy(button):
            try:
                count, pool, hold_s = probe_form(sessions.value, size.value, overflow.value, timeout.value,
                                                 hold.value)  # every field out of range at once, none clamped
                result = await lab.probe_pool(count, pool, hold_s, snapshots.append)
            except (ValidationError, ValueError) as problem:  # said under the form, not in a toast
                probe_result.text = str(problem)
                return
        draw(result)
        if result.timeouts:
            notify_error(f"Pool exhausted: {plural(result.timeouts, 'session')} timed out after {pool.timeout_s:g} s")

    if lab.last_probe is not None:
        draw(lab.last_probe)
    return draw_snapshots


@ui.page("/connectivity", response_timeout=PAGE_TIMEOUT_S)
async def connectivity_page() -> None:
    lab = current_lab()
    if not await lab_started(TITLE):
        return
    with frame(TITLE, "One engine per app, a pool of connections shared by every request."):
        guided_path("connectivity")
        show_engine = engine_section(lab)
        samples_section(lab)
        draw_snapshots = probe_section(lab)
        code_view("connectivity")
        kept_results(lab, CONNECTIVITY)
    show_engine()
    ui.timer(1.0, show_engine)
    ui.timer(0.1, draw_snapshots)
