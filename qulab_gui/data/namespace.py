"""Where one lab's data lives in Redis: `qulab:` on the desktop, `qulab:<learner>:` for a classroom's learner.

Every Redis name the labs use is derived here, so two learners on one Redis server never share a
key, a stream or a consumer group, and the single-user app keeps the contract's names
(`qulab:events`, `qulab:cache:…`).
"""

from __future__ import annotations

from dataclasses import dataclass

ROOT = "qulab"


@dataclass(frozen=True)
class RedisNames:
    root: str = ROOT

    @classmethod
    def for_learner(cls, learner: str) -> RedisNames:
        return cls(f"{ROOT}:{learner}")

    @property
    def cache_prefix(self) -> str:
        return f"{self.root}:cache:"

    @property
    def stream(self) -> str:
        return f"{self.root}:events"

    @property
    def projection(self) -> str:
        """The consumer's keys: seen ids, latest scores, counters."""
        return f"{self.root}:projection"


SINGLE_USER = RedisNames()
