""""The code that runs": one expansion per lab with the real source of what its buttons and timers call."""

from __future__ import annotations

from nicegui import ui

from qulab_gui.lab import code_that_runs


def code_view(lab: str, title: str = "The code that runs") -> ui.expansion:
    """The functions the lab's layer names for `lab`, each with what it does and where it lives.

    The source is read from the running modules, so the page shows exactly the code that produced
    its numbers: rename or change a function and this changes with it.
    """
    with ui.expansion(title, icon="code").classes("w-full").mark(f"code-{lab}") as expansion:
        for listing in code_that_runs(lab):
            with ui.column().classes("w-full gap-1"):
                ui.label(listing.title).classes("text-subtitle2")
                ui.label(listing.location).classes("text-caption font-mono opacity-70")
                ui.code(listing.source, language="python").classes("w-full text-xs").mark("source")
    return expansion
