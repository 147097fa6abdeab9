"""UI tests drive the pages with NiceGUI's `user` fixture, each on its own temp database."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def isolated_app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A fresh data dir and fakeredis per test, and fresh app modules.

    NiceGUI evicts only page modules after a test; evicting all of ours makes every test start
    from a clean import, so no stale Lab or page registration leaks between tests.
    """
    monkeypatch.setenv("QULAB_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("QULAB_REDIS_URL", "fake")
    for name in ("QULAB_DATABASE_URL", "QULAB_HOST", "QULAB_PORT", "QULAB_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    for name in [m for m in sys.modules if m == "qulab_gui" or m.startswith("qulab_gui.")]:
        del sys.modules[name]


async def lab_ready():
    """The Lab the `user` fixture started, once its startup (migrations, Redis) has finished."""
    from qulab_gui.lab import current_lab

    lab = current_lab()
    await lab.ready()
    return lab
