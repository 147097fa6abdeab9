"""The code that runs on each lab, read from the modules the app is running ("The code that runs").

The lab layer picks the functions, because it is what wires them: every entry here is called by
the page's buttons or timers, so what the student reads is what just produced the numbers.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from types import ModuleType
from typing import Any

from qulab_gui.data import database, models, pooling, score_calculation
from qulab_gui.data.cache.invalidation import written_keys
from qulab_gui.data.cache.read_through import CachedUserRepository
from qulab_gui.data.introspection import SourceListing, source_listing
from qulab_gui.data.nplus1 import load_guarded, load_joined, load_lazy, load_selectin
from qulab_gui.data.outbox.publisher import OutboxPublisher
from qulab_gui.data.outbox.sql import claim
from qulab_gui.data.unit_of_work import UnitOfWork

from .outbox import OutboxLab

# lab name -> (what it does, the function); in the order a request goes through them
CODE: dict[str, list[tuple[str, ModuleType | Callable[..., Any]]]] = {
    "models": [("The typed declarative models", models)],
    "connectivity": [
        ("One engine per app: the pool that suits the dialect", database.create_engine),
        ("Every new SQLite connection gets these pragmas", database._sqlite_pragmas),
        ("Sessions from the engine", database.create_session_factory),
        ("The concurrency probe: K sessions against one pool", pooling.run_probe),
    ],
    "nplus1": [
        ("lazy: one SELECT per relationship touched (N+1)", load_lazy),
        ("selectin: one extra SELECT … IN per relationship", load_selectin),
        ("joined: one SELECT with LEFT OUTER JOINs", load_joined),
        ("raise: lazy loading made an error", load_guarded),
    ],
    "caching": [
        ("Read-through get: Redis first, the database on a miss", CachedUserRepository.read),
        ("A miss loads once (single flight) and writes back", CachedUserRepository._load),
        ("Write-back with a jittered TTL", CachedUserRepository._store),
        ("The unit of work calls its listeners after commit", UnitOfWork.commit),
        ("After-commit invalidation: the cache's listener", CachedUserRepository._invalidate_written),
        ("Which keys a committed transaction made stale", written_keys),
        ("Delete them, or remember them while Redis is down", CachedUserRepository._invalidate_keys),
    ],
    "outbox": [
        ("The outbox write: the score and its event in one transaction", score_calculation.record_score),
        ("The publisher timer's callback", OutboxLab.publish_tick),
        ("The publisher tick: one at a time, counted, database errors reported", OutboxPublisher.run),
        ("Claim, publish, mark: batches overlapping database and broker work", OutboxPublisher._run),
        ("Claim due events with a lease", claim),
    ],
}


@cache  # each module file is read once per process, not on every page view
def code_that_runs(lab: str) -> tuple[SourceListing, ...]:
    return tuple(source_listing(title, function) for title, function in CODE[lab])
