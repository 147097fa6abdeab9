"""The chart options every lab page shares: one title style, tooltip, legend and grid.

Each page passes only what differs (axes and series); `clear_chart` empties a chart for a new run.
"""

from __future__ import annotations

from typing import Any

from nicegui import ui

Options = dict[str, Any]


def value_axis(name: str, **extra: Any) -> Options:
    """A numeric x axis with its name centred below it."""
    return {"type": "value", "name": name, "nameLocation": "middle", "nameGap": 28, **extra}


def chart(title: str, *, x_axis: Options, y_axis: Options | list[Options], series: list[Options],
          legend: bool = True, right: int = 64, bottom: int = 48) -> ui.echart:
    """A `ui.echart` with the shared look: 14 px title, axis tooltip, legend under the title."""
    options: Options = {
        "title": {"text": title, "textStyle": {"fontSize": 14}},
        "tooltip": {"trigger": "axis"},
        "grid": {"top": 72 if legend else 48, "left": 64, "right": right, "bottom": bottom},
        "xAxis": x_axis,
        "yAxis": y_axis,
        "series": series,
    }
    if legend:
        options["legend"] = {"top": 24}
    return ui.echart(options)


def clear_chart(target: ui.echart) -> None:
    """Empty every series of a chart (its axes and legend stay), ready for a new run."""
    for series in target.options["series"]:
        series["data"] = []
    target.update()
