"""Lab 4's workload section: K Zipf-skewed reads through the cache and uncached, charted as they run."""

from __future__ import annotations

from nicegui import ui

from qulab_gui.lab import Lab, ValidationError, WorkloadPoint, WorkloadSummary
from qulab_gui.ui.charts import chart, clear_chart, value_axis
from qulab_gui.ui.frame import Refresh, busy, measured, notify_error, section
from qulab_gui.ui.text import plural

FORMULA = "T_avg = H·T_cache + (1 − H)·(T_cache + T_db)"


def workload_chart() -> ui.echart:
    latency = {"type": "line", "showSymbol": True, "symbolSize": 4, "data": []}
    return chart("Workload: hit ratio and read latency", x_axis=value_axis("reads"),
                 y_axis=[{"type": "log", "name": "latency (ms)"},
                         {"type": "value", "name": "hit ratio (%)", "min": 0, "max": 100}],
                 series=[{"name": "hit ratio", "type": "line", "yAxisIndex": 1, "areaStyle": {"opacity": 0.08},
                          "showSymbol": False, "data": []},
                         {**latency, "name": "cached p50"},
                         {**latency, "name": "cached p95", "lineStyle": {"type": "dashed"}},
                         {**latency, "name": "database p50"},
                         {**latency, "name": "database p95", "lineStyle": {"type": "dashed"}}]).classes("w-full h-96")


def hit_ratio_text(ratio: float | None) -> str:
    return "–" if ratio is None else f"{ratio:.1%}"


def formula_text(result: WorkloadSummary) -> str:
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


def result_text(result: WorkloadSummary) -> str:
    last = result.points[-1]
    return (f"{plural(result.spec.reads, 'read')} over {plural(result.users, 'user')} in {result.elapsed_s:.1f} s: "
            f"hit ratio {hit_ratio_text(result.hit_ratio)}"
            + (f" ({result.degraded:,} reads Redis could not serve)" if result.degraded else "")
            + f"; cached p50 {measured(last.cached_p50_ms, 3, ' ms')} / p95 "
            f"{measured(last.cached_p95_ms, 3, ' ms')}, database p50 {measured(last.database_p50_ms, 3, ' ms')}"
            f" / p95 {measured(last.database_p95_ms, 3, ' ms')}. {formula_text(result)}")


def tail_note(result: WorkloadSummary, redis_backend: str, dialect: str) -> str:
    """Why the cached p95 came out above the database p95, from this run's numbers; "" when it did not."""
    if not result.points or not result.reads:
        return ""
    last = result.points[-1]
    cached, database = last.cached_p95_ms, last.database_p95_ms
    if cached is None or database is None or cached <= database:
        return ""
    miss_share = result.misses / result.reads
    text = f"The cached p95 ({cached:.3f} ms) is above the database p95 ({database:.3f} ms) in this run. "
    if miss_share >= 0.05:
        cost = f" ({result.t_miss_ms:.3f} ms on average)" if result.t_miss_ms is not None else ""
        return text + (f"{miss_share:.1%} of the cached-path reads were misses, more than the 5 % a p95 looks at, "
                       "so the p95 is a miss: the Redis GET, the database read and the SET that writes the entry "
                       f"back{cost}, more than a database read alone. A warm start or more skew raises the hit "
                       "ratio and moves the misses out of the p95.")
    return text + (f"Only {miss_share:.1%} were misses, so this tail is hits that waited: {redis_backend} and "
                   f"{dialect} both answer from this machine in well under a millisecond, and a garbage "
                   "collection or another task on the event loop delays a few reads of either path by as "
                   "much as a read costs. Against a remote database a read costs milliseconds: raise the "
                   "network latency knob at the top of the page and run again to see the cache's advantage.")


def workload_section(lab: Lab, changed: Refresh) -> None:
    """The section; `changed` refreshes the rest of the page once a run has moved the counters."""
    with section("Workload", "K reads of the latest score with Zipf-like popularity (user of rank k drawn "
                 "∝ 1/kˢ, seeded), each read through the cache and again uncached, charted as it runs."):
        with ui.row().classes("items-end gap-3"):
            reads_input = ui.number("Reads (K)", value=2000) \
                .props("outlined dense").classes("w-32").mark("workload-reads")
            skew_input = ui.number("Skew s", value=1.0, step=0.1).props("outlined dense") \
                .classes("w-28").mark("workload-skew")
            cold_box = ui.checkbox("Start cold (invalidate everything first)", value=True).mark("workload-cold")
            button = ui.button("Run workload", icon="play_arrow", on_click=lambda: run()).mark("run-workload")
        workload = workload_chart()
        ui.label(FORMULA).classes("font-mono text-body1")
        outcome = ui.label().classes("text-body1").mark("workload-result")
        tail = ui.label().classes("text-body2 bg-amber-1 p-2 rounded").mark("workload-tail")
        tail.visible = False

    def draw_point(point: WorkloadPoint) -> None:
        values = (None if point.hit_ratio is None else round(point.hit_ratio * 100, 2),
                  point.cached_p50_ms, point.cached_p95_ms, point.database_p50_ms, point.database_p95_ms)
        for series, value in zip(workload.options["series"], values, strict=True):
            if value is not None:
                series["data"].append([point.reads, round(value, 4)])
        workload.update()

    def on_point(point: WorkloadPoint) -> None:
        draw_point(point)
        outcome.text = f"{plural(point.reads, 'read')}, hit ratio {hit_ratio_text(point.hit_ratio)}…"

    def show(result: WorkloadSummary) -> None:  # the run just finished, or the one kept from before
        outcome.text = result_text(result)
        tail.text = tail_note(result, lab.redis_backend, lab.dialect)
        tail.visible = bool(tail.text)

    async def run() -> None:
        clear_chart(workload)
        outcome.text = "Running…"
        tail.visible = False
        with busy(button):
            try:
                result = await lab.caching.run_workload(reads_input.value, skew_input.value, cold=cold_box.value,
                                                        on_progress=on_point)
            except (ValidationError, ValueError) as problem:
                outcome.text = ""
                notify_error(str(problem))
            else:
                show(result.summary())
        await changed()

    kept = lab.caching.last_workload()
    if kept is not None:
        for point in kept.points:
            draw_point(point)
        show(kept)
