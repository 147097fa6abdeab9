"""Lab 3's results, shown: the comparison table, the strategy bar chart, the statement details, and
the sentences that explain a measurement which seems to contradict the lesson.

Split from the page so it stays short; everything here formats `LoadResult`s measured by the lab.
"""

from __future__ import annotations

from typing import Any

from nicegui import ui

from qulab_gui.lab import LoadResult
from qulab_gui.ui.charts import chart
from qulab_gui.ui.frame import table_column
from qulab_gui.ui.text import plural

RESULT_COLUMNS = [
    table_column("strategy", "Strategy"), table_column("statements", "Statements", align="right"),
    table_column("theory", "Theory says", align="right"), table_column("ms", "Time (ms)", align="right"),
    table_column("rows", "Rows fetched", align="right"), table_column("per_user", "Rows per user", align="right"),
    table_column("per_user_theory", "… because"),
    table_column("loaded", "Loaded (users / scores / assessments)"),
]
SHAPE_COLUMNS = [table_column("count", "Ran", align="right"),
                 table_column("sql", "Statement shape (literals and IN-lists folded)")]


def result_row(result: LoadResult) -> dict[str, Any]:
    return {
        "strategy": result.label, "statements": result.statements,
        "theory": f"{result.expected:,} {'✓' if result.matches_theory else '✗'}",
        "ms": round(result.elapsed_s * 1000, 1), "rows": result.rows_fetched,
        "per_user": round(result.rows_per_user, 1), "per_user_theory": rows_explained(result),
        "loaded": "stopped by the guard" if result.error else
        f"{result.users:,} / {result.scores:,} / {result.assessments:,}",
    }


def rows_explained(result: LoadResult) -> str:
    """Why a strategy fetched that many rows per user: joined multiplies the two collections."""
    if result.error or not result.users:
        return ""
    scores, assessments = result.scores / result.users, result.assessments / result.users
    if result.strategy == "joined":
        return f"scores × assessments = {scores:g} × {assessments:g}"
    return f"1 + scores + assessments = 1 + {scores:g} + {assessments:g}"


def show_details(container: ui.column, results: list[LoadResult]) -> None:
    """Per strategy, the 'similar queries' view of a debug toolbar and the first statements verbatim."""
    container.clear()
    with container:
        for result in results:
            title = f"{result.label}: {plural(result.statements, 'statement')}, {len(result.shapes)} distinct"
            with ui.expansion(title, icon="manage_search").classes("w-full").mark(f"details-{result.strategy}"):
                ui.table(rows=[{"count": count, "sql": shape} for shape, count in result.shapes],
                         columns=SHAPE_COLUMNS, row_key="sql").props("dense flat wrap-cells").classes("w-full")
                ui.label(f"The first {len(result.first_statements)} statements, verbatim").classes("text-grey-8")
                # One block, each statement under its number: one code element per statement made
                # this view most of the page's elements after a run (four strategies, five each).
                ui.code("\n\n".join(f"-- {number}\n{sql}" for number, sql in enumerate(result.first_statements, 1)),
                        language="sql").classes("w-full text-xs")


def bar_chart() -> ui.echart:
    """Statements (log axis by default, so 5 and 1 stay visible next to 2,001) and time per strategy."""
    label = {"show": True, "position": "top"}
    return chart("Statements and time per strategy", x_axis={"type": "category", "data": []},
                 y_axis=[statements_axis(log=True), {"type": "value", "name": "time (ms)"}],
                 series=[{"name": "statements", "type": "bar", "data": [], "label": label},
                         {"name": "time (ms)", "type": "bar", "yAxisIndex": 1, "data": [], "label": label}],
                 bottom=32).classes("w-full h-80")


def statements_axis(*, log: bool) -> dict[str, Any]:
    # A log axis starts at its min: 0.5 leaves a visible bar for the single statement of joined/raise.
    if log:
        return {"type": "log", "name": "statements (log scale)", "min": 0.5, "logBase": 10}
    return {"type": "value", "name": "statements", "minInterval": 1}


def set_log_scale(bars: ui.echart, log: bool) -> None:
    bars.options["yAxis"][0] = statements_axis(log=log)
    bars.update()


def guard_message(guard: LoadResult | None) -> str:
    """raiseload's refusal is the taught outcome, not a crash: say so."""
    if guard is None or not guard.error:
        return ""
    return f"raiseload refused the lazy load, as intended: {guard.error}"


def why_slower_than_lazy(results: list[LoadResult]) -> str:
    """When joined or selectin measured slower than lazy at this N, explain it from the numbers.

    On a local database a round trip costs almost nothing, so lazy's many statements are cheap,
    while joined's one statement returns the scores × assessments product per user. Empty when the
    measurement agrees with the lesson (or lazy has not run).
    """
    by_strategy = {result.strategy: result for result in results if not result.error}
    lazy = by_strategy.get("lazy")
    if lazy is None or not lazy.statements:
        return ""
    sentences = []
    per_trip_ms = lazy.elapsed_s * 1000 / lazy.statements
    for key in ("joined", "selectin"):
        other = by_strategy.get(key)
        if other is None or other.elapsed_s <= lazy.elapsed_s:
            continue
        why = (f"it fetched {other.rows_fetched:,} rows against lazy's {lazy.rows_fetched:,}: the joined "
               "product (scores × assessments per user) grows with every extra score"
               if key == "joined" and other.rows_fetched > lazy.rows_fetched
               else f"it built the same objects from {plural(other.statements, 'statement')}, and the "
                    "saving of fewer round trips is too small to see here")
        sentences.append(f"{key} took {other.elapsed_s * 1000:,.0f} ms against lazy's "
                         f"{lazy.elapsed_s * 1000:,.0f} ms at N = {lazy.n:,}: {why}.")
    if not sentences:
        return ""
    return (" ".join(sentences) + f" Lazy's {plural(lazy.statements, 'statement')} cost only "
            f"{per_trip_ms:.2f} ms each, because a round trip to a local database is nearly free. Against a "
            "remote database every round trip costs milliseconds: raise the network latency knob at the top "
            "of the page (2 ms is typical) and run again to see lazy fall behind.")
