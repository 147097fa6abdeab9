"""The guided path panel a lab page shows at its top: predict, run, observe, explain, step by step.

The steps come from the lab's guide file (qulab_gui/guides/<lab>.toml) through `lab.guided`; this
module only lays them out. Answers already given (kept in the learner's notebook) are shown again
when the page is reopened, and each new answer updates the progress in the navigation drawer.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from nicegui import ui

from qulab_gui.lab import current_lab
from qulab_gui.lab.guided import Guide, GuideError, Step, load_guide, progress, run_step
from qulab_gui.ui.frame import busy, show_guided_progress


def guided_path(name: str) -> ui.expansion | None:
    """The collapsible guided path of lab `name` (models, connectivity, nplus1, caching or outbox).

    Built without awaiting anything: a page that awaited here would be served half-built. The guide
    files are small and read once per process (the drawer's badges have read them already).
    """
    try:
        current = load_guide(name)
    except GuideError as problem:  # an instructor's typo: say which file and field, keep the page working
        ui.label(f"The guided path could not be loaded: {problem}").classes("text-negative").mark("guided-error")
        return None
    lab = current_lab()
    with ui.expansion().classes("w-full rounded border").mark(f"guided-{name}") as panel:
        with panel.add_slot("header"):
            with ui.row().classes("w-full items-center gap-3 no-wrap"):
                ui.icon("school", color="primary")
                ui.label(f"Guided path · {current.title}").classes("text-subtitle1 text-weight-medium")
                ui.space()
                done = ui.badge().props("outline color=primary").mark(f"guided-{name}-progress")
        ui.label(current.story).classes("text-body2")
        ui.label(f"Objective: {current.objective}").classes("text-body2 text-weight-medium")
        for number, step in enumerate(current.steps, start=1):
            step_card(name, number, step, lambda: show_progress())
        ending = ui.column().classes("gap-1 w-full")

        def show_progress() -> None:
            now = progress(lab, name)
            done.text = f"{now} steps done"
            show_guided_progress(name, str(now))
            ending.clear()
            with ending:
                if now.done == now.total:
                    ending_card(current)
                else:
                    ui.label(f"Answer all {now.total} steps to see the takeaway.").classes("text-grey-8")

        show_progress()
    return panel


def step_card(name: str, number: int, step: Step, on_answer: Callable[[], None]) -> None:
    lab = current_lab()
    kept = lab.notebook.answers(name).get(step.id)
    mark = f"guided-{step.id}"
    with ui.card().classes("w-full").props("flat bordered"):
        ui.label(f"Step {number} · {step.question}").classes("text-body1 whitespace-pre-line")
        with ui.row().classes("items-center gap-3"):
            prediction = ui.input(f"Your prediction ({step.unit})",
                                  value="" if kept is None else str(kept["prediction"])) \
                .props("outlined dense").classes("w-56").mark(f"{mark}-prediction")
            button = ui.button("Run and check", icon="science", on_click=lambda: check()).mark(f"{mark}-run")
            with ui.row().classes("items-center gap-2") as running:
                ui.spinner(size="sm")
                ui.label("measuring…").classes("text-grey-8")
            running.set_visibility(False)
        problem = ui.label().classes("text-negative").mark(f"{mark}-problem")
        with ui.column().classes("gap-1 w-full") as result:
            measured = ui.label().classes("text-body1").mark(f"{mark}-measured")
            with ui.row().classes("items-start gap-2 no-wrap"):
                icon = ui.icon("check_circle")
                verdict = ui.label().classes("text-body2 text-weight-medium").mark(f"{mark}-verdict")
            explanation = ui.label().classes("text-body2").mark(f"{mark}-explanation")
            notes = ui.label().classes("text-caption text-grey-8").mark(f"{mark}-notes")

    def show(record: dict[str, Any], step_notes: tuple[str, ...] = ()) -> None:
        result.set_visibility(True)
        measured.text = f"Measured: {record['measured']} {step.unit} · you predicted {record['prediction']}"
        right = bool(record["correct"])
        icon.name, icon.props["color"] = ("check_circle", "positive") if right else ("cancel", "negative")
        icon.update()
        verdict.text = "Right" if right else "Not quite"
        explanation.text = record["explanation"]
        notes.text = " ".join(step_notes)

    async def check() -> None:
        problem.text = ""
        with busy(button, prediction, shown=running):
            try:
                answer = await run_step(lab, name, step.id, prediction.value)
            except ValueError as refused:  # ValidationError included: said next to the input, nothing kept
                problem.text = str(refused)
                return
        show(answer.record(), answer.notes)
        on_answer()

    if kept is None:
        result.set_visibility(False)
    else:
        show(kept)


def ending_card(current: Guide) -> None:
    with ui.card().classes("w-full bg-indigo-1").props("flat").mark("guided-ending"):
        ui.label("Takeaway").classes("text-subtitle1 text-weight-medium")
        ui.label(current.takeaway).classes("text-body2").mark("guided-takeaway")
        ui.label("Try it on your own").classes("text-subtitle1 text-weight-medium")
        ui.label(current.try_on_your_own).classes("text-body2").mark("guided-try")
