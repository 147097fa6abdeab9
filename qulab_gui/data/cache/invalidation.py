"""Which keys a committed unit of work made stale, and invalidations remembered during an outage.

Every write of users and scores goes through a `UnitOfWork`; right after its commit the cache
deletes the keys of the users and scores that transaction wrote (ORM objects and Core bulk
inserts alike). An invalidation that cannot reach Redis is remembered here and applied before
Redis is trusted again, so no stale entry survives an outage.
"""

from __future__ import annotations

from redis.asyncio import Redis
from sqlalchemy import inspect

from ..models import AIRScore, User
from ..unit_of_work import UnitOfWork
from .keys import PROFILE, SCORE, CacheKeys


def written_keys(uow: UnitOfWork, names: CacheKeys) -> list[str]:
    """The cache keys of everything a committed unit of work wrote, in order, each once."""
    keys: dict[str, None] = {}  # ordered and unique
    for entity in uow.written:
        if isinstance(entity, User):
            keys[names.key(PROFILE, entity.id)] = None
            if inspect(entity).was_deleted:  # the database cascade took the scores with it
                keys[names.key(SCORE, entity.id)] = None
        elif isinstance(entity, AIRScore):
            keys[names.key(SCORE, entity.user_id)] = None
    for model, rows in uow.bulk_written:  # Core bulk inserts: no ORM objects, only their rows
        if model is User:
            keys.update((names.key(PROFILE, row["id"]), None) for row in rows)  # "no such user" was cacheable
        elif model is AIRScore:
            keys.update((names.key(SCORE, row["user_id"]), None) for row in rows)
    return list(keys)


class PendingInvalidations:
    """Deletes that could not reach Redis yet: some keys, or (after a failed `invalidate_all`) every key."""

    def __init__(self, names: CacheKeys) -> None:
        self.names = names
        self.keys: set[str] = set()
        self.everything = False

    def __bool__(self) -> bool:
        return bool(self.keys) or self.everything

    def __len__(self) -> int:
        return len(self.keys) + (1 if self.everything else 0)

    def clear(self) -> None:
        self.keys.clear()
        self.everything = False

    async def flush(self, client: Redis) -> None:
        """Apply what is remembered; raises the Redis error if that fails (what failed stays remembered)."""
        if self.everything:
            covered = set(self.keys)
            await self.names.delete_all(client)
            self.everything = False
            self.keys.difference_update(covered)
        if self.keys:
            sent = set(self.keys)  # keys added while DELETE is awaited stay for the next flush
            await client.delete(*sent)
            self.keys.difference_update(sent)
