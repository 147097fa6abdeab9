from nicegui import ui

from qulab_gui.ui.frame import frame
from qulab_gui.ui.pages.coming_soon import coming_soon


@ui.page("/caching")
def caching_page() -> None:
    with frame("4 · Caching"):
        coming_soon("A Redis read-through cache that counts, invalidates on write and fails open.", [
            "HIT and MISS with their latency", "A skewed workload charting hit ratio and latency",
        ])
