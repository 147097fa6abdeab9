"""Every page renders inside the shared frame, and /api/health answers per the contract."""

import pytest
from nicegui.testing import User

from tests.ui.conftest import lab_ready

PAGES = {
    "/": "Welcome to QuLab",
    "/models": "1 · Data models",
    "/connectivity": "2 · Connectivity & pooling",
    "/repository": "3 · Repository & N+1",
    "/caching": "4 · Caching",
    "/outbox": "5 · Outbox",
}


@pytest.mark.parametrize("path", PAGES)
async def test_page_renders_in_frame_with_navigation(user: User, path: str) -> None:
    await lab_ready()
    await user.open(path)
    await user.should_see(PAGES[path])
    for label in PAGES.values():
        if label != "Welcome to QuLab":
            await user.should_see(label)  # every lab is in the navigation drawer
    await user.should_see("SQLite")
    await user.should_see("fakeredis (embedded)")


async def test_navigation_drawer_opens_each_lab(user: User) -> None:
    await lab_ready()
    await user.open("/")
    user.find(marker="nav-/connectivity").click()
    await user.should_see("Concurrency probe")


async def test_health_reports_backends_and_outbox(user: User) -> None:
    await lab_ready()
    response = await user.http_client.get("/api/health")
    assert response.status_code == 200
    health = response.json()
    assert health["status"] == "ok"
    assert health["database"]["dialect"] == "sqlite"
    assert health["redis"] == {"backend": "fakeredis", "url": "fake", "ok": True}
    assert health["outbox"]["pending"] == 0
    assert health["outbox"]["publisher"] in ("running", "paused")
    assert health["version"]
