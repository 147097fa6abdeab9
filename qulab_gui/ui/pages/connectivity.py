"""Lab 2 · Connectivity & pooling: the engine, sample data, and a pool pushed past its limits."""

from nicegui import ui

from qulab_gui.lab import COMPONENTS, PoolSettings, PoolSnapshot, ProbeResult, ValidationError, current_lab
from qulab_gui.ui.frame import clear_chart, frame, lab_started, notify_error, section

POOL_SERIES = {"checked out": "#1565c0", "overflow": "#ef6c00", "waiting": "#c62828"}  # name: colour


def pool_chart() -> ui.echart:
    return ui.echart({
        "title": {"text": "Pool during the probe", "textStyle": {"fontSize": 14}},
        "tooltip": {"trigger": "axis"},
        "legend": {"top": 30},
        "grid": {"top": 72, "left": 56, "right": 24, "bottom": 48},
        "xAxis": {"type": "value", "name": "time (s)", "nameLocation": "middle", "nameGap": 28},
        "yAxis": {"type": "value", "name": "connections / sessions", "minInterval": 1},
        "series": [{"name": name, "type": "line", "step": "end", "showSymbol": False, "data": [], "color": color}
                   for name, color in POOL_SERIES.items()],
    }).classes("w-full h-80")


def wait_chart() -> ui.echart:
    return ui.echart({
        "title": {"text": "Checkout wait per session", "textStyle": {"fontSize": 14}},
        "tooltip": {"trigger": "axis"},
        "grid": {"top": 48, "left": 56, "right": 24, "bottom": 48},
        "xAxis": {"type": "category", "name": "session (in order of outcome)", "nameLocation": "middle",
                  "nameGap": 28, "data": []},
        "yAxis": {"type": "value", "name": "wait (ms)"},
        "series": [{"name": "wait", "type": "bar", "data": []}],
    }).classes("w-full h-64")


