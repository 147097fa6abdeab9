"""Every page renders inside the shared frame, and /api/health answers per the contract."""

from pathlib import Path

import pytest
from nicegui.testing import User

from tests.pages import PAGES
from tests.ui.conftest import lab_ready

# A marker only that page's body has: the title alone is also in the navigation drawer.
BODY_MARKERS = {
    "/": "backend-status",
    "/models": "create-user",
    "/connectivity": "run-probe",
    "/repository": "run-all",
    "/caching": "simulate-down",
    "/outbox": "outbox-calculate",
    "/report": "download-report",
}


@pytest.mark.parametrize("path", PAGES)
async def test_page_renders_in_frame_with_navigation(user: User, path: str) -> None:
    await lab_ready()
    await user.open(path)
    await user.should_see(marker=BODY_MARKERS[path], retries=50)
    for other, marker in BODY_MARKERS.items():
        if other != path:
            await user.should_not_see(marker=marker)
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



@pytest.fixture
def unreadable_database(tmp_path: Path) -> Path:
    """The lab's SQLite file exists but holds no database: only opening it tells. (A path that
    cannot be created at all is refused before start, see test_settings.py.)"""
    file = tmp_path / "qulab.db"  # QULAB_DATA_DIR is tmp_path: the default database file
    file.write_bytes(b"these are lecture notes, not a database" * 100)
    return file


@pytest.mark.parametrize("path", BODY_MARKERS)
async def test_a_failed_startup_is_shown_in_the_frame(unreadable_database: Path, user: User, path: str,
                                                      caplog: pytest.LogCaptureFixture) -> None:
    from qulab_gui.lab import current_lab

    lab = current_lab()
    with pytest.raises(RuntimeError):
        await lab.ready()
    assert [record.message for record in caplog.records if record.levelname == "ERROR"] == [
        f"QuLab could not start: {lab.startup_error}"]
    caplog.clear()  # the one error this test causes on purpose; the user fixture fails on any other
    await user.open(path)
    await user.should_see("QuLab could not start, so the labs cannot run.")
    await user.should_see(marker="startup-error")
    await user.should_see(lab.startup_error)
    assert "not a database" in lab.startup_error
    if path != "/":  # the introduction still reads well; a lab's controls would only fail
        await user.should_not_see(marker=BODY_MARKERS[path])
