"""Lab 1 page: create users through the form, bad input refused with nothing written, delete with cascade."""

import pytest
from nicegui import ui
from nicegui.testing import User

from tests.ui.conftest import lab_ready


async def fill_form(user: User, email: str, name: str, years: float | None = 3) -> None:
    user.find(marker="email").clear().type(email)
    user.find(marker="name").clear().type(name)
    user.find(marker="years").elements.pop().value = years


async def test_create_user_appears_in_the_table(user: User) -> None:
    lab = await lab_ready()
    await user.open("/models")
    await fill_form(user, "Ada@Example.org", "Ada Lovelace")
    user.find(marker="create-user").click()
    await user.should_see("Created ada@example.org", retries=50)
    table = user.find(marker="users-table").elements.pop()
    assert [row["email"] for row in table.rows] == ["ada@example.org"]
    assert (await lab.count_rows()).users == 1


@pytest.mark.parametrize("email,name,years,message", [
    ("not-an-email", "Ada", 3, "is not a valid email address"),
    ("ada@example.org", "   ", 3, "Name must not be empty"),
    ("ada@example.org", "Ada", -2, "Years of experience must be a whole number from 0 to 70 (got -2)"),
])
async def test_bad_input_shows_a_message_and_writes_nothing(user: User, email, name, years, message) -> None:
    lab = await lab_ready()
    await user.open("/models")
    await fill_form(user, email, name, years)
    user.find(marker="create-user").click()
    await user.should_see(message, retries=50)
    assert (await lab.count_rows()).users == 0


async def test_duplicate_email_is_refused_clearly(user: User) -> None:
    lab = await lab_ready()
    await lab.create_user(email="ada@example.org", name="Ada", occupation_code="15-1252",
                          education_level="master", years_experience=1)
    await user.open("/models")
    await fill_form(user, "ADA@example.org", "Another Ada")
    user.find(marker="create-user").click()
    await user.should_see("A user with email ada@example.org already exists", retries=50)
    assert (await lab.count_rows()).users == 1


async def test_delete_shows_what_the_cascade_removed(user: User) -> None:
    lab = await lab_ready()
    await lab.load_samples(1, scores_per_user=2)
    await user.open("/models")
    await user.should_see("1 user · 3 assessments · 2 scores", retries=50)  # the page has loaded its rows
    table = user.find(marker="users-table").elements.pop()
    table.selected = [table.rows[0]]
    user.find(marker="delete-user").click()
    user.find(marker="delete-confirm").click()
    await user.should_see("the cascade removed 3 assessments and 2 scores", retries=50)
    rows = await lab.count_rows()
    assert (rows.users, rows.assessments, rows.air_scores) == (0, 0, 0)


async def test_reset_needs_confirmation_then_empties_the_database(user: User) -> None:
    lab = await lab_ready()
    await lab.load_samples(5)
    await user.open("/models")
    user.find(marker="reset-open").click()
    await user.should_see("recreate the schema?")
    assert (await lab.count_rows()).users == 5  # opening the dialog changed nothing
    user.find(marker="reset-confirm").click()
    await user.should_see("Database reset", retries=50)
    assert (await lab.count_rows()).users == 0


async def test_page_shows_model_source_and_er_diagram(user: User) -> None:
    await lab_ready()
    await user.open("/models")
    diagram = user.find(ui.mermaid).elements.pop()
    assert "users ||--o{ assessments" in diagram.content
    code = user.find(ui.code).elements.pop()
    assert "class User(TimestampMixin, Base)" in code.content


@pytest.mark.parametrize("years,message", [
    (2.5, "Years of experience must be a whole number from 0 to 70 (got 2.5)"),
    (None, "Years of experience must be a whole number from 0 to 70 (the field is empty)"),
    (100000, "Years of experience must be a whole number from 0 to 70 (got 100,000)"),
])
async def test_years_out_of_range_are_refused_not_clamped(user: User, years, message) -> None:
    lab = await lab_ready()
    await user.open("/models")
    await fill_form(user, "ada@example.org", "Ada", years)
    user.find(marker="create-user").click()
    await user.should_see(message, retries=50)
    assert (await lab.count_rows()).users == 0


async def test_every_problem_is_shown_at_once_next_to_the_form_without_a_toast(user: User) -> None:
    lab = await lab_ready()
    await user.open("/models")
    await fill_form(user, "not-an-email", "  ", 2.5)
    user.find(marker="create-user").click()
    await user.should_see("is not a valid email address", retries=50)
    shown = user.find(marker="form-error").elements.pop().text.splitlines()
    assert len(shown) == 3 and "Name must not be empty" in shown[1] and "(got 2.5)" in shown[2]
    assert user.notify.messages == []  # no toast piles up over the form
    assert (await lab.count_rows()).users == 0


async def test_enter_in_a_field_submits_the_form(user: User) -> None:
    lab = await lab_ready()
    await user.open("/models")
    await fill_form(user, "grace@example.org", "Grace Hopper")
    user.find(marker="name").trigger("keydown.enter")
    await user.should_see("Created grace@example.org", retries=50)
    assert (await lab.count_rows()).users == 1
