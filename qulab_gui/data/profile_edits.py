"""Editing a user's profile in one unit of work; nothing here knows about the cache.

The cache follows every committed `UnitOfWork` (see `cache.py`), so this write invalidates the
profile's cache entry after commit, and a rolled-back edit (`fail_before_commit`) invalidates
nothing, without a line of cache code in the writer.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from .errors import SimulatedFailure, ValidationError, years_of_experience
from .unit_of_work import UnitOfWork


def profile_changes(name: str | None, years_experience: Any) -> dict[str, Any]:
    """Validated changes; raises ValidationError before any session is opened."""
    changes: dict[str, Any] = {}
    if name is not None and name.strip():
        name = " ".join(name.split())
        if len(name) > 120:
            raise ValidationError("Name is longer than 120 characters")
        changes["name"] = name
    if years_experience not in (None, ""):
        changes["years_experience"] = years_of_experience(years_experience)
    if not changes:
        raise ValidationError("Nothing to change: enter a new name or years of experience")
    return changes


async def update_profile(sessions: async_sessionmaker[AsyncSession], user_id: str, *, name: str | None = None,
                         years_experience: Any = None, fail_before_commit: bool = False) -> dict[str, Any]:
    """Apply the changes in one transaction; returns the new values."""
    changes = profile_changes(name, years_experience)
    async with UnitOfWork(sessions) as uow:
        user = await uow.users.get(user_id)
        if user is None:
            raise ValidationError("That user no longer exists")
        for attribute, value in changes.items():
            setattr(user, attribute, value)
        await uow.session.flush()  # the UPDATE really runs inside the transaction
        if fail_before_commit:
            raise SimulatedFailure("failed on purpose before commit: the edit was rolled back", user=user_id)
        await uow.commit()
    return changes
