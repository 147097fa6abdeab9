"""The Lab reports a failed start as a degraded health answer with the reason, not a traceback."""

from pathlib import Path

from qulab_gui.lab import Lab
from qulab_gui.settings import load_settings


async def test_a_failed_start_is_reported_by_health(tmp_path: Path, caplog) -> None:
    lab = Lab(load_settings([], {"QULAB_DATA_DIR": str(tmp_path), "QULAB_REDIS_URL": "fake",
                                 "QULAB_DATABASE_URL": "postgresql+asyncpg://nobody@127.0.0.1:1/none"}))
    await lab.start()  # nothing listens on port 1: start records why instead of raising
    health = await lab.health()
    assert health["status"] == "degraded"
    assert health["database"]["ok"] is False
    assert "Connect call failed" in health["startup_error"] or "refused" in health["startup_error"].lower()
    assert [r.getMessage() for r in caplog.records if r.levelname == "ERROR"] == [
        f"QuLab could not start: {lab.startup_error}"]
    await lab.stop()


async def test_a_healthy_start_reports_ok(tmp_path: Path) -> None:
    lab = Lab(load_settings([], {"QULAB_DATA_DIR": str(tmp_path), "QULAB_REDIS_URL": "fake"}))
    await lab.start()
    try:
        health = await lab.health()
        assert (health["status"], health["redis"]["backend"], health["outbox"]["pending"]) == ("ok", "fakeredis", 0)
        assert "startup_error" not in health
    finally:
        await lab.stop()
