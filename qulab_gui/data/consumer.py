"""The downstream side: a consumer group on `qulab:events` keeping a projection, deduplicated.

The outbox delivers at least once, so a consumer must be idempotent. This one remembers every
event id it has applied (a Redis set) and updates its projection, each user's latest AIR score
as seen downstream, in the same Lua script that records the id and acknowledges the entry (one
call per batch read): the three happen together or not at all, so a redelivered or republished
event is counted as a duplicate and has no effect.

Entries delivered to this consumer but not acknowledged (it died mid-batch) stay in the group's
pending entries list; on start it reads those first (`XREADGROUP … 0`), then new ones (`>`).

The broker can go away (restart, network): a failed poll is not retried at once but after an
exponential backoff with full jitter (capped at a few seconds), one WARNING when the trouble starts
and one INFO when it is over. After a failure the consumer re-reads its own pending entries first,
since a batch it read may not have been applied, and the event-id set keeps that idempotent.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import time
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError, ResponseError

from .outbox import STREAM, is_transport
from .score_calculation import EVENT_TYPE

log = logging.getLogger(__name__)

GROUP = "qulab-projection"
PREFIX = "qulab:projection"
RECONNECT_BASE_S = 0.25
RECONNECT_MAX_S = 3.0

# KEYS: seen ids, latest score per user, its occurred_at per user, counters, the stream
# ARGV: group, then 5 per entry: entry id, event id, user id ('' if the event carries no score), score,
# occurred_at. One call per batch: every entry is recorded, projected and acknowledged, or none is.
APPLY = """
local applied, duplicates = 0, 0
for i = 2, #ARGV, 5 do
  local entry_id, event_id, user_id, score, occurred_at = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], ARGV[i + 4]
  if redis.call('SADD', KEYS[1], event_id) == 0 then
    duplicates = duplicates + 1
  else
    applied = applied + 1
    if user_id ~= '' then
      local seen_at = redis.call('HGET', KEYS[3], user_id)
      if (not seen_at) or seen_at < occurred_at then
        redis.call('HSET', KEYS[2], user_id, score)
        redis.call('HSET', KEYS[3], user_id, occurred_at)
      end
    end
  end
  redis.call('XACK', KEYS[5], ARGV[1], entry_id)
