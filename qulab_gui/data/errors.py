"""Errors the data layer raises on purpose, and the one place a busy database becomes one of them.

`ValidationError` carries a message meant for the page: bad input, a user that no longer exists,
a database too busy to take a write right now. `SimulatedFailure` is raised on purpose inside a
transaction, after its statements ran, to show that a rollback leaves nothing behind.
"""

from __future__ import annotations

import math
from typing import Any

from sqlalchemy.exc import OperationalError

MAX_YEARS = 70
BUSY_TIMEOUT_S = 5  # how long a write waits for SQLite's lock (PRAGMA busy_timeout) before giving up


class ValidationError(ValueError):
    """Input a user can fix (or a moment they can wait out); the message is shown as is."""


class SimulatedFailure(RuntimeError):
    """Raised on purpose after the writes ran, inside the transaction, so everything is rolled back.

    `written` names the rows the transaction had written (e.g. {"score": id, "event": id}), so a
    caller can look for them afterwards and show that none survived.
    """

    def __init__(self, message: str, **written: str) -> None:
        super().__init__(message)
        self.written = written


def whole_number(value: Any, what: str, low: int, high: int) -> int:
    """A whole number from `low` to `high` from a form value, or a ValidationError that says the range.

    Pages pass the field's raw value: nothing is clamped or rounded on the way, so 100000, 2.5 and
    an empty field are refused with a message instead of quietly becoming another number.
    """
    return int(in_range(value, f"{what} must be a whole number from {low:,} to {high:,}", low, high, whole=True))


def number_in_range(value: Any, what: str, low: float, high: float, unit: str = "") -> float:
    """A number (fractions allowed) from `low` to `high`, or a ValidationError that says the range."""
    return in_range(value, f"{what} must be a number from {low:g} to {high:g}{unit}", low, high, whole=False)


def in_range(value: Any, allowed: str, low: float, high: float, *, whole: bool) -> float:
    """`value` as a number within [low, high], or a ValidationError: `allowed` and what was given."""
    if value is None or (isinstance(value, str) and not value.strip()):
        raise ValidationError(f"{allowed} (the field is empty)")
    if isinstance(value, bool):
        raise ValidationError(f"{allowed} (got {value})")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValidationError(f"{allowed} (got {value!r})") from None
    except OverflowError:  # an int too large for a float
        raise ValidationError(f"{allowed} (got a number too large)") from None
    if not math.isfinite(number) or (whole and number != int(number)) or not low <= number <= high:
        raise ValidationError(f"{allowed} (got {number:,g})")  # NaN, inf, 2.5 for a whole number
    return number


def years_of_experience(value: Any) -> int:
    """A whole number of years from 0 to MAX_YEARS, from a form value; ValidationError otherwise."""
    return whole_number(value, "Years of experience", 0, MAX_YEARS)


def all_problems(*checks: Any) -> list[Any]:
    """Run every check (a callable), collect each ValidationError; raise them all at once, in order.

    A form then shows every problem in one go instead of one per submit.
    """
    values, problems = [], []
    for check in checks:
        try:
            values.append(check())
        except ValidationError as problem:
            problems.append(str(problem))
    if problems:
        raise ValidationError("\n".join(problems))
    return values


def is_database_busy(error: BaseException) -> bool:
    """SQLite's "database is locked": another connection held the write lock past busy_timeout."""
    return isinstance(error, OperationalError) and "database is locked" in str(error.orig)


def busy_as_message(error: BaseException) -> ValidationError | None:
    """The ValidationError a page shows when a write timed out on SQLite's lock; None for other errors."""
    if not is_database_busy(error):
        return None
    return ValidationError(f"The database is busy (another write held its lock for more than {BUSY_TIMEOUT_S} s, "
                           "e.g. a sample load), try again in a moment")


def require_user(user_id: str | None) -> str:
    """The user a lab action is about; a clear message when none is picked."""
    if not user_id:
        raise ValidationError("Pick a user first")
    return user_id
