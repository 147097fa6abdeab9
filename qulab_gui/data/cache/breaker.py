"""The cache's view of Redis' health: failing or not, the last error, and a small circuit breaker.

After a failed read or write, reads skip Redis for `retry_after_s` (so a dead server costs one
timeout per interval instead of one per read). Listing keys and INFO back off the same way on
their own failures, without opening the breaker for reads.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

log = logging.getLogger("qulab_gui.data.cache")


class Breaker:
    def __init__(self, retry_after_s: float, clock: Callable[[], float]) -> None:
        self.retry_after_s = retry_after_s
        self.clock = clock
        self.failing = False  # the last Redis operation failed
        self.last_error: str | None = None
        self._retry_at: float | None = None  # reads skip Redis until then
        self._probe_retry_at = 0.0  # key listing and INFO: likewise, after one of them failed

    @property
    def tripped(self) -> bool:
        """A read or write failed and Redis has not answered since (the breaker may have closed again)."""
        return self._retry_at is not None

    def is_open(self) -> bool:
        return self._retry_at is not None and self.clock() < self._retry_at

    def probe_blocked(self) -> bool:
        return self.is_open() or self.clock() < self._probe_retry_at

    def failed(self, error: BaseException, *, trip: bool = True) -> None:
        """Note a Redis failure; a failed read or write also opens the breaker (probes only report)."""
        if not self.failing:
            log.warning("Redis cache unavailable, reads go to the database: %s: %s", type(error).__name__, error)
        self.last_error = f"{type(error).__name__}: {error}"
        self.failing = True
        if trip:
            self._retry_at = self.clock() + self.retry_after_s

    def probe_failed(self, error: BaseException) -> None:
        self._probe_retry_at = self.clock() + self.retry_after_s
        self.failed(error, trip=False)

    def recovered(self) -> None:
        if self.failing:
            log.info("Redis cache reachable again")
        self.failing = False
        self._retry_at = None
        self._probe_retry_at = 0.0
        self.last_error = None

    def retry_now(self) -> None:
        """Let the next read and probe try Redis at once (its client was just switched)."""
        if self._retry_at is not None:
            self._retry_at = self.clock()
        self._probe_retry_at = 0.0
