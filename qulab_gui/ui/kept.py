"""The line at the end of each lab page: what is kept of this lab, the report, and "clear"."""

from __future__ import annotations

from nicegui import ui

from qulab_gui.lab import Lab


def kept_results(lab: Lab, name: str) -> None:
    """The learner's last runs and guided answers of lab `name` stay until cleared here."""
    with ui.row().classes("w-full items-center gap-3 text-grey-8").mark("kept-results"):
        ui.icon("bookmark", color="primary")
        ui.label("Your last runs and guided answers on this lab are kept: they are still here after you "
                 "navigate away or restart QuLab.").classes("text-body2")
        ui.space()
        ui.button("Lab report", icon="description", on_click=lambda: ui.navigate.to("/report")) \
            .props("flat").mark("open-report")
        ui.button("Clear kept results", icon="delete_outline", on_click=lambda: confirm.open()) \
            .props("flat color=negative").mark("clear-kept")

    with ui.dialog() as confirm, ui.card():
        ui.label("Forget this lab's kept runs, tables, charts and guided answers? The database keeps its rows."
                 ).classes("text-body1")
        with ui.row().classes("justify-end w-full"):
            ui.button("Cancel", on_click=confirm.close).props("flat")
            ui.button("Clear", color="negative", on_click=lambda: clear()).mark("clear-kept-confirm")

    async def clear() -> None:
        confirm.close()
        await lab.notebook.clear(name)
        ui.notify("Cleared: this lab starts afresh", type="info")
        ui.navigate.reload()  # every section is drawn again from the (now empty) notebook
