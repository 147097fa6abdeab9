"""Introduction: what QuLab teaches, how it is built, and whether its backends are up."""

from nicegui import ui

from qulab_gui import __version__
from qulab_gui.lab import current_lab
from qulab_gui.ui.frame import PAGE_TIMEOUT_S, frame, section

ARCHITECTURE = """
flowchart TB
    UI[NiceGUI pages] --> LAB[Lab context]
    LAB --> REPO[Repositories + unit of work]
    REPO --> ENGINE[Async engine + pool]
    ENGINE --> DB[(SQLite / PostgreSQL)]
    LAB --> CACHE[Read-through cache]
    CACHE --> REDIS[(Redis / fakeredis)]
    CACHE -. miss .-> REPO
    REPO -- same transaction --> OUTBOX[(domain_events)]
    OUTBOX --> PUB[Publisher on app.timer]
    PUB --> STREAM[[Stream qulab:events]]
    STREAM --> CONSUMER[Consumer group]
"""

LESSONS = [
    ("1 · Data models", "SQLAlchemy 2.0 typed models, cascades, validation before the session."),
    ("2 · Connectivity & pooling", "Engines, pools, and what happens when a pool runs out."),
    ("3 · Repository & N+1", "The repository pattern and the N+1 problem, counted by the engine."),
    ("4 · Caching", "A Redis read-through cache: hits, invalidation after commit, failing open."),
    ("5 · Outbox", "The transactional outbox: events that are never lost, delivered to a Redis Stream."),
]


@ui.page("/", response_timeout=PAGE_TIMEOUT_S)
async def home_page() -> None:
    lab = current_lab()
    with frame("Welcome to QuLab", "Every number in these labs is measured, never simulated."):
        with ui.row().classes("w-full gap-4 items-start no-wrap max-lg:flex-wrap"):
            with ui.column().classes("flex-1 min-w-[320px] gap-4"):
                with section("What you will learn"):
                    for title, text in LESSONS:
                        with ui.column().classes("gap-0"):
                            ui.label(title).classes("font-medium")
                            ui.label(text).classes("text-grey-8")
                with section("Backends", "What this session is connected to, checked live."):
                    status = ui.column().classes("gap-1").mark("backend-status")
            with section("Architecture", "Imports point one way: ui → lab → data. Pages never hold SQL.") \
                    .classes("w-[440px] max-lg:w-full"):
                ui.mermaid(ARCHITECTURE).classes("w-full")

    def refresh() -> None:
        """Show the Lab's last backend check (its app.timer re-checks): opening a tab queries nothing."""
        status.clear()
        with status:
            for name, ok, detail in (
                ("Database", lab.backend_status["database"], f"{lab.dialect} · {lab.database_url}"),
                ("Redis", lab.backend_status["redis"], f"{lab.redis_backend} · {lab.redis_url}"),
            ):
                with ui.row().classes("items-center gap-2 no-wrap"):
                    ui.icon("check_circle" if ok else "error", color="positive" if ok else "warning")
                    ui.label(f"{name}: {'connected' if ok else 'unavailable'}").classes("font-medium")
                ui.label(detail).classes("text-caption text-grey-8 break-all ml-8")
            if lab.redis and lab.redis.reason:
                ui.label(lab.redis.reason).classes("text-caption text-grey-8 ml-8")
            healthy = all(lab.backend_status.values())
            ui.label(f"Version {__version__} · status {'ok' if healthy else 'degraded'}").classes("text-caption mt-2")

    refresh()
    ui.timer(3.0, refresh)
