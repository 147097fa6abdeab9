"""Creating and deleting users: validation before the session, one transaction per action.

Bad input raises `ValidationError` with a message meant for the page, before anything is written;
a constraint the database enforces (the unique email, for one) is turned into the same error.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from .models import AIRScore, Assessment, User
from .scoring import EDUCATION_LEVELS, OCCUPATIONS

# Deliberately simple: one @, no spaces, a dot in the domain. Real verification is a mail round-trip.
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MAX_YEARS = 70


class ValidationError(ValueError):
    """Input a user can fix; the message is shown as is."""


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
        """Normalise and validate raw form values; raises ValidationError on the first problem."""
        email = (email or "").strip().lower()
        name = " ".join((name or "").split())
        if not EMAIL.match(email):
            raise ValidationError(f"'{email}' is not a valid email address" if email else "Email is required")
        if len(email) > 254:
            raise ValidationError("Email is longer than 254 characters")
        if not name:
            raise ValidationError("Name must not be empty")
        if len(name) > 120:
            raise ValidationError("Name is longer than 120 characters")
        if occupation_code not in OCCUPATIONS:
            raise ValidationError("Choose an occupation from the list")
        if education_level not in EDUCATION_LEVELS:
            raise ValidationError("Choose an education level from the list")
        try:
            years = float(years_experience) if years_experience not in (None, "") else 0.0
        except (TypeError, ValueError):
            raise ValidationError("Years of experience must be a number") from None
        if years < 0:
            raise ValidationError("Years of experience cannot be negative")
        if years != int(years) or years > MAX_YEARS:
            raise ValidationError(f"Years of experience must be a whole number from 0 to {MAX_YEARS}")
        return cls(email, name, occupation_code, education_level, int(years))


@dataclass(frozen=True)
class DeletedUser:
    email: str
    assessments: int
    scores: int


async def create_user(session: AsyncSession, new: NewUser) -> User:
    """Insert one user in its own transaction; a duplicate email becomes a ValidationError."""
    user = User(
        email=new.email, name=new.name, occupation_code=new.occupation_code,
        education_level=new.education_level, years_experience=new.years_experience,
    )
    try:
        async with session.begin():
            if await session.scalar(select(User.id).where(User.email == new.email)):
                raise ValidationError(f"A user with email {new.email} already exists")
            session.add(user)
    except IntegrityError:  # a concurrent insert won the race past the check above
        raise ValidationError(f"A user with email {new.email} already exists") from None
    return user


async def delete_user(session: AsyncSession, user_id: str) -> DeletedUser:
    """Delete a user; the ORM cascade (delete-orphan) removes their assessments and scores."""
    async with session.begin():
        user = await session.get(User, user_id)
        if user is None:
            raise ValidationError("That user no longer exists")
        assessments = await session.scalar(select(func.count()).where(Assessment.user_id == user_id))
        scores = await session.scalar(select(func.count()).where(AIRScore.user_id == user_id))
        await session.delete(user)
    return DeletedUser(user.email, assessments or 0, scores or 0)


async def count_users(session: AsyncSession) -> int:
    return await session.scalar(select(func.count()).select_from(User)) or 0


async def recent_users(session: AsyncSession, limit: int = 200) -> list[User]:
    result = await session.scalars(select(User).order_by(User.created_at.desc(), User.email).limit(limit))
    return list(result)
