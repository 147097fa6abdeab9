"""The transactional outbox publisher, one job per module:

- `config`: settings, fault switches, a claimed event, one tick's result;
- `sql`: claim with a lease, mark published, release, charge a poison event, manual retry;
- `broker`: send a batch with one result per entry; transport failure versus poison;
- `breaker`: the publisher's circuit breaker (closed → open → half-open);
- `stats`: what the publisher counts about itself;
- `publisher`: the loop that ties them together.
"""

from .breaker import BreakerState, CircuitBreaker, Outage
from .broker import BrokerDown, TransportFailure, is_transport, publisher_client
from .config import (
    EVENTS,
    PUBLISH_TIMEOUT_S,
    STREAM,
    ClaimedEvent,
    Faults,
    PublisherConfig,
    TickResult,
    backoff_s,
    default_name,
)
from .publisher import OutboxPublisher
from .sql import claim, mark_published, oldest_pending_id, release, retry_failed
from .stats import PublisherStats

__all__ = [
    "EVENTS", "PUBLISH_TIMEOUT_S", "STREAM", "BreakerState", "BrokerDown", "CircuitBreaker", "ClaimedEvent",
    "Faults", "Outage", "OutboxPublisher", "PublisherConfig", "PublisherStats", "TickResult", "TransportFailure",
    "backoff_s", "claim", "default_name", "is_transport", "mark_published", "oldest_pending_id", "publisher_client",
    "release", "retry_failed",
]
