"""The lab report's charts as inline SVG, drawn here from the kept series: no script, no font file,
nothing fetched, so the report opens anywhere and prints as it shows.

Two shapes are enough for the labs: lines over a numeric x axis (a sweep, a probe over time, a
workload as it ran) and bars per category (statements per strategy). A log y axis keeps joined's
single statement visible next to lazy's thousands, as on the page.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

WIDTH, HEIGHT = 640, 300
LEFT, RIGHT, TOP, BOTTOM = 64, 150, 34, 46  # margins: the legend sits on the right
PALETTE = ("#c62828", "#2e7d32", "#1565c0", "#ef6c00", "#6a1b9a", "#00838f")
Point = tuple[float, float]


@dataclass(frozen=True)
class Scale:
    low: float
    high: float
    log: bool = False
    step: float = 0.0  # between two ticks of a linear axis

    @classmethod
    def fitting(cls, values: Sequence[float], *, log: bool = False, from_zero: bool = True) -> Scale:
        """An axis over `values` whose ticks fall on round numbers (1, 2 or 5 times a power of ten)."""
        values = [v for v in values if not log or v > 0] or [1.0]
        low, high = min(values), max(values)
        if log:  # from the power of ten below the smallest value, so a bar of 1 keeps a height
            floor = 10.0 ** math.floor(math.log10(low))
            return cls(floor / 2 if floor >= low else floor, 10 ** math.ceil(math.log10(high) + 1e-9), log=True)
        low = min(low, 0.0) if from_zero else low
        rough = (high - low) / 4 or abs(high) or 1.0
        power = 10.0 ** math.floor(math.log10(rough))
        step = next(m * power for m in (1, 2, 5, 10) if m * power >= rough)
        return cls(math.floor(low / step) * step, math.ceil(high / step) * step or step, step=step)

    def at(self, value: float) -> float:
        """Where `value` falls, 0 (low) to 1 (high)."""
        if self.log:
            value = max(value, self.low)
            return (math.log10(value) - math.log10(self.low)) / (math.log10(self.high) - math.log10(self.low))
        return (value - self.low) / (self.high - self.low)

    def ticks(self) -> list[float]:
        if self.log:
            return [10.0 ** e for e in range(math.ceil(math.log10(self.low)), round(math.log10(self.high)) + 1)]
        return [self.low + self.step * i for i in range(round((self.high - self.low) / self.step) + 1)]


def number(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 100 or value == int(value) else f"{value:.3g}"


def _frame(title: str, x_label: str, y_label: str, x: Scale | None, y: Scale) -> list[str]:
    """Title, plot area, y grid and both axes' labels; x ticks only on a numeric x axis (not for bars)."""
    inner_w, inner_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
             f'aria-label="{escape(title)}" class="chart">',
             f'<text x="{LEFT}" y="18" class="title">{escape(title)}</text>',
             f'<rect x="{LEFT}" y="{TOP}" width="{inner_w}" height="{inner_h}" class="plot"/>']
    for tick in y.ticks():
        ty = TOP + inner_h * (1 - y.at(tick))
        parts.append(f'<line x1="{LEFT}" x2="{LEFT + inner_w}" y1="{ty:.1f}" y2="{ty:.1f}" class="grid"/>'
                     f'<text x="{LEFT - 6}" y="{ty + 4:.1f}" text-anchor="end">{number(tick)}</text>')
    for tick in x.ticks() if x else []:
        tx = LEFT + inner_w * x.at(tick)
        parts.append(f'<text x="{tx:.1f}" y="{TOP + inner_h + 16}" text-anchor="middle">{number(tick)}</text>')
    parts.append(f'<text x="{LEFT + inner_w / 2}" y="{HEIGHT - 8}" text-anchor="middle" class="axis">'
                 f'{escape(x_label)}</text>')
    parts.append(f'<text transform="translate(14 {TOP + inner_h / 2}) rotate(-90)" text-anchor="middle" '
                 f'class="axis">{escape(y_label)}{" (log scale)" if y.log else ""}</text>')
    return parts


def _legend(names: Sequence[str]) -> list[str]:
    x = WIDTH - RIGHT + 14
    return [f'<rect x="{x}" y="{TOP + 18 * i}" width="12" height="12" fill="{PALETTE[i % len(PALETTE)]}"/>'
            f'<text x="{x + 18}" y="{TOP + 18 * i + 10}">{escape(name)}</text>' for i, name in enumerate(names)]


def line_chart(title: str, x_label: str, y_label: str, series: dict[str, Sequence[Point]], *,
               log_y: bool = False) -> str:
    """One polyline per series, with a dot per measured point."""
    points = [p for line in series.values() for p in line]
    x = Scale.fitting([p[0] for p in points])
    y = Scale.fitting([p[1] for p in points], log=log_y)
    inner_w, inner_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    parts = _frame(title, x_label, y_label, x, y)
    for i, line in enumerate(series.values()):
        color = PALETTE[i % len(PALETTE)]
        xy = [(LEFT + inner_w * x.at(px), TOP + inner_h * (1 - y.at(py))) for px, py in line]
        parts.append(f'<polyline fill="none" stroke="{color}" stroke-width="2" points="'
                     + " ".join(f"{px:.1f},{py:.1f}" for px, py in xy) + '"/>')
        if len(xy) <= 60:  # a dot per point while they stay apart
            parts += [f'<circle cx="{px:.1f}" cy="{py:.1f}" r="2.5" fill="{color}"/>' for px, py in xy]
    return "".join(parts + _legend(list(series)) + ["</svg>"])


def bar_chart(title: str, y_label: str, categories: Sequence[str], values: Sequence[float], *,
              log_y: bool = False) -> str:
    """One bar per category, its value written above it."""
    y = Scale.fitting(values, log=log_y)
    inner_w, inner_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = inner_w / max(1, len(categories))
    parts = _frame(title, "", y_label, None, y)
    for i, (category, value) in enumerate(zip(categories, values, strict=True)):
        height = inner_h * y.at(value) if not log_y or value > 0 else 0
        bx = LEFT + slot * i + slot * 0.2
        parts.append(f'<rect x="{bx:.1f}" y="{TOP + inner_h - height:.1f}" width="{slot * 0.6:.1f}" '
                     f'height="{height:.1f}" fill="{PALETTE[i % len(PALETTE)]}"/>'
                     f'<text x="{bx + slot * 0.3:.1f}" y="{TOP + inner_h - height - 4:.1f}" text-anchor="middle">'
                     f'{number(value)}</text>'
                     f'<text x="{bx + slot * 0.3:.1f}" y="{TOP + inner_h + 16}" text-anchor="middle">'
                     f'{escape(category)}</text>')
    return "".join(parts + ["</svg>"])
