""""The code that runs": one expansion per lab with the real source of what its buttons and timers call."""

from __future__ import annotations

from nicegui import ui

from qulab_gui.lab import code_that_runs


def code_view(lab: str, title: str = "The code that runs") -> ui.expansion:
    """The functions the lab's layer names for `lab`, each headed by what it does and where it lives.

    The source is read from the running modules, so the page shows exactly the code that produced
    its numbers: rename or change a function and this changes with it. One ui.code for all of them:
    each ui.code runs a 10 Hz timer for its copy button, and a page should not wake up 70 times a
    second for code nobody has opened.
    """
    listings = [f"# {listing.title}\n# {listing.location}\n{listing.source.rstrip()}"
                for listing in code_that_runs(lab)]
    with ui.expansion(title, icon="code").classes("w-full").mark(f"code-{lab}") as expansion:
        ui.code("\n\n\n".join(listings), language="python").classes("w-full text-xs").mark("source")
    return expansion
