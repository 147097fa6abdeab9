from nicegui import ui

from qulab_gui.ui.frame import frame
from qulab_gui.ui.pages.coming_soon import coming_soon


@ui.page("/repository")
def repository_page() -> None:
    with frame("3 · Repository & N+1"):
        coming_soon("The repository pattern and a real, measured N+1 problem.", [
            "Lazy loading vs selectinload vs joinedload, statements counted by the engine",
            "A scale sweep charting statements and time against N",
        ])
