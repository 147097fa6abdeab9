"""/instructor: the classroom's sandboxes, each learner's progress, and a reset per learner.

Students know the room's token, so this page asks for a key of its own (printed at start, or
QULAB_INSTRUCTOR_TOKEN), given as `?key=` or typed into the form. It shows the learners and opens
no sandbox for the instructor.
"""

from __future__ import annotations

import secrets

from nicegui import ui

from qulab_gui.lab.classroom import Classroom, LearnerSummary
from qulab_gui.lab.current import current_classroom
from qulab_gui.ui.frame import PAGE_TIMEOUT_S, notify_error, table_column

COLUMNS = [
    table_column("learner", "Learner", sortable=True),
    table_column("state", "Sandbox"),
    table_column("last_activity", "Last activity (UTC)", sortable=True),
    table_column("labs", "Labs used"),
    table_column("answers", "Answers", align="right", sortable=True),
    table_column("running", "Running now"),
]


def _row(summary: LearnerSummary) -> dict[str, object]:
    state = (f"open · {summary.tabs} tab{'s' if summary.tabs != 1 else ''}" if summary.tabs
             else "open · no tab" if summary.open else "closed (idle)")
    return {"learner": summary.learner, "state": state,
            "last_activity": summary.last_activity.strftime("%H:%M:%S") if summary.last_activity else "–",
            "labs": ", ".join(summary.labs_used) or "–", "answers": summary.answers,
            "running": ", ".join(summary.running) or "–"}


def _key_form() -> None:
    with ui.card().classes("max-w-md mx-auto mt-16"):
        ui.label("Instructor view").classes("text-h5")
        ui.label("Enter the instructor key QuLab printed when it started (or QULAB_INSTRUCTOR_TOKEN).")
        key = ui.input("Instructor key", password=True).props("outlined dense").classes("w-full")
        ui.button("Open", on_click=lambda: ui.navigate.to(f"/instructor?key={key.value}"))
        key.on("keydown.enter", lambda: ui.navigate.to(f"/instructor?key={key.value}"))


async def _learners(classroom: Classroom) -> None:
    summary = ui.label().classes("text-body1").mark("classroom-summary")
    table = ui.table(columns=COLUMNS, rows=[], row_key="learner", pagination=25).classes("w-full").mark("learners")
    table.add_slot("body-cell-learner", """<q-td :props="props">
        <span class="font-mono">{{ props.value }}</span>
        <q-btn flat dense size="sm" color="negative" icon="restart_alt" label="Reset"
               @click="$parent.$emit('reset', props.row.learner)" /></q-td>""")

    async def refresh() -> None:
        rows = await classroom.summaries()
        table.rows = [_row(row) for row in rows]
        summary.text = (f"{classroom.open_count} of {classroom.settings.max_learners} sandboxes open, "
                        f"{classroom.connected_count()} with a tab open; {len(rows)} learners in all. "
                        f"CPU-heavy runs: {classroom.slots.at_once} at once, {classroom.slots.waiting} waiting.")

    async def reset(learner: str) -> None:
        with ui.dialog() as dialog, ui.card():
            ui.label(f"Reset learner {learner}'s sandbox?").classes("text-h6")
            ui.label("Their database, cache and fault switches start over; runs in flight stop. "
                     "Their answers and kept results stay.")
            with ui.row():
                ui.button("Reset", color="negative", on_click=lambda: dialog.submit(True)).mark("confirm-reset")
                ui.button("Cancel", on_click=lambda: dialog.submit(False)).props("flat")
        if not await dialog:
            return
        try:
            await classroom.reset(learner)
        except Exception as error:  # shown, not raised: the instructor's page stays usable
            notify_error(f"Could not reset {learner}: {error}")
            return
        ui.notify(f"Reset learner {learner}'s sandbox", type="positive")
        await refresh()

    table.on("reset", lambda event: reset(event.args))
    await refresh()
    ui.timer(5.0, refresh)


@ui.page("/instructor", response_timeout=PAGE_TIMEOUT_S)
async def instructor_page(key: str = "") -> None:
    ui.page_title("Instructor · QuLab")
    classroom = current_classroom()
    expected = classroom.settings.instructor_token if classroom else None
    if not expected or not secrets.compare_digest(key.encode(), expected.encode()):
        _key_form()
        if key:
            ui.label("That key is not the instructor key.").classes("text-negative text-center w-full") \
                .mark("key-refused")
        return
    with ui.column().classes("w-full max-w-6xl mx-auto p-4 gap-4"):
        ui.label("Instructor · the classroom's sandboxes").classes("text-h4 font-medium")
        ui.label("Every learner (one per browser) has a lab of their own: database, cache, stream and "
                 "switches. A sandbox nobody looked at for "
                 f"{classroom.settings.idle_minutes} minutes is closed and reopens with its data.") \
            .classes("text-body1 text-grey-8")
        await _learners(classroom)
