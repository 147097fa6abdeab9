"""The publisher's circuit breaker: closed → open → half-open → closed.

Closed: ticks claim and publish as usual. A transport failure opens it: from then on a tick does
nothing at all (no claim query, no script call) until a probe is due; probes are a PING with a
short timeout, spaced by exponential backoff with full jitter (a random delay between 0 and
base·2^n, capped), so publishers that lost the broker together do not hammer it together.
A probe that answers makes it half-open: one small batch goes out; if the broker takes it the
breaker closes and the backlog drains at full speed, if not it opens again with a longer delay.

One WARNING when it opens and one INFO when it closes: an outage is two log lines, not one per tick.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from ..models import utcnow

log = logging.getLogger(__name__)

OUTAGES_KEPT = 50


class BreakerState(StrEnum):
    CLOSED = "closed"  # publishing as usual
    OPEN = "open"  # the broker is unreachable: nothing is claimed, a probe waits for its time
    HALF_OPEN = "half_open"  # a probe answered: one small batch decides


@dataclass
class Outage:
    """One period the breaker was not closed, on the monotonic clock (for charts) and in UTC."""

    started: float
    since: datetime
    error: str
    ended: float | None = None


class CircuitBreaker:
    def __init__(self, name: str, *, base_s: float, max_s: float, rng: random.Random | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.name = name
        self.base_s = base_s
        self.max_s = max_s
        self.state = BreakerState.CLOSED
        self.probes_failed = 0  # since it opened: the exponent of the next delay
        self.outages: list[Outage] = []
        self._next_probe = 0.0  # monotonic
        self._rng = rng or random.Random()
        self._clock = clock

    @property
    def is_open(self) -> bool:
        return self.state is BreakerState.OPEN

    @property
    def since(self) -> datetime | None:
        """When the current outage began (None while closed)."""
        return self.outages[-1].since if self.state is not BreakerState.CLOSED else None

    @property
    def next_probe_in_s(self) -> float | None:
        """Seconds until the next probe may run (None unless open)."""
        return max(0.0, self._next_probe - self._clock()) if self.state is BreakerState.OPEN else None

    @property
    def next_probe_at(self) -> datetime | None:
        wait_s = self.next_probe_in_s
        return None if wait_s is None else utcnow() + timedelta(seconds=wait_s)

    def probe_due(self) -> bool:
        return self.state is BreakerState.OPEN and self._clock() >= self._next_probe

    def trip(self, error: str) -> None:
        """A transport failure: open (or stay open with the next, longer, probe delay)."""
        if self.state is BreakerState.CLOSED:
            self.outages = [*self.outages[-OUTAGES_KEPT + 1:], Outage(self._clock(), utcnow(), error)]
            self.probes_failed = 0
            log.warning("outbox publisher %s: broker unreachable (%s); publishing paused, probing with backoff",
                        self.name, error)
        else:
            self.probes_failed += 1
        self.state = BreakerState.OPEN
        self._schedule_probe()

    def probe_soon(self) -> None:
        """There is news that the broker may be back (an operator cleared a fault): probe on the next
        tick instead of sitting out the rest of a backoff of up to `max_s`."""
        if self.state is BreakerState.OPEN:
            self._next_probe = self._clock()

    def probe_failed(self) -> None:
        self.probes_failed += 1
        self._schedule_probe()

    def probe_answered(self) -> None:
        self.state = BreakerState.HALF_OPEN

    def close(self) -> None:
        if self.state is BreakerState.CLOSED:
            return
        outage = self.outages[-1]
        outage.ended = self._clock()
        self.state = BreakerState.CLOSED
        log.info("outbox publisher %s: broker back after %.1f s; publishing resumed",
                 self.name, outage.ended - outage.started)

    def _schedule_probe(self) -> None:
        ceiling = min(self.max_s, self.base_s * 2 ** min(self.probes_failed, 30))
        self._next_probe = self._clock() + self._rng.uniform(0, ceiling)  # full jitter
