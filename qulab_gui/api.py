"""The HTTP API: `/api/health`, answered while the app serves (HTTP 200 even when degraded)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from qulab_gui.lab import Lab


def register(lab: Lab) -> None:
    from nicegui import app

    @app.get("/api/health")
    async def health() -> dict[str, Any]:
        return await lab.health()
