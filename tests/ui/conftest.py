"""UI tests drive the pages with NiceGUI's `user` fixture, each on its own temp database."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def isolated_app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A fresh data dir and fakeredis per test; the `user` fixture's `setup()` then sets a fresh Lab.

    No module eviction is needed: NiceGUI re-imports the page modules itself, and the current Lab
    is set by `setup()`, so forgetting the previous one here means a test can never see it.
    """
    monkeypatch.setenv("QULAB_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("QULAB_REDIS_URL", "fake")
    for name in ("QULAB_DATABASE_URL", "QULAB_HOST", "QULAB_PORT", "QULAB_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    from qulab_gui.lab.current import set_current_lab

    set_current_lab(None)


async def lab_ready():
    """The Lab the `user` fixture started, once its startup (migrations, Redis) has finished."""
    from qulab_gui.lab import current_lab

    lab = current_lab()
    await lab.ready()
    return lab
