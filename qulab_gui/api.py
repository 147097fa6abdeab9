"""The HTTP API: `/api/health`, answered while the app serves (HTTP 200 even when degraded)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from qulab_gui.lab import Lab
    from qulab_gui.lab.classroom import Classroom


def register(lab: Lab, classroom: Classroom | None = None) -> None:
    """`lab` is the desktop's one Lab, or in a classroom the server's own (its backends' health)."""
    from nicegui import app

    from qulab_gui.lab.room_health import classroom_health

    @app.get("/api/health")
    async def health() -> dict[str, Any]:
        return await (classroom_health(lab, classroom) if classroom else lab.health())
