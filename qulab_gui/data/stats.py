"""Small summary statistics shared by the labs' live numbers and the benchmark."""

from __future__ import annotations

import math
from collections.abc import Sequence


def percentile(values: Sequence[float], q: float) -> float | None:
    """Nearest-rank percentile (q in 0-100): the smallest value with at least q % of `values` at or
    below it, i.e. the ceil(q/100 · n)-th smallest (the smallest for q = 0). None when there are none.

    Always one of the measured values, never an interpolation between two.
    """
    if not values:
        return None
    ordered = sorted(values)
    rank = math.ceil(q / 100 * len(ordered))
    return ordered[min(len(ordered), max(1, rank)) - 1]


def mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None
