"""Lab 3 · Repository & N+1: one question asked four ways, every statement counted by the engine.

Built from sections (sample data, one run, the sweep); each returns what the page refreshes.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from nicegui import ui

from qulab_gui.lab import (
    COMPONENTS,
    NPLUS1,
    SELECTIN_CHUNK,
    STRATEGIES,
    SWEEP_SIZES,
    SWEPT,
    Lab,
    LoadResult,
    ValidationError,
    current_lab,
)
from qulab_gui.ui.charts import chart, clear_chart, value_axis
from qulab_gui.ui.code_view import code_view
from qulab_gui.ui.frame import PAGE_TIMEOUT_S, Refresh, busy, frame, lab_started, notify_error, section
from qulab_gui.ui.guided import guided_path
from qulab_gui.ui.kept import kept_results
from qulab_gui.ui.latency_knob import latency_knob
from qulab_gui.ui.pages.nplus1_results import (
    RESULT_COLUMNS,
    bar_chart,
    guard_message,
    result_row,
    set_log_scale,
    show_details,
    why_slower_than_lazy,
)
from qulab_gui.ui.text import plural

TITLE = "3 · Repository & N+1"
COLORS = {"lazy": "#c62828", "selectin": "#2e7d32", "joined": "#1565c0", "raise": "#6d4c41"}


def sweep_chart(title: str, y_name: str) -> ui.echart:
    return chart(title, x_axis=value_axis("N (users)"), y_axis={"type": "value", "name": y_name},
                 series=[{"name": strategy, "type": "line", "color": COLORS[strategy], "data": []}
                         for strategy in SWEPT], right=24).classes("flex-1 min-w-[360px] h-80")


def data_section(lab: Lab, on_users: Callable[[int], None]) -> Refresh:
    """Add sample users and scores; returns the refresh of the row counts (which tells `on_users` too)."""
    with section("Sample data", f"Users with {len(COMPONENTS)} assessments each and scores computed from them."):
        counts = ui.label().classes("text-body1").mark("data-counts")
        with ui.row().classes("items-end gap-4"):
            new_users = ui.number("Users", value=1000) \
                .props("outlined dense").classes("w-28").mark("new-users")
            per_user = ui.number("Scores per user", value=5) \
                .props("outlined dense").classes("w-32").mark("scores-per-user")
            buttons = [ui.button("Add sample users", icon="group_add", on_click=lambda: add_users()).mark("add-users"),
                       ui.button("Add sample scores", icon="add_chart", on_click=lambda: add_scores())
                       .mark("add-scores")]
        progress = ui.linear_progress(value=0, show_value=False).props("size=12px rounded").mark("data-progress")
        status = ui.label().mark("data-status")

    async def refresh() -> None:
        rows = await lab.count_rows()
        users, scores = rows.users, rows.air_scores
        on_users(users)
        counts.text = (f"{plural(users, 'user')} · {plural(rows.assessments, 'assessment')} · "
                       f"{plural(scores, 'score')}"
                       + (f" (≈ {scores / users:.1f} per user)" if users else ": add sample users to begin"))

    def on_progress(done: int, total: int) -> None:
        progress.value = done / total
        status.text = f"{done:,} of {total:,} users…"

    async def add(action: Callable[[], Awaitable[str]]) -> None:
        progress.value = 0
        status.text = "Working…"
        with busy(*buttons):
            try:
                status.text = await action()
            except ValueError as problem:  # ValidationError included: shown next to the fields, not as a toast
                status.text = str(problem)
                status.classes(replace="text-negative whitespace-pre-line")
            else:
                status.classes(replace="")
        await refresh()

    async def add_users() -> None:
        async def action() -> str:
            count = await lab.load_samples(new_users.value, per_user.value, progress=on_progress)
            return f"Added {plural(count, 'user')} with {plural(int(per_user.value), 'score')} each."
        await add(action)

    async def add_scores() -> None:
        async def action() -> str:
            added = await lab.nplus1.add_sample_scores(per_user.value, progress=on_progress)
            return f"Added {plural(added, 'score')}." if added else "No users yet: add sample users first."
        await add(action)

    return refresh


def run_section(lab: Lab) -> tuple[ui.number, ui.row]:
    """One strategy or all four at one N; returns the N input and the 'measuring…' indicator."""
    latest: dict[str, LoadResult] = {}
    with section("Load the first N users", "Run one strategy or all four on the same N and compare."):
        with ui.row().classes("items-end gap-4"):
            n_input = ui.number("N (users)", value=None).props("outlined dense") \
                .classes("w-32").mark("n")
            strategy = ui.toggle({key: key for key in STRATEGIES}, value="lazy").mark("strategy")
            ui.button("Run", icon="play_arrow", on_click=lambda: run([strategy.value])).mark("run-one")
            ui.button("Run all four", icon="playlist_play", on_click=lambda: run(list(STRATEGIES))) \
                .props("outline").mark("run-all")
            with ui.row().classes("items-center gap-2") as running:
                ui.spinner(size="sm")
                ui.label("measuring…").classes("text-grey-8")
        run_status = ui.label().mark("run-status")
        with ui.row().classes("items-center gap-2 no-wrap") as guard_row:
            ui.icon("verified_user", color="info")
            guard_note = ui.label().classes("text-body2").mark("guard-result")
        why_slower = ui.label().classes("text-body2 text-warning-10 bg-amber-1 p-2 rounded") \
            .mark("why-slower")
        guard_row.visible = why_slower.visible = False
        table = ui.table(rows=[], columns=RESULT_COLUMNS, row_key="strategy").classes("w-full") \
            .props("dense wrap-cells").mark("results-table")
        ui.label("Rows fetched: lazy and selectin read each user, score and assessment once, so rows per "
                 "user = 1 + scores + assessments. joined reads one row per (score, assessment) pair of a "
                 "user: rows per user = scores × assessments. So with few scores joined fetches fewer rows than "
                 "lazy, with many it fetches more, and it grows as the product: compare the two columns "
                 "above.").classes("text-body2 text-grey-8").mark("rows-explained")
        bars = bar_chart().mark("bar-chart")
        ui.switch("Log scale for statements", value=True, on_change=lambda e: set_log_scale(bars, e.value)) \
            .mark("bar-log-scale").tooltip("Joined's single statement next to lazy's thousands")
        details = ui.column().classes("w-full gap-1")
        code_view("nplus1", "The four loaders: the code that runs")

    def show_result(result: LoadResult) -> None:  # a fresh result during a run, or a kept one on opening
        if any(previous.n != result.n for previous in latest.values()):
            latest.clear()  # compare strategies at one N only
        latest[result.strategy] = result
        results = [latest[key] for key in STRATEGIES if key in latest]
        table.rows = [result_row(r) for r in results]
        bars.options["xAxis"]["data"] = [r.strategy for r in results]
        bars.options["series"][0]["data"] = [r.statements for r in results]
        bars.options["series"][1]["data"] = [round(r.elapsed_s * 1000, 1) for r in results]
        bars.update()
        guard_note.text = guard_message(latest.get("raise"))
        guard_row.visible = bool(guard_note.text)
        why_slower.text = why_slower_than_lazy(results)
        why_slower.visible = bool(why_slower.text)
        show_details(details, results)

    async def run(strategies: list[str]) -> None:
        try:
            results = await lab.nplus1.measure(strategies, n_input.value, on_result=show_result)
        except ValidationError as problem:
            notify_error(str(problem))
        else:
            run_status.text = f"Measured {plural(len(results), 'strategy')} for N = {results[0].n:,}."

    for result in lab.nplus1.last_comparison():
        show_result(result)
    if latest:
        run_status.text = f"Your last runs at N = {next(iter(latest.values())).n:,}, kept from your last visit."
    return n_input, running


def sweep_section(lab: Lab, n_input: ui.number, running: ui.row) -> Callable[[], None]:
    """Lazy, selectin and joined over growing N; returns the refresh that shows whether a run holds the lab."""
    sizes = ", ".join(f"{size:,}" for size in SWEEP_SIZES[:5])
    with section("Scale sweep", f"Lazy, selectin and joined at N = {sizes}, … up to N; each point is drawn "
                 "as soon as it is measured. Lazy grows with N, "
                 f"selectin by one step per {SELECTIN_CHUNK}, joined stays 1."):
        with ui.row().classes("items-center gap-4"):
            sweep_button = ui.button(icon="show_chart", on_click=lambda: sweep()).mark("run-sweep") \
                .bind_text_from(n_input, "value", backward=lambda n: f"Run sweep up to N = {n:,g}"
                                if n else "Run sweep up to N (set above)")
            stop_button = ui.button("Stop", icon="stop", color="negative", on_click=lambda: lab.nplus1.stop()) \
                .props("outline").mark("stop-sweep")
            sweep_status = ui.label().mark("sweep-status")
            ui.space()
            ui.switch("Log scale", on_change=lambda e: log_scale(e.value)).mark("log-scale") \
                .tooltip("Selectin's steps and joined's single statement next to lazy's thousands")
        with ui.row().classes("w-full gap-4"):
            charts = (sweep_chart("Statements against N", "statements").mark("sweep-statements"),
                      sweep_chart("Time against N", "milliseconds").mark("sweep-time"))
    own_sweep = False  # this page's sweep: stopped when its tab goes away for good

    def log_scale(on: bool) -> None:
        for each in charts:
            each.options["yAxis"]["type"] = "log" if on else "value"
            each.update()

    async def sweep() -> None:
        nonlocal own_sweep
        started = False

        def on_point(result: LoadResult) -> None:
            nonlocal started
            if not started:  # clear the previous sweep only once this one really runs
                started = True
                for each in charts:
                    clear_chart(each)
            draw_point(result)
            sweep_status.text = f"N = {result.n:,}: {result.strategy} ran {plural(result.statements, 'statement')} " \
                                f"in {result.elapsed_s * 1000:,.0f} ms"

        own_sweep = True
        try:
            results = await lab.nplus1.sweep(n_input.value, on_result=on_point)
        except ValidationError as problem:
            notify_error(str(problem))
        else:
            last = f" up to N = {results[-1].n:,}" if results else ""
            sweep_status.text = f"Sweep finished: {plural(len(results), 'run')}{last}." if not lab.nplus1.stopped else \
                f"Sweep stopped after {plural(len(results), 'run')}{last}."
        finally:
            own_sweep = False

    def draw_point(result: LoadResult) -> None:
        index = SWEPT.index(result.strategy)
        charts[0].options["series"][index]["data"].append([result.n, result.statements])
        charts[1].options["series"][index]["data"].append([result.n, round(result.elapsed_s * 1000, 1)])
        for each in charts:
            each.update()

    kept_sweep = lab.nplus1.last_sweep()  # drawn again on opening, until the next sweep replaces it
    for point in kept_sweep:
        draw_point(point)
    if kept_sweep:
        sweep_status.text = f"Your last sweep, kept: {plural(len(kept_sweep), 'run')} up to N = {kept_sweep[-1].n:,}."

    def stop_own_sweep() -> None:
        if own_sweep:
            lab.nplus1.stop()

    def show_running() -> None:  # also while another tab's run holds the lab
        running.visible = lab.nplus1.running
        stop_button.visible = lab.nplus1.sweeping
        sweep_button.set_enabled(not lab.nplus1.running)

    ui.context.client.on_delete(stop_own_sweep)  # the tab is gone for good, not just reconnecting
    return show_running


def follow_users(n_input: ui.number) -> Callable[[int], None]:
    """Keep N at min(1000, users) while it is the page's own choice; a number the user typed stays."""
    chosen: float | None = None

    def follow(users: int) -> None:
        nonlocal chosen
        if users and (n_input.value is None or n_input.value > users or n_input.value == chosen):
            chosen = n_input.value = min(1000, users)

    return follow


@ui.page("/repository", response_timeout=PAGE_TIMEOUT_S)
async def nplus1_page() -> None:
    lab = current_lab()
    if not await lab_started(TITLE):
        return
    with frame(TITLE, "List the first N users with all their scores and assessments: "
               "the statements are counted by the engine, not estimated."):
        guided_path("nplus1")
        latency_knob(lab)
        refresh_counts = data_section(lab, lambda users: follow(users))
        n_input, running = run_section(lab)
        follow = follow_users(n_input)
        show_running = sweep_section(lab, n_input, running)
        kept_results(lab, NPLUS1)
    show_running()
    ui.timer(0.25, show_running)
    await refresh_counts()
