"""Lab 4's workload section: K Zipf-skewed reads through the cache and uncached, charted as they run."""

from __future__ import annotations

from nicegui import ui

from qulab_gui.lab import Lab, ValidationError, WorkloadPoint, WorkloadResult
from qulab_gui.ui.charts import chart, clear_chart, value_axis
from qulab_gui.ui.frame import Refresh, busy, measured, notify_error, section

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


def result_text(result: WorkloadResult) -> str:
    last = result.points[-1]
    return (f"{result.spec.reads:,} reads over {result.users:,} users in {result.elapsed_s:.1f} s: "
            f"hit ratio {hit_ratio_text(result.hit_ratio)}"
            + (f" ({result.degraded:,} reads Redis could not serve)" if result.degraded else "")
            + f"; cached p50 {measured(last.cached_p50_ms, 3, ' ms')} / p95 "
            f"{measured(last.cached_p95_ms, 3, ' ms')}, database p50 {measured(last.database_p50_ms, 3, ' ms')}"
            f" / p95 {measured(last.database_p95_ms, 3, ' ms')}. {formula_text(result)}")


def workload_section(lab: Lab, changed: Refresh) -> None:
    """The section; `changed` refreshes the rest of the page once a run has moved the counters."""
    with section("Workload", "K reads of the latest score with Zipf-like popularity (user of rank k drawn "
                 "∝ 1/kˢ, seeded), each read through the cache and again uncached, charted as it runs."):
        with ui.row().classes("items-end gap-3"):
            reads_input = ui.number("Reads (K)", value=2000, min=1, max=50000, format="%d") \
                .props("outlined dense").classes("w-32").mark("workload-reads")
            skew_input = ui.number("Skew s", value=1.0, min=0, max=3, step=0.1).props("outlined dense") \
                .classes("w-28").mark("workload-skew")
            cold_box = ui.checkbox("Start cold (invalidate everything first)", value=True).mark("workload-cold")
            button = ui.button("Run workload", icon="play_arrow", on_click=lambda: run()).mark("run-workload")
        workload = workload_chart()
        ui.label(FORMULA).classes("font-mono text-body1")
        outcome = ui.label().classes("text-body1").mark("workload-result")

    def on_point(point: WorkloadPoint) -> None:
        values = (None if point.hit_ratio is None else round(point.hit_ratio * 100, 2),
                  point.cached_p50_ms, point.cached_p95_ms, point.database_p50_ms, point.database_p95_ms)
        for series, value in zip(workload.options["series"], values, strict=True):
            if value is not None:
                series["data"].append([point.reads, round(value, 4)])
        workload.update()
        outcome.text = f"{point.reads:,} reads, hit ratio {hit_ratio_text(point.hit_ratio)}…"

    async def run() -> None:
        clear_chart(workload)
        outcome.text = "Running…"
        with busy(button):
            try:
                result = await lab.caching.run_workload(reads_input.value, skew_input.value, cold=cold_box.value,
                                                        on_progress=on_point)
            except (ValidationError, ValueError) as problem:
                outcome.text = ""
                notify_error(str(problem))
            else:
                outcome.text = result_text(result)
        await changed()
