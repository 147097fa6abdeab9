"""Simulated network latency: a real wait on every SQL statement and every Redis round trip.

On a laptop the database and Redis answer in microseconds, so a thousand round trips cost almost
nothing and the N+1 problem or a cache barely shows in the timings. Against a remote PostgreSQL
or Redis every round trip pays the network. `Latency` is that one knob, shared by the engine and
the Redis clients of a lab: a change applies at once to the next statement and command.

The waits never block an event loop: on the engine the wait runs inside SQLAlchemy's greenlet
and is awaited on the loop that runs the statement (`sqlalchemy.util.await_`); on Redis it is
an `asyncio.sleep` before the command is sent. Only plain sync code (no loop at all) sleeps.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.util import await_
from sqlalchemy.util.concurrency import in_greenlet

from .errors import in_range

MAX_MS = 20


@dataclass(frozen=True)
class NetworkLatency:
    """Milliseconds added to each round trip, 0 to MAX_MS."""

    ms: float = 0.0

    @classmethod
    def parse(cls, value: Any) -> NetworkLatency:
        """A latency from what a form or caller gave, or a ValidationError saying what is allowed."""
        allowed = f"Network latency must be a number of milliseconds from 0 to {MAX_MS}"
        return cls(in_range(value, allowed, 0, MAX_MS, whole=False))

    @property
    def seconds(self) -> float:
        return self.ms / 1000

    def __str__(self) -> str:
        return f"{self.ms:g} ms"


class Latency:
    """The latency in force for one lab: read by every delayed statement and command when it runs."""

    def __init__(self, ms: Any = 0) -> None:
        self.value = NetworkLatency.parse(ms)

    def set(self, ms: Any) -> NetworkLatency:
        """Change the latency; a bad value raises ValidationError and leaves the old one in force."""
        self.value = NetworkLatency.parse(ms)
        return self.value

    @property
    def ms(self) -> float:
        return self.value.ms

    async def wait(self) -> None:
        seconds = self.value.seconds
        if seconds:
            await asyncio.sleep(seconds)

    def wait_in_sync_code(self) -> None:
        """The wait from SQLAlchemy's sync event code: awaited on the loop when there is one."""
        seconds = self.value.seconds
        if not seconds:
            return
        if in_greenlet():  # an async engine: hand the sleep to the loop running this statement
            await_(asyncio.sleep(seconds))
        else:  # a sync engine outside any loop: nothing else to keep running
            time.sleep(seconds)


def delay_statements(engine: AsyncEngine, latency: Latency) -> None:
    """Wait `latency` after each statement the engine executes, as a reply crossing a network would.

    Listened for on `after_cursor_execute` and attached when the engine is made, before the
    `StatementRecorder`, so a recorded statement's duration includes its wait like a real one.
    """

    def wait(*_args: Any) -> None:
        latency.wait_in_sync_code()

    event.listen(engine.sync_engine, "after_cursor_execute", wait)


def delay_commands(client: Redis, latency: Latency) -> Redis:
    """Make every round trip of `client` wait `latency` first: one command, or one whole pipeline.

    Works on real Redis and fakeredis alike, since both send through redis-py's asyncio
    `Connection.send_packed_command`; must be called before the client opens a connection.
    """
    pool = client.connection_pool
    base = pool.connection_class

    class DelayedConnection(base):  # type: ignore[misc, valid-type]
        async def send_packed_command(self, command: Any, check_health: bool = True) -> None:
            await latency.wait()
            await super().send_packed_command(command, check_health)

    DelayedConnection.__name__ = f"Delayed{base.__name__}"
    pool.connection_class = DelayedConnection
    return client