end
if applied > 0 then redis.call('HINCRBY', KEYS[4], 'applied', applied) end
if duplicates > 0 then redis.call('HINCRBY', KEYS[4], 'duplicates', duplicates) end
return applied
"""


@dataclass(frozen=True)
class ConsumerState:
    applied: int
    duplicates: int
    delivered: int  # entries this process has read from the group
    latest_scores: dict[str, float]


class ProjectionConsumer:
    def __init__(self, redis: Redis, *, name: str = "lab", stream: str = STREAM, group: str = GROUP,
                 prefix: str = PREFIX, batch: int = 500) -> None:
        self.redis = redis
        self.name = name
        self.stream = stream
        self.group = group
        self.batch = batch
        self.keys = [f"{prefix}:seen", f"{prefix}:scores", f"{prefix}:scored_at", f"{prefix}:stats", stream]
        self.delivered = 0
        self._group_ready = False
        self._backlog = True  # our own unacknowledged entries are read first
        self._apply = redis.register_script(APPLY)
        self._lock = asyncio.Lock()  # stop() waits for a read in flight before the client closes
        self._stopped = False
        self.failures = 0  # polls failed in a row: the exponent of the reconnect backoff
        self.reconnects = 0  # outages survived
        self._retry_at = 0.0  # monotonic: no poll before this while the broker is failing

    async def _ensure_group(self) -> None:
        if self._group_ready:
            return
        try:
            # From the start of the stream: events published before the consumer first ran count too.
            await self.redis.xgroup_create(self.stream, self.group, id="0", mkstream=True)
        except ResponseError as error:
            if "BUSYGROUP" not in str(error):
                raise
        self._group_ready = True

    @property
    def connected(self) -> bool:
        return self.failures == 0

    async def poll(self, block_ms: int | None = None) -> int:
        """Read one batch from the group, apply and acknowledge it; returns entries handled.

        While the broker is failing it returns 0 without a command until the backoff has passed;
        a transport error is absorbed (counted and logged once), anything else is raised.
        """
        async with self._lock:
            if self._stopped or time.monotonic() < self._retry_at:
                return 0
            try:
                handled = await self._poll(block_ms)
            except (RedisError, OSError) as error:
                if not is_transport(error):
                    raise
                self._broker_failed(error)
                return 0
            if self.failures:
                log.info("outbox consumer %s: broker back after %d failed polls; re-reading pending entries",
                         self.name, self.failures)
                self.failures, self.reconnects = 0, self.reconnects + 1
            return handled

    def _broker_failed(self, error: BaseException) -> None:
        if not self.failures:
            log.warning("outbox consumer %s: broker unreachable (%s: %s); retrying with backoff",
                        self.name, type(error).__name__, error)
        self.failures += 1
        # What was read but not acknowledged is in our pending list: read that first when back.
        # The group is checked again too: a broker restarted without its data has lost it.
        self._backlog, self._group_ready = True, False
        ceiling = min(RECONNECT_MAX_S, RECONNECT_BASE_S * 2 ** min(self.failures - 1, 30))
        self._retry_at = time.monotonic() + random.uniform(0, ceiling)

    async def stop(self, timeout_s: float = 2.0) -> None:
        """No new polls; wait (bounded: Redis may hang) for the one in flight to acknowledge."""
        self._stopped = True
        try:
            await asyncio.wait_for(self._lock.acquire(), timeout_s)
        except TimeoutError:
            log.warning("outbox consumer: a poll was still waiting on Redis at shutdown")
        else:
            self._lock.release()

    async def _poll(self, block_ms: int | None) -> int:
        await self._ensure_group()
        entries = await self._read("0") if self._backlog else []
        if not entries:
            self._backlog = False
            entries = await self._read(">", block_ms)
        if entries:
            await self._apply(keys=self.keys, args=[self.group, *(arg for entry_id, fields in entries
                                                                   for arg in (entry_id, *_projection_args(fields)))])
        self.delivered += len(entries)
        return len(entries)

    async def _read(self, start: str, block_ms: int | None = None) -> list[tuple[str, dict[str, str]]]:
        """`0`: entries delivered to us earlier and never acknowledged; `>`: entries never delivered."""
        try:
            response = await self.redis.xreadgroup(self.group, self.name, {self.stream: start},
                                                   count=self.batch, block=block_ms)
        except ResponseError as error:
            if "NOGROUP" in str(error):  # the stream or group was deleted (a reset): create it next time
                self._group_ready = False
                return []
            raise
        return response[0][1] if response else []

    async def drain(self, max_polls: int = 10_000) -> int:
        total = 0
        for _ in range(max_polls):
            handled = await self.poll()
            total += handled
            if not handled:
                break
        return total

    async def state(self) -> ConsumerState:
        stats = await self.redis.hgetall(self.keys[3])
        scores = await self.redis.hgetall(self.keys[1])
        return ConsumerState(int(stats.get("applied", 0)), int(stats.get("duplicates", 0)), self.delivered,
                             {user: float(score) for user, score in scores.items()})

    async def reset(self) -> None:
        await self.redis.delete(*self.keys[:4])


def _projection_args(fields: dict[str, Any]) -> list[str]:
    event_id = fields.get("event_id", "")
    user_id, score = "", ""
    if fields.get("event_type") == EVENT_TYPE:
        try:
            payload = json.loads(fields.get("payload") or "{}")
            user_id, score = str(payload["user_id"]), str(float(payload["air_score"]))
        except (ValueError, KeyError, TypeError):
            log.warning("event %s has a malformed payload; counted, not projected", event_id)
    return [event_id, user_id, score, fields.get("occurred_at", "")]


async def stream_tail(redis: Redis, count: int = 10, stream: str = STREAM) -> list[dict[str, str]]:
    """The newest entries of the stream, newest first, with their stream entry id."""
    try:
        entries = await redis.xrevrange(stream, count=count)
    except RedisError as error:
        log.warning("could not read the stream: %s", error)
        return []
    return [{"entry_id": entry_id, **fields} for entry_id, fields in entries]
