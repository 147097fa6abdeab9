"""Creating and deleting users: validation before the session, one unit of work per action.

Bad input raises `ValidationError` with a message meant for the page, before anything is written;
a constraint the database enforces (the unique email, for one) is turned into the same error.
Both writes go through a `UnitOfWork`, so the user cache drops the keys they made stale.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError

from .errors import ValidationError, all_problems, years_of_experience
from .models import User
from .scoring import EDUCATION_LEVELS, OCCUPATIONS
from .unit_of_work import SessionSource, UnitOfWork

# Deliberately simple: one @, no spaces, a dot in the domain. Real verification is a mail round-trip.
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@dataclass(frozen=True)
class NewUser:
    email: str
    name: str
    occupation_code: str
    education_level: str
    years_experience: int

    @classmethod
    def parse(
        cls, email: str | None, name: str | None, occupation_code: str | None,
        education_level: str | None, years_experience: float | int | str | None,
    ) -> NewUser:
        """Normalise and validate raw form values; one ValidationError lists every problem, one per line."""
        email = (email or "").strip().lower()
        name = " ".join((name or "").split())

        def check_email() -> None:
            if not EMAIL.match(email):
                raise ValidationError(f"'{email}' is not a valid email address" if email else "Email is required")
            if len(email) > 254:
                raise ValidationError("Email is longer than 254 characters")

        def check_name() -> None:
            if not name:
                raise ValidationError("Name must not be empty")
            if len(name) > 120:
                raise ValidationError("Name is longer than 120 characters")

        def check_choices() -> None:
            if occupation_code not in OCCUPATIONS:
                raise ValidationError("Choose an occupation from the list")
            if education_level not in EDUCATION_LEVELS:
                raise ValidationError("Choose an education level from the list")

        *_, years = all_problems(check_email, check_name, check_choices,
                                 lambda: years_of_experience(years_experience))
        return cls(email, name, occupation_code or "", education_level or "", years)


@dataclass(frozen=True)
class DeletedUser:
    email: str
    assessments: int
    scores: int


async def create_user(sessions: SessionSource, new: NewUser) -> User:
    """Insert one user in its own unit of work; a duplicate email becomes a ValidationError."""
    user = User(
        email=new.email, name=new.name, occupation_code=new.occupation_code,
        education_level=new.education_level, years_experience=new.years_experience,
    )
    try:
        async with UnitOfWork(sessions) as uow:
            if await uow.users.by_email(new.email) is not None:
                raise ValidationError(f"A user with email {new.email} already exists")
            uow.users.add(user)
            await uow.commit()
    except IntegrityError:  # a concurrent insert won the race past the check above
        raise ValidationError(f"A user with email {new.email} already exists") from None
    return user


async def delete_user(sessions: SessionSource, user_id: str) -> DeletedUser:
    """Delete a user; the database's ON DELETE CASCADE removes their assessments and scores.

    The relationships are `passive_deletes=True`, so the ORM issues one DELETE for the user and
    leaves the children to the foreign keys (SQLite enforces them only with PRAGMA foreign_keys=ON,
    set on every connection). The counts are read first, in the same transaction.
    """
    async with UnitOfWork(sessions) as uow:
        user = await uow.users.get(user_id)
        if user is None:
            raise ValidationError("That user no longer exists")
        assessments, scores = await uow.users.history_counts(user_id)
        await uow.users.delete(user)
        await uow.commit()
    return DeletedUser(user.email, assessments, scores)
