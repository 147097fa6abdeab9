"""Connecting to Redis, or to fakeredis when no server answers.

A classroom has no Redis server, so the app falls back to fakeredis (an in-process Redis with
streams and Lua) within a second and says so. Everything that wants Redis asks the returned
`RedisConnection` for a client, so a real server and the fake are used the same way.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from typing import Any

import fakeredis
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from qulab_gui.net import FAKE_REDIS
from qulab_gui.net import masked_redis_url as masked_url

from .latency import Latency, delay_commands

log = logging.getLogger(__name__)

PROBE_TIMEOUT_S = 0.45  # a refused port fails in ~1 ms; a hung server takes connect + PING, under 1 s
OPERATION_TIMEOUT_S = 1.0
BLOCKING_READ_TIMEOUT_S = 5.0  # for XREADGROUP BLOCK clients: longer than any block, yet never forever


@dataclass
class RedisConnection:
    backend: str  # "redis" or "fakeredis"
    url: str  # what was asked for, e.g. redis://127.0.0.1:6379/0 or "fake"
    client: Redis
    reason: str = ""  # why fakeredis is used, when it is
    _server: fakeredis.FakeServer | None = field(default=None, repr=False)
    latency: Latency | None = None  # a wait before every round trip of every client made here
    _extra: list[Redis] = field(default_factory=list, repr=False)

    @property
    def is_fake(self) -> bool:
        return self.backend == "fakeredis"

    def new_client(self, *, timeout_s: float = OPERATION_TIMEOUT_S, fail_fast: bool = False) -> Redis:
        """Another client on the same server, closed with this connection.

        `timeout_s` bounds each reply (longer for XREADGROUP BLOCK, shorter for a cache);
        `fail_fast` turns off redis-py's retries, for callers that fail open instead.
        """
        if self._server is not None:
            client: Redis = fakeredis.FakeAsyncRedis(server=self._server, decode_responses=True)
        else:
            client = Redis.from_url(self.url, **client_options(timeout_s, fail_fast=fail_fast))
        if self.latency is not None:
            delay_commands(client, self.latency)
        self._extra.append(client)
        return client

    async def close(self) -> None:
        for client in [self.client, *self._extra]:
            with contextlib.suppress(RedisError, OSError, RuntimeError):  # closing must never fail a shutdown
                await client.aclose()
        self._extra.clear()


def client_options(timeout_s: float, *, fail_fast: bool = False) -> dict[str, Any]:
    """redis-py keyword arguments: never wait forever, and optionally never retry."""
    options: dict[str, Any] = {"decode_responses": True, "socket_connect_timeout": PROBE_TIMEOUT_S,
                               "socket_timeout": timeout_s}
    if fail_fast:
        options["retry"] = Retry(NoBackoff(), 0)
    return options



def fake_connection(reason: str = "", url: str = FAKE_REDIS, latency: Latency | None = None) -> RedisConnection:
    server = fakeredis.FakeServer()
    client = fakeredis.FakeAsyncRedis(server=server, decode_responses=True)
    if latency is not None:
        delay_commands(client, latency)
    return RedisConnection("fakeredis", url, client, reason, server, latency=latency)


async def connect(url: str, latency: Latency | None = None) -> RedisConnection:
    """A real Redis at `url` if it answers PING within a second, else fakeredis (with the reason).

    With `latency`, every command of every client of the connection waits that long first.
    """
    if url == FAKE_REDIS:
        return fake_connection("forced with --redis-url fake", latency=latency)
    client = Redis.from_url(
        url, decode_responses=True, socket_connect_timeout=PROBE_TIMEOUT_S, socket_timeout=OPERATION_TIMEOUT_S,
    )
    if latency is not None:
        delay_commands(client, latency)
    try:
        # a hard cap over connect, PING and redis-py's own retries: the fallback comes within a second
        await asyncio.wait_for(client.ping(), timeout=2 * PROBE_TIMEOUT_S)
    except (RedisError, OSError, TimeoutError) as error:
        await client.aclose()
        reason = f"no Redis answered at {masked_url(url)} ({type(error).__name__}); using fakeredis"
        log.warning(reason)
        return fake_connection(reason, url, latency)
    return RedisConnection("redis", url, client, latency=latency)
