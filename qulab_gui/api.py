"""The HTTP API: `/api/health`, answered while the app serves (HTTP 200 even when degraded)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from qulab_gui.lab import Lab
    from qulab_gui.lab.room_health import RoomHealth


def register(lab: Lab, room: RoomHealth | None = None) -> None:
    """The desktop's Lab checks its backends per request; a classroom answers from the room's snapshot."""
    from nicegui import app

    @app.get("/api/health")
    async def health() -> dict[str, Any]:
        return room.health() if room else await lab.health()
