"""The frame every page shares: header with live backend chips, navigation drawer in lab order."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager

from nicegui import ElementFilter, app, ui

from qulab_gui.lab import current_lab
from qulab_gui.lab.guided import GuideError, progress

NAVIGATION = [
    ("/", "Introduction", "home"),
    ("/models", "1 · Data models", "schema"),
    ("/connectivity", "2 · Connectivity & pooling", "cable"),
    ("/repository", "3 · Repository & N+1", "view_list"),
    ("/caching", "4 · Caching", "bolt"),
    ("/outbox", "5 · Outbox", "outbox"),
    ("/report", "Lab report", "description"),
]
GUIDED = {"/models": "models", "/connectivity": "connectivity", "/repository": "nplus1", "/caching": "caching",
          "/outbox": "outbox"}  # the pages with a guided path, and its name
DIALECT_NAMES = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}
# How long NiceGUI waits for a page to be built before it answers 500 (its default is 3 s): a page
# waits for its lab (a classroom sandbox opening) and reads from it, so a busy server is late, not broken.
PAGE_TIMEOUT_S = 20.0

# The theme button cycles follow the system -> dark -> light; ui.dark_mode's value None means "auto"
# (Quasar follows prefers-color-scheme). The choice is kept per browser in app.storage.user.
THEME_KEY = "theme"
THEMES: dict[bool | None, tuple[str, str]] = {
    None: ("brightness_auto", "Theme: follows the system (click for dark)"),
    True: ("dark_mode", "Theme: dark (click for light)"),
    False: ("light_mode", "Theme: light (click to follow the system)"),
}
NEXT_THEME: dict[bool | None, bool | None] = {None: True, True: False, False: None}
# Quasar's light helper classes (text-grey-8 captions, the drawer's bg-grey-1, the active item's
# bg-indigo-1) carry !important and know nothing of dark mode: grey-8 on the dark page is barely
# legible and the drawer stays white under white text. The "overrides" layer NiceGUI declares after
# Quasar's importants wins over them, so the pages keep their classes and stay readable in both.
# Charts and diagrams draw their text in dark grey on a canvas CSS cannot recolour: in dark mode they
# sit on a light panel, as a printed figure would ("figure" is the class for a ui.mermaid).
DARK_CSS = """
@layer overrides {
  .body--dark .nicegui-echart, .body--dark .figure { background: #f5f5f5; border-radius: 4px; }
  .body--dark .text-grey-8, .body--dark .text-grey-7 { color: #bdbdbd !important; }
  .body--dark .bg-grey-1 { background: #1d1d1d !important; }
  .body--dark .bg-indigo-1 { background: rgba(121, 134, 203, 0.28) !important; }
  .body--dark .text-primary { color: #9fa8da !important; }
}
"""


def theme_button() -> ui.button:
    """The header's theme switch; the page starts in the theme this browser chose last."""
    saved = app.storage.user.get(THEME_KEY)
    dark = ui.dark_mode(saved if saved in THEMES else None)
    button = ui.button(on_click=lambda: choose(NEXT_THEME[dark.value])).props("flat round dense color=white") \
        .mark("theme-toggle")
    with button:
        tooltip = ui.tooltip()

    def show() -> None:
        icon, meaning = THEMES[dark.value]
        button.props(f'icon={icon} aria-label="{meaning}"')  # an icon alone names nothing to a screen reader
        tooltip.text = meaning

    def choose(theme: bool | None) -> None:
        dark.value = theme
        app.storage.user[THEME_KEY] = theme
        show()

    show()
    return button


def backend_chips() -> None:
    """Database dialect and Redis backend, green when healthy, orange when degraded."""
    lab = current_lab()
    database = ui.chip(icon="storage").props("outline dense").classes("text-white").mark("chip-database")
    redis = ui.chip(icon="memory").props("outline dense").classes("text-white").mark("chip-redis")
    tooltips = {}
    for chip in (database, redis):
        with chip:
            tooltips[chip] = ui.tooltip("starting")

    def refresh() -> None:
        status = lab.backend_status
        database.text = DIALECT_NAMES.get(lab.dialect, lab.dialect)
        redis.text = {"fakeredis": "fakeredis (embedded)", "redis": "Redis"}.get(lab.redis_backend,
                                                                                 lab.redis_backend)
        for chip, ok in ((database, status.get("database")), (redis, status.get("redis"))):
            chip.props(f"color={'positive' if ok else 'warning' if ok is False else 'grey'}")
            if ok is False:  # filled orange, so a degraded backend stands out on the blue header
                chip.props(remove="outline")
                chip.text += " · degraded"
            else:
                chip.props("outline")
            tooltips[chip].text = "healthy" if ok else "degraded: see the page for details" if ok is False \
                else "starting"

    refresh()
    ui.timer(2.0, refresh)


def sandbox_chip() -> None:
    """In a classroom: whose sandbox this page works in, so a learner can name it to the instructor."""
    learner = current_lab().sandbox.learner
    if learner is not None:
        with ui.chip(f"Your lab · {learner}", icon="person").props("outline dense").classes("text-white") \
                .mark("chip-sandbox"):
            ui.tooltip("A sandbox of your own: database, cache, stream and switches nobody else touches. "
                       "The instructor sees it under this id.")


@contextmanager
def frame(title: str, subtitle: str = "") -> Iterator[None]:
    ui.colors(primary="#3949ab", secondary="#00897b", accent="#8e24aa", positive="#2e7d32")
    ui.page_title(f"{title} · QuLab")
    ui.add_css(DARK_CSS)
    with ui.header(elevated=True).classes("items-center gap-3 px-4 py-2 bg-primary"):
        ui.button(icon="menu", on_click=lambda: drawer.toggle()).props("flat round dense color=white")
        ui.label("QuLab").classes("text-h6 font-bold tracking-wide")
        ui.label("how a Python data layer scales").classes("text-sm opacity-80 max-sm:hidden")
        ui.space()
        backend_chips()
        sandbox_chip()
        theme_button()
    current_path = ui.context.client.request.url.path
    with ui.left_drawer(value=True, bordered=True).classes("bg-grey-1 p-0") as drawer:
        with ui.list().classes("w-full").props("padding"):
            for path, label, icon in NAVIGATION:
                item = ui.item(on_click=lambda p=path: ui.navigate.to(p)).props("clickable").mark(f"nav-{path}")
                if path == current_path:
                    item.props("active active-class='bg-indigo-1 text-primary text-weight-medium'")
                with item:
                    with ui.item_section().props("avatar"):
                        ui.icon(icon, color="primary")
                    with ui.item_section():
                        ui.item_label(label)
                    if path in GUIDED:
                        guided_badge(GUIDED[path])
    with ui.column().classes("w-full max-w-6xl mx-auto p-4 gap-4"):
        startup_banner(current_lab().startup_error)
        ui.label(title).classes("text-h4 font-medium")
        if subtitle:
            ui.label(subtitle).classes("text-body1 text-grey-8 -mt-2")
        yield


def guided_badge(name: str) -> None:
    """Steps of the lab's guided path answered, e.g. "2/4", at the right of its navigation item."""
    try:
        done = str(progress(current_lab(), name))
    except GuideError:  # the guide's own panel says what is wrong with it
        return
    with ui.item_section().props("side"):
        ui.badge(done).props("outline color=primary").mark(f"progress-{name}") \
            .tooltip("guided steps answered")


def show_guided_progress(name: str, done: str) -> None:
    """A step was answered on this page: the drawer's badge for that lab shows the new count."""
    for badge in ElementFilter(kind=ui.badge, marker=f"progress-{name}", local_scope=False):
        badge.text = done


def startup_banner(error: str | None) -> None:
    if error:
        with ui.row().classes("w-full items-start gap-3 p-4 rounded bg-red-1 text-red-10 no-wrap") \
                .mark("startup-error"):
            ui.icon("error", size="md", color="negative")
            with ui.column().classes("gap-1"):
                ui.label("QuLab could not start, so the labs cannot run.").classes("text-h6")
                ui.label(error).classes("font-mono text-body2 break-all")
                ui.label("Check the database and Redis settings (QULAB_DATABASE_URL, QULAB_REDIS_URL), "
                         "then restart QuLab.").classes("text-body2")


async def lab_started(title: str) -> bool:
    """Wait for the Lab; if its startup failed, show the frame with the error instead of the page."""
    lab = current_lab()
    try:
        await lab.ready()
    except RuntimeError:
        if not lab.startup_error:
            raise
        with frame(title):
            pass
        return False
    return True


def notify_error(message: str) -> None:
    ui.notify(message, type="negative", position="top", multi_line=True, close_button=True)


def table_column(name: str, label: str, *, field: str | None = None, align: str = "left",
                 sortable: bool = False) -> dict[str, object]:
    """One `ui.table` column; the row field defaults to the column's name."""
    return {"name": name, "label": label, "field": field or name, "align": align, "sortable": sortable}


def section(title: str, caption: str = "") -> ui.card:
    """A titled card; pages are built from a few of these."""
    card = ui.card().classes("w-full")
    with card:
        ui.label(title).classes("text-h6")
        if caption:
            ui.label(caption).classes("text-body2 text-grey-8")
    return card


@contextmanager
def busy(*controls: ui.element, shown: ui.element | None = None) -> Iterator[None]:
    """Disable `controls` (and show `shown`, e.g. a spinner) while the block runs, whatever way it ends."""
    for control in controls:
        control.disable()
    if shown is not None:
        shown.set_visibility(True)
    try:
        yield
    finally:
        for control in controls:
            control.enable()
        if shown is not None:
            shown.set_visibility(False)


def measured(value: float | None, digits: int = 1, unit: str = "") -> str:
    """A measured number as text, or a dash while nothing has been measured yet."""
    return "–" if value is None else f"{value:.{digits}f}{unit}"


Refresh = Callable[[], Awaitable[None]]


class Refreshes:
    """The refresh functions of a page's sections, run together (by a timer, or after a change)."""

    def __init__(self) -> None:
        self._all: list[Refresh] = []

    def add(self, refresh: Refresh) -> None:
        self._all.append(refresh)

    async def __call__(self) -> None:
        for refresh in self._all:
            await refresh()
