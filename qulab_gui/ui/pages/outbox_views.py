"""The Outbox page's pieces that hold no state: table columns, cell formats, the live chart and the
breaker's outages drawn on it, and the texts that explain the two kinds of failure."""

from __future__ import annotations

from typing import Any

from nicegui import ui

from qulab_gui.lab import RolledBack, ScoreRecorded
from qulab_gui.ui.charts import chart, value_axis
from qulab_gui.ui.frame import table_column

HISTORY_POINTS = 180
BREAKER_COLORS = {"closed": "positive", "half_open": "warning", "open": "negative"}
WHY_NOT_POISON = (
    "A transport failure (Redis refused, reset or timed out the connection, or answered \"try later\") "
    "says nothing about any event: the same event would have gone through a second earlier, so the "
    "publisher charges no attempt, gives the batch back at once and pauses behind its circuit breaker. "
    "A poison event is one the broker rejects by itself while it accepts its neighbours: only that "
    "one spends attempts and, after the last, becomes a dead letter.")
EVENT_COLUMNS = [
    table_column("occurred", "Occurred (UTC)"),
    table_column("event", "Event"),
    table_column("type", "Type"),
    table_column("aggregate", "Aggregate"),
    table_column("status", "Status"),
    table_column("attempts", "Attempts", align="right"),
    table_column("next", "Next attempt"),
    table_column("lease", "Leased to"),
    table_column("error", "Last error"),
]
STREAM_COLUMNS = [
    table_column("entry", "Stream entry"),
    table_column("event", "event_id"),
    table_column("type", "event_type"),
    table_column("aggregate", "aggregate_id"),
]
PROJECTION_COLUMNS = [
    table_column("user", "User"),
    table_column("score", "Latest AIR score downstream", align="right"),
]


def short(identifier: str | None) -> str:
    return identifier[:8] if identifier else ""


def clock(moment: Any) -> str:
    return moment.strftime("%H:%M:%S.%f")[:-3] if moment else ""


def write_text(outcome: ScoreRecorded | RolledBack) -> str:
    if isinstance(outcome, RolledBack):
        return (f"Rolled back: the failure was raised after both INSERTs, inside the transaction. Rows found "
                f"afterwards: air_scores with id {short(outcome.score_id)}: {outcome.scores_found}, "
                f"domain_events with id {short(outcome.event_id)}: {outcome.events_found}.")
    return (f"Committed score {outcome.air_score:g} (row {short(outcome.score_id)}) and its "
            f"event {short(outcome.event_id)} together; the event is pending.")


def burst_text(written: int) -> str:
    return f"Committed {written} scores, each with its event, in {written} transactions."


def kept_text(write: ScoreRecorded | RolledBack | None, burst: int | None) -> str:
    """What the learner's last write and burst did, kept from before this page was opened."""
    parts = ([f"Your last write: {write_text(write)}"] if write else []) + \
        ([f"Your last burst: {burst_text(burst)}"] if burst is not None else [])
    return " ".join(parts)


def outage_areas(outages: list, opened: float, now: float) -> list[list[dict]]:
    """The breaker's outages as echarts markArea pairs, in seconds on this page."""
    return [[{"name": "broker unreachable", "xAxis": round(max(0.0, o.started - opened), 1)},
             {"xAxis": round((o.ended if o.ended is not None else now) - opened, 1)}]
            for o in outages if (o.ended is None or o.ended >= opened)]


def history_chart() -> ui.echart:
    return chart(
        "The outbox over time",
        x_axis=value_axis("seconds on this page"),
        y_axis=[{"type": "value", "name": "events", "minInterval": 1},
                {"type": "value", "name": "p95 ms", "position": "right"}],
        series=[
            {"name": "pending", "type": "line", "showSymbol": False, "data": [], "color": "#ef6c00"},
            {"name": "published", "type": "line", "showSymbol": False, "data": [], "color": "#2e7d32"},
            {"name": "failed", "type": "line", "showSymbol": False, "data": [], "color": "#c62828"},
            {"name": "commit→stream p95 (ms)", "type": "line", "showSymbol": False, "data": [],
             "yAxisIndex": 1, "color": "#3949ab", "lineStyle": {"type": "dashed"},
             # periods the publisher's breaker was not closed: the broker was unreachable
             "markArea": {"silent": True, "itemStyle": {"color": "rgba(198, 40, 40, 0.12)"}, "data": []}},
        ],
    ).classes("w-full h-72")
