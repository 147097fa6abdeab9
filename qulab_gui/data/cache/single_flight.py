"""Single-flight: N concurrent misses of one key share one database load.

A load that an invalidation raced is marked, so the caller does not write it back (it may hold
pre-commit data). Per process only: across processes the same race would need leases or versions.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any


@dataclass(eq=False)
class Flight:
    """One database load in progress; later misses of the same key await its future."""

    future: asyncio.Future[Any]
    invalidated: bool = False


class SingleFlight:
    def __init__(self) -> None:
        self._inflight: dict[str, Flight] = {}

    async def load(self, key: str, load: Callable[[], Awaitable[Any]], *, on_join: Callable[[], None],
                   store: Callable[[Any, Flight], Awaitable[None]]) -> Any:
        """Run `load` once per key however many tasks ask at the same time.

        A task that finds a load going calls `on_join` and waits for it. The task that loads calls
        `store(value, flight)` after releasing the waiters; late arrivals still share the flight
        until the value is stored.
        """
        while (flight := self._inflight.get(key)) is not None:
            on_join()
            try:
                return await asyncio.shield(flight.future)  # a waiter's cancellation must not cancel the load
            except asyncio.CancelledError:
                task = asyncio.current_task()
                if not flight.future.cancelled() or (task is not None and task.cancelling()):
                    raise
                # the task doing the load was cancelled (e.g. its page closed): take the load over
        flight = Flight(asyncio.get_running_loop().create_future())
        self._inflight[key] = flight
        try:
            value = await load()
        except BaseException as error:
            self._land(key, flight)
            if isinstance(error, Exception):
                flight.future.set_exception(error)
                flight.future.exception()  # mark retrieved: nobody waiting is fine, not an asyncio error
            else:
                flight.future.cancel()
            raise
        flight.future.set_result(value)  # waiters go on now
        try:
            await store(value, flight)
        finally:
            self._land(key, flight)
        return value

    def invalidate(self, keys: Iterable[str]) -> None:
        """Loads in flight for these keys may hold the old row: they must not be written back."""
        for key in keys:
            if (flight := self._inflight.pop(key, None)) is not None:
                flight.invalidated = True

    def invalidate_all(self) -> None:
        for flight in self._inflight.values():
            flight.invalidated = True
        self._inflight.clear()

    def _land(self, key: str, flight: Flight) -> None:
        if self._inflight.get(key) is flight:
            del self._inflight[key]
