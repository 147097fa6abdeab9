"""Lab 1 · Data models: the model code, its ER diagram, and a form that validates before it writes."""

from nicegui import ui

from qulab_gui.lab import EDUCATION_LEVELS, MODELS, OCCUPATIONS, ValidationError, current_lab, er_diagram
from qulab_gui.ui.code_view import code_view
from qulab_gui.ui.frame import PAGE_TIMEOUT_S, frame, lab_started, notify_error, section, table_column
from qulab_gui.ui.guided import guided_path
from qulab_gui.ui.kept import kept_results
from qulab_gui.ui.text import plural

USER_COLUMNS = [
    table_column("email", "Email", sortable=True),
    table_column("name", "Name", sortable=True),
    table_column("occupation", "Occupation"),
    table_column("education", "Education", field="education_level"),
    table_column("years", "Years", field="years_experience", align="right", sortable=True),
    table_column("created", "Created (UTC)", sortable=True),
]


@ui.page("/models", response_timeout=PAGE_TIMEOUT_S)
async def models_page() -> None:
    lab = current_lab()
    if not await lab_started("1 · Data models"):
        return
    with frame("1 · Data models", "Typed SQLAlchemy 2.0 models; the database enforces what the form checks."):
        guided_path("models")
        with ui.row().classes("w-full gap-4 items-stretch"):
            with section("Create a user", "Validated before any session opens: bad input writes nothing."
                         ).classes("flex-1 min-w-[340px]"):
                email = ui.input("Email").props("outlined dense").classes("w-full").mark("email")
                name = ui.input("Name").props("outlined dense").classes("w-full").mark("name")
                occupation = ui.select({code: f"{label} ({code})" for code, (label, _) in OCCUPATIONS.items()},
                                       label="Occupation", value="15-1252").props("outlined dense") \
                    .classes("w-full").mark("occupation")
                education = ui.select(list(EDUCATION_LEVELS), label="Education", value="bachelor") \
                    .props("outlined dense").classes("w-full").mark("education")
                # no min/max/format: NiceGUI would clamp and round on blur; the data layer says the range
                years = ui.number("Years of experience", value=0).props("outlined dense") \
                    .classes("w-full").mark("years")
                error = ui.label().classes("text-negative whitespace-pre-line").mark("form-error")
                ui.button("Create user", icon="person_add", on_click=lambda: create()).mark("create-user")
            with section("Entity-relationship diagram", "Generated from the models' metadata."
                         ).classes("flex-1 min-w-[340px]"):
                ui.mermaid(er_diagram()).classes("w-full figure")

        with section("Users", "Newest first. Select one to delete it with its assessments and scores."):
            with ui.row().classes("items-center gap-4"):
                counts = ui.label().mark("row-counts")
                ui.space()
                delete_button = ui.button("Delete selected", icon="delete", color="negative",
                                          on_click=lambda: confirm_delete()).props("outline").mark("delete-user")
            table = ui.table(rows=[], columns=USER_COLUMNS, row_key="id", selection="single",
                             pagination=10).classes("w-full").props("dense wrap-cells").mark("users-table")
            deleted = ui.label().classes("text-positive").mark("delete-result")

        code_view("models", "The models' source code")

        with section("Danger zone", "Drop every table and recreate the schema from the migrations."):
            ui.button("Reset database…", icon="restart_alt", color="negative",
                      on_click=lambda: reset_dialog.open()).mark("reset-open")
        kept_results(lab, MODELS)

    with ui.dialog() as reset_dialog, ui.card():
        ui.label("Delete all users, scores and events and recreate the schema?").classes("text-body1")
        with ui.row().classes("justify-end w-full"):
            ui.button("Cancel", on_click=reset_dialog.close).props("flat")
            ui.button("Reset", color="negative", on_click=lambda: reset()).mark("reset-confirm")

    with ui.dialog() as delete_dialog, ui.card():
        delete_question = ui.label().classes("text-body1")
        with ui.row().classes("justify-end w-full"):
            ui.button("Cancel", on_click=delete_dialog.close).props("flat")
            ui.button("Delete", color="negative", on_click=lambda: delete()).mark("delete-confirm")

    async def refresh() -> None:
        rows, users = await lab.count_rows(), await lab.list_users()  # read both, then show both at once
        counts.text = " · ".join([plural(rows.users, "user"), plural(rows.assessments, "assessment"),
                                  plural(rows.air_scores, "score"), plural(rows.domain_events, "event")])
        table.rows = [
            {"id": u.id, "email": u.email, "name": u.name, "education_level": u.education_level,
             "occupation": OCCUPATIONS.get(u.occupation_code, (u.occupation_code,))[0],
             "years_experience": u.years_experience, "created": f"{u.created_at:%Y-%m-%d %H:%M:%S}"}
            for u in users
        ]
        selected_ids = {row["id"] for row in table.rows}
        table.selected = [row for row in table.selected if row["id"] in selected_ids]
        delete_button.set_enabled(bool(table.selected))

    for field in (email, name, years):  # Enter submits, as in any form
        field.on("keydown.enter", lambda: create())
    table.on_select(lambda: delete_button.set_enabled(bool(table.selected)))

    async def create() -> None:
        error.text = ""
        try:
            user = await lab.create_user(email=email.value, name=name.value, occupation_code=occupation.value,
                                         education_level=education.value, years_experience=years.value)
        except ValidationError as problem:  # every problem at once, next to the form: no toast over it
            error.text = str(problem)
            return
        email.value = name.value = ""
        await refresh()  # the table first, then the message a reader (or a test) takes as "done"
        ui.notify(f"Created {user.email}", type="positive")

    def confirm_delete() -> None:
        if table.selected:
            delete_question.text = f"Delete {table.selected[0]['email']} and everything that belongs to them?"
            delete_dialog.open()

    async def delete() -> None:
        delete_dialog.close()
        if not table.selected:
            return
        try:
            result = await lab.delete_user(table.selected[0]["id"])
        except ValidationError as problem:
            table.selected = []
            await refresh()
            notify_error(str(problem))
            return
        table.selected = []
        await refresh()
        deleted.text = (f"Deleted {result.email}: the cascade removed {plural(result.assessments, 'assessment')} "
                        f"and {plural(result.scores, 'score')}.")

    async def reset() -> None:
        reset_dialog.close()
        await lab.reset_database()
        await refresh()
        ui.notify("Database reset: schema recreated from the migrations", type="warning")

    await refresh()
    ui.timer(5.0, refresh)
