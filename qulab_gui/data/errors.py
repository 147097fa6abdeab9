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


def years_of_experience(value: Any) -> int:
    """A whole number of years from 0 to MAX_YEARS, from a form value; ValidationError otherwise."""
    whole = ValidationError(f"Years of experience must be a whole number from 0 to {MAX_YEARS}")
    try:
        years = float(value)
    except (TypeError, ValueError):
        raise ValidationError("Years of experience must be a number") from None
    except OverflowError:  # an int too large for a float
        raise whole from None
    if years < 0:
        raise ValidationError("Years of experience cannot be negative")
    if not math.isfinite(years) or years != int(years) or years > MAX_YEARS:  # NaN, inf and "1e400" too
        raise whole
    return int(years)


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