@ui.page("/connectivity")
async def connectivity_page() -> None:
    lab = current_lab()
    if not await lab_started("2 · Connectivity & pooling"):
        return
    with frame("2 · Connectivity & pooling", "One engine per app, a pool of connections shared by every request."):
        with section("Engine"):
            engine_info = ui.grid(columns="max-content 1fr").classes("gap-x-8 gap-y-1").mark("engine-info")

        with section("Sample data", "Users with assessments and scores computed by the scoring module."):
            with ui.row().classes("items-end gap-4"):
                n_users = ui.number("Users", value=200, min=1, max=20000, format="%d").props("outlined dense") \
                    .mark("sample-users")
                load_button = ui.button("Load sample data", icon="download",
                                        on_click=lambda: load()).mark("load-samples")
            progress = ui.linear_progress(value=0, show_value=False).props("size=12px rounded").mark("progress")
            sample_result = ui.label().mark("sample-result")

        with section("Concurrency probe", "K sessions at once against a pool of size + overflow connections. "
                     "Past that, sessions wait; past the timeout, they fail. The probe builds its own engine with "
                     "the limits chosen here, so the app's pool above never starves and its numbers stay put."):
            with ui.row().classes("items-end gap-4"):
                sessions = ui.number("Sessions (K)", value=20, min=1, max=200, format="%d").props("outlined dense") \
                    .classes("w-28").mark("probe-sessions")
                size = ui.number("Pool size", value=5, min=1, max=50, format="%d").props("outlined dense") \
                    .classes("w-28").mark("probe-size")
                overflow = ui.number("Max overflow", value=5, min=0, max=50, format="%d") \
                    .props("outlined dense").classes("w-28").mark("probe-overflow")
                timeout = ui.number("Timeout (s)", value=1.0, min=0.1, max=30, step=0.1) \
                    .props("outlined dense").classes("w-28").mark("probe-timeout")
                hold = ui.number("Hold (s)", value=0.5, min=0, max=30, step=0.1).props("outlined dense") \
                    .classes("w-28").mark("probe-hold")
                probe_button = ui.button("Run probe", icon="play_arrow", on_click=lambda: probe()).mark("run-probe")
            chart = pool_chart()
            waits = wait_chart()
            probe_result = ui.label().classes("text-body1").mark("probe-result")

    engine_values: dict[str, ui.label] = {}

    def show_engine() -> None:
        """Build the facts grid once, then only update the values (the pool's numbers move)."""
        pool = lab.pool_status()
        facts: dict[str, object] = {"URL": lab.database_url, "Dialect": lab.dialect}
        if pool is not None:
            facts |= {"Pool class": pool.pool_class, "Pool size": pool.size, "Max overflow": pool.max_overflow,
                      "Timeout (s)": pool.timeout_s, "Pre-ping": pool.pre_ping, "Checked out now": pool.checkedout}
        for key, value in facts.items():
            if value is None:
                continue
            if key not in engine_values:
                with engine_info:
                    ui.label(key).classes("text-grey-8")
                    engine_values[key] = ui.label().classes("font-mono break-all")
            engine_values[key].text = str(value)

    async def load() -> None:
        load_button.disable()
        progress.value = 0
        sample_result.text = "Loading…"

        def on_progress(done: int, total: int) -> None:
            progress.value = done / total
            sample_result.text = f"Inserted {done:,} of {total:,} users…"

        try:
            count = await lab.load_samples(int(n_users.value or 0), progress=on_progress)
        except ValueError as problem:  # ValidationError included
            sample_result.text = ""
            notify_error(str(problem))
        else:
            sample_result.text = f"Loaded {count:,} users with {len(COMPONENTS)} assessments and 1 score each."
            ui.notify(sample_result.text, type="positive")
        finally:
            load_button.enable()

    snapshots: list[PoolSnapshot] = []  # filled by the probe, drained into the chart by a ui.timer

    def draw_snapshots() -> None:
        if not snapshots:
            return
        for snap in snapshots:
            for series, value in zip(chart.options["series"], (snap.checked_out, snap.overflow, snap.waiting),
                                     strict=True):
                series["data"].append([round(snap.at_s, 3), value])
        snapshots.clear()
        chart.update()

    def draw_waits(result: ProbeResult) -> None:
        bars = [{"value": round(w * 1000, 1)} for w in sorted(result.waits_s)]
        bars += [{"value": round(w * 1000, 1), "itemStyle": {"color": "#c62828"}}
                 for w in sorted(result.timed_out_after_s)]
        waits.options["xAxis"]["data"] = [str(i + 1) for i in range(len(bars))]
        waits.options["series"][0]["data"] = bars
        waits.update()

    def draw(result: ProbeResult) -> None:
        clear_chart(chart)
        snapshots[:] = result.snapshots
        draw_snapshots()
        draw_waits(result)
        probe_result.text = describe(result)

    async def probe() -> None:
        clear_chart(chart)
        snapshots.clear()
        probe_button.disable()
        probe_result.text = "Running…"
        try:
            pool = PoolSettings(size=int(size.value or 0), max_overflow=int(overflow.value or 0),
                                timeout_s=float(timeout.value or 0))
            result = await lab.probe_pool(int(sessions.value or 0), pool, float(hold.value or 0),
                                          snapshots.append)
        except (ValidationError, ValueError) as problem:
            probe_result.text = ""
            notify_error(str(problem))
        else:
            draw(result)
            if result.timeouts:
                notify_error(f"Pool exhausted: {result.timeouts} session(s) timed out after {pool.timeout_s:g} s")
        finally:
            probe_button.enable()

    show_engine()
    if lab.last_probe is not None:
        draw(lab.last_probe)
    ui.timer(1.0, show_engine)
    ui.timer(0.1, draw_snapshots)


def describe(result: ProbeResult) -> str:
    limit = result.pool.size + result.pool.max_overflow
    text = (f"{result.completed} of {result.sessions} sessions got a connection (pool limit {limit}); "
            f"{result.timeouts} timed out; longest wait {result.max_wait_s * 1000:.0f} ms; "
            f"total {result.elapsed_s:.2f} s.")
    if result.errors:
        text += f" Errors: {result.errors[0]}"
    return text
