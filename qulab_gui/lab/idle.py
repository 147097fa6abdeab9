"""A classroom sandbox's background loop that found nothing to do rests, until its work is back.

A classroom runs a publisher and a consumer per learner, each on a timer: thirty learners mean
sixty loops polling empty tables and streams several times a second. A loop whose last tick found
nothing rests `seconds` instead, unless it is woken first by what makes work for it (a commit for
the publisher, a published batch for the consumer). The desktop's one lab never rests: its outbox
page shows every tick.
"""

from __future__ import annotations

import time


class IdleRest:
    def __init__(self, seconds: float, *, enabled: bool) -> None:
        self.seconds = seconds
        self.enabled = enabled
        self._until = 0.0  # monotonic

    @property
    def resting(self) -> bool:
        return time.monotonic() < self._until

    def rest(self) -> None:
        """The tick found nothing: skip the next ones for `seconds`."""
        if self.enabled:
            self._until = time.monotonic() + self.seconds

    def wake(self) -> None:
        """Work arrived: the next tick runs."""
        self._until = 0.0
