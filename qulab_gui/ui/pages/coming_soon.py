"""Placeholder content for a lab whose page is not built yet."""

from nicegui import ui

from qulab_gui.ui.frame import section


def coming_soon(what: str, items: list[str]) -> None:
    with section("Coming in this lab", what):
        for item in items:
            with ui.row().classes("items-center gap-2"):
                ui.icon("radio_button_unchecked", color="grey")
                ui.label(item)
