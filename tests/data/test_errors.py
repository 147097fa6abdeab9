"""The data layer's errors: one years-of-experience rule for creating and editing users, and one
SimulatedFailure for the labs' injected rollbacks."""

import pytest

from qulab_gui.data.errors import MAX_YEARS, SimulatedFailure, ValidationError, years_of_experience
from qulab_gui.data.profile_edits import profile_changes
from qulab_gui.data.users import NewUser

FORM = dict(email="grace@example.org", name="Grace", occupation_code="15-1252", education_level="doctorate")


@pytest.mark.parametrize("value,message", [
    (float("nan"), "whole number from 0 to 70"),
    ("nan", "whole number from 0 to 70"),
    (float("inf"), "whole number from 0 to 70"),
    ("inf", "whole number from 0 to 70"),
    ("1e400", "whole number from 0 to 70"),
    (10**400, "whole number from 0 to 70"),
    ("-inf", "whole number from 0 to 70"),
    (-1, "whole number from 0 to 70"),
    (2.5, "whole number from 0 to 70"),
    (MAX_YEARS + 1, "whole number from 0 to 70"),
    ("ten", "whole number from 0 to 70"),
    ([3], "whole number from 0 to 70"),
])
def test_creating_and_editing_reject_the_same_years_with_the_same_message(value, message: str) -> None:
    with pytest.raises(ValidationError, match=message) as created:
        NewUser.parse(**FORM, years_experience=value)
    with pytest.raises(ValidationError, match=message) as edited:
        profile_changes(None, value)
    assert str(created.value) == str(edited.value)


@pytest.mark.parametrize("value,years", [(0, 0), ("12", 12), (7.0, 7), (" 70 ", 70)])
def test_good_years_are_whole_numbers(value, years: int) -> None:
    assert years_of_experience(value) == years
    assert NewUser.parse(**FORM, years_experience=value).years_experience == years
    assert profile_changes(None, value) == {"years_experience": years}


def test_one_simulated_failure_names_what_it_had_written() -> None:
    failure = SimulatedFailure("on purpose", score="s1", event="e1")
    assert str(failure) == "on purpose" and failure.written == {"score": "s1", "event": "e1"}
    assert not isinstance(failure, ValidationError)  # a lab's demonstration, not a user's mistake
