"""Sending a batch to the stream, and telling the two kinds of failure apart.

A *transport* failure says nothing about the events: the connection was refused, reset or timed
out, or the server answered "try later" (`BUSY`, `LOADING`, `OOM`, …), or the broker-down switch
is on. A *poison* event is one the broker rejects by itself while the rest of the batch goes in.

The batch goes out as one script call that XADDs entry after entry under `redis.pcall` and returns
one result per entry, so a rejected entry cannot fail the others. It also keeps per-aggregate
order: once an entry is rejected, the later entries of its aggregate in the batch are not sent
("held") but wait behind it. The script runs atomically, so no consumer ever sees a later event
of an aggregate before an earlier one that was rejected.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError, ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from ..models import utcnow
from ..redis_client import client_options
from .config import PUBLISH_TIMEOUT_S, ClaimedEvent

# Replies a server gives when it cannot take writes *now*: about the server, never about the entry.
TRY_LATER_PREFIXES = ("BUSY", "LOADING", "MASTERDOWN", "TRYAGAIN", "OOM", "READONLY", "CLUSTERDOWN")
POISON_ID = "0-0"  # XADD refuses it ("must be greater than 0-0"): how the poison switch gets a real rejection

# KEYS[1]: the stream. ARGV, 7 per entry: the XADD id ('*'), then the values of the contract's fields
# (ClaimedEvent.stream_fields(), in that order).
# Returns per entry 'ok:<entry id>', 'error:<the broker's message>' or 'held'.
# (Field names live in the script and ARGV is read as few times as possible: on fakeredis every
# ARGV access and every redis.pcall is a call into Python.)
PUBLISH = """
local results, rejected, stream = {}, {}, KEYS[1]
for i = 1, #ARGV, 7 do
  local aggregate_type, aggregate_id = ARGV[i + 3], ARGV[i + 4]
  local aggregate = aggregate_type .. '/' .. aggregate_id
  if rejected[aggregate] then
    results[#results + 1] = 'held'
  else
    local reply = redis.pcall('XADD', stream, ARGV[i], 'event_id', ARGV[i + 1], 'event_type', ARGV[i + 2],
      'aggregate_type', aggregate_type, 'aggregate_id', aggregate_id, 'payload', ARGV[i + 5],
      'occurred_at', ARGV[i + 6])
    if type(reply) == 'table' and reply.err then
      rejected[aggregate] = true
      results[#results + 1] = 'error:' .. tostring(reply.err)
    else
      results[#results + 1] = 'ok:' .. reply
    end
  end
end
return results
"""


class BrokerDown(RedisConnectionError):
    """The injected broker failure; handled exactly like a real lost connection."""


def is_transport(error: BaseException | str) -> bool:
    """True for failures of the way to the broker (or of the broker as a whole), not of an event."""
    if isinstance(error, str):
        message = error
    elif isinstance(error, RedisConnectionError | RedisTimeoutError | OSError | TimeoutError):
        return True
    elif isinstance(error, ResponseError):
        message = str(error)
    else:
        return False
    return message.lstrip().upper().startswith(TRY_LATER_PREFIXES)


class TransportFailure(Exception):
    """The batch did not reach the broker: release it, charge nothing, open the breaker."""

    def __init__(self, cause: BaseException | str) -> None:
        self.cause = cause
        super().__init__(cause if isinstance(cause, str) else f"{type(cause).__name__}: {cause}")


@dataclass
class PublishOutcome:
    """What the broker said about each entry of one batch."""

    at: datetime
    accepted: list[ClaimedEvent] = field(default_factory=list)
    poison: list[tuple[ClaimedEvent, str]] = field(default_factory=list)
    held: list[ClaimedEvent] = field(default_factory=list)  # not sent: behind a rejected entry
    transport_error: str | None = None  # an entry refused with a "try later" reply

    @property
    def complete(self) -> bool:
        return not (self.poison or self.held or self.transport_error)


def script_args(batch: Iterable[ClaimedEvent], poison: set[str]) -> list[str]:
    args: list[str] = []
    for event in batch:
        args += [POISON_ID if event.id in poison else "*", *event.stream_fields().values()]
    return args


def read_results(batch: Sequence[ClaimedEvent], results: Sequence[str]) -> PublishOutcome:
    outcome = PublishOutcome(at=utcnow())
    for event, result in zip(batch, results, strict=True):
        if result.startswith("ok:"):
            outcome.accepted.append(event)
        elif result == "held":
            outcome.held.append(event)
        elif is_transport(message := result.removeprefix("error:")):
            outcome.transport_error = message
            outcome.held.append(event)
        else:
            outcome.poison.append((event, message))
    return outcome


def publisher_client(url: str) -> Redis:
    """A client for a publisher outside the app (relay, bench, tests): bounded replies, no retries."""
    return Redis.from_url(url, **client_options(PUBLISH_TIMEOUT_S, fail_fast=True))


class Broker:
    """The stream as the publisher sees it: send a batch, probe whether the server answers."""

    def __init__(self, redis: Redis, stream: str) -> None:
        self.redis = redis
        self.stream = stream
        self._script = redis.register_script(PUBLISH)

    async def send(self, batch: Sequence[ClaimedEvent], poison: set[str]) -> PublishOutcome:
        """One script call for the batch; raises TransportFailure if the call as a whole failed.

        A call refused as a whole (connection, timeout, OOM before the script ran, even an
        unexpected error reply) says nothing about any one event, so it is a transport failure.
        """
        try:
            results = await self._script(keys=[self.stream], args=script_args(batch, poison))
        except RedisError as error:
            raise TransportFailure(error) from error
        except OSError as error:
            raise TransportFailure(error) from error
        return read_results(batch, results)

    async def probe(self, timeout_s: float) -> bool:
        """A PING answered within `timeout_s` (a paused or dead server is "down")."""
        try:
            return bool(await asyncio.wait_for(self.redis.ping(), timeout_s))
        except (RedisError, OSError, TimeoutError):
            return False
