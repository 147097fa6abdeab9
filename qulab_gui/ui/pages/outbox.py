from nicegui import ui

from qulab_gui.ui.frame import frame
from qulab_gui.ui.pages.coming_soon import coming_soon


@ui.page("/outbox")
def outbox_page() -> None:
    with frame("5 · Outbox"):
        coming_soon("A transactional outbox delivering events to a Redis Stream.", [
            "Atomic write of a score and its event", "A publisher on a timer, with fault injection",
        ])
