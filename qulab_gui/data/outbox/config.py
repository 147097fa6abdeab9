"""What the publisher is told and what it reports: its settings, the fault switches, a claimed event
and one tick's result. Plain data, shared by the SQL, the broker side and the loop."""

from __future__ import annotations

import os
import random
import socket
import uuid
from dataclasses import dataclass, field
from datetime import datetime

from ..models import DomainEvent

STREAM = "qulab:events"
# The publisher's own client: a broker that hangs (CLIENT PAUSE, a stalled network) becomes a
# transport failure after this long, and redis-py does not retry: the breaker decides when to try again.
PUBLISH_TIMEOUT_S = 3.0
EVENTS = DomainEvent.__table__  # the hot path uses Core statements: no ORM objects per event


@dataclass
class PublisherConfig:
    batch_size: int = 500
    lease_s: float = 10.0
    max_attempts: int = 5  # poison only: a transport failure never spends an attempt
    backoff_base_s: float = 1.0
    backoff_max_s: float = 60.0
    # The breaker's probes: exponential with full jitter from probe_base_s, capped so that a broker
    # that is back is found within a few seconds (the backlog is drained within 5 s of its return).
    probe_base_s: float = 0.25
    probe_max_s: float = 2.0
    probe_timeout_s: float = 0.5  # a PING that takes longer than this counts as "still down"
    half_open_batch: int = 10  # the one small batch a half-open breaker lets through


@dataclass
class Faults:
    """Switches that break the publisher on purpose, so its guarantees can be watched."""

    broker_down: bool = False  # every publish and probe fails as if Redis were unreachable (transport)
    crash_after_publish: bool = False  # published to the stream, then "dies" before marking
    hold_after_publish_s: float = 0.0  # widen the publish→mark window (the SIGKILL test aims at it)
    # Events the broker is made to reject (a real XADD with an ID Redis refuses): poison messages.
    poison: set[str] = field(default_factory=set)


@dataclass(frozen=True)
class TickResult:
    claimed: int = 0
    published: int = 0
    retried: int = 0  # poison: rejected by the broker, rescheduled with backoff
    dead_lettered: int = 0
    held: int = 0  # released untouched: behind a poison event of their aggregate, or the transport failed
    transport_failed: bool = False  # the broker was unreachable/slow/refusing: the breaker opened
    skipped: bool = False  # the breaker is open and no probe was due: not even a claim was made
    crashed: bool = False
    unmarked: int = 0  # on the stream but not marked when the (injected) crash hit: republished later
    error: str | None = None
    duration_s: float = 0.0


@dataclass(frozen=True)
class ClaimedEvent:
    id: str
    event_type: str
    aggregate_type: str
    aggregate_id: str
    payload: str  # JSON text exactly as stored
    occurred_at: datetime
    attempts: int

    @property
    def order_key(self) -> tuple[datetime, str]:
        return self.occurred_at, self.id

    @property
    def aggregate(self) -> str:
        return f"{self.aggregate_type}/{self.aggregate_id}"

    def stream_fields(self) -> dict[str, str]:
        return {
            "event_id": self.id, "event_type": self.event_type, "aggregate_type": self.aggregate_type,
            "aggregate_id": self.aggregate_id, "payload": self.payload, "occurred_at": self.occurred_at.isoformat(),
        }


def backoff_s(attempts: int, config: PublisherConfig, rng: random.Random) -> float:
    """Exponential backoff with "equal jitter" for a poison event: half the delay fixed, half random.

    Attempt n waits between d/2 and d where d = base·2^(n-1), capped: the delay still grows visibly
    while publishers that failed together do not retry in lock-step.
    """
    delay = min(config.backoff_max_s, config.backoff_base_s * 2 ** max(0, attempts - 1))
    return delay / 2 + rng.uniform(0, delay / 2)


def default_name() -> str:
    """Unique per publisher instance: a lease must name exactly one living publisher."""
    return f"{socket.gethostname()[:32]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
