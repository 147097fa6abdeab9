"""Creating users: every bad input gets a clear message and the database is unchanged."""

import pytest

from qulab_gui.data.errors import ValidationError
from qulab_gui.data.repositories import UserRepository
from qulab_gui.data.users import NewUser, create_user

GOOD = dict(email="Grace@Example.org", name="  Grace   Hopper ", occupation_code="15-1252",
            education_level="doctorate", years_experience=12)


def test_parse_normalises_email_and_name() -> None:
    new = NewUser.parse(**GOOD)
    assert (new.email, new.name, new.years_experience) == ("grace@example.org", "Grace Hopper", 12)


@pytest.mark.parametrize("field,value,message", [
    ("email", "", "Email is required"),
    ("email", "not-an-email", "not a valid email"),
    ("email", "a@b", "not a valid email"),
    ("email", "two@@example.org", "not a valid email"),
    ("name", "   ", "Name must not be empty"),
    ("name", "x" * 121, "longer than 120"),
    ("years_experience", -1, "whole number from 0 to 70 \\(got -1\\)"),
    ("years_experience", 2.5, "whole number"),
    ("years_experience", "ten", "whole number from 0 to 70 \\(got .ten.\\)"),
    ("years_experience", 71, "whole number from 0 to 70"),
    ("occupation_code", "00-0000", "Choose an occupation"),
    ("education_level", "kindergarten", "Choose an education level"),
])
def test_bad_input_is_rejected_with_a_clear_message(field: str, value, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        NewUser.parse(**(GOOD | {field: value}))


async def test_duplicate_email_is_a_clear_message_and_writes_nothing(sessions) -> None:
    async with sessions() as session:
        await create_user(session, NewUser.parse(**GOOD))
    with pytest.raises(ValidationError, match="already exists"):
        async with sessions() as session:
            await create_user(session, NewUser.parse(**(GOOD | {"email": "GRACE@example.org", "name": "Other"})))
    async with sessions() as session:
        assert await UserRepository(session).count() == 1


def test_every_problem_is_reported_at_once_in_field_order() -> None:
    with pytest.raises(ValidationError) as refused:
        NewUser.parse(email="x", name=" ", occupation_code="15-1252", education_level="phd", years_experience="")
    assert str(refused.value).splitlines() == [
        "'x' is not a valid email address", "Name must not be empty", "Choose an education level from the list",
        "Years of experience must be a whole number from 0 to 70 (the field is empty)"]
