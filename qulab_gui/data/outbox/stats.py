"""What the publisher counts about itself: published events, their rate and commit→stream latency,
transport failures, poison rejections, dead letters and injected crashes."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field

from ..stats import percentile
from .config import TickResult


@dataclass
class PublisherStats:
    ticks: int = 0
    published: int = 0  # events the broker accepted and that were then marked
    transport_failures: int = 0  # publish calls or probes that did not reach the broker
    poison_rejections: int = 0  # entries the broker refused by themselves
    dead_lettered: int = 0
    crashes: int = 0
    last_tick: TickResult | None = None
    # (monotonic time, events) of recent publishes, and occurred→published latencies in ms.
    _recent: deque[tuple[float, int]] = field(default_factory=lambda: deque(maxlen=2000), repr=False)
    latencies_ms: deque[float] = field(default_factory=lambda: deque(maxlen=5000), repr=False)
    _first_at: float = field(default=0.0, repr=False)  # when the first event was published

    def record_published(self, count: int, latencies_ms: Sequence[float]) -> None:
        if not self._recent:
            self._first_at = time.monotonic()
        self.published += count
        self._recent.append((time.monotonic(), count))
        self.latencies_ms.extend(latencies_ms)

    def published_per_s(self, window_s: float = 10.0) -> float:
        """Events per second over the last `window_s`, or over the time since the first publish if shorter
        (a publisher 2 s old that published 100 events did 50/s, not 10/s)."""
        if not self._recent:
            return 0.0
        now = time.monotonic()
        published = sum(n for at, n in self._recent if at >= now - window_s)
        return published / max(1.0, min(window_s, now - self._first_at))

    def latency_ms(self, q: float, last: int = 1000) -> float | None:
        """The q-th percentile (nearest rank) of the last `last` occurred→published latencies."""
        return percentile(list(self.latencies_ms)[-last:], q)
