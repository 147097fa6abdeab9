"""The frozen executable as a student gets it: double-clicked with no Redis, no Python, a fresh
home directory, started from some other folder. Its data must land in the user data dir and
survive a restart; nothing may be written into the working directory.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from qulab_gui.bench import launcher
from tests.e2e.conftest import NO_REDIS, Tab

pytestmark = pytest.mark.e2e
expect = pytest.importorskip("playwright.sync_api", reason="Playwright for Python is not installed").expect


def start(executable: Path, home: Path, cwd: Path, data_dir: Path) -> launcher.RunningApp:
    env = launcher.child_environment(HOME=str(home))
    env.pop("XDG_DATA_HOME", None)
    app = launcher.launch([str(executable)], data_dir, "--headless", "--redis-url", NO_REDIS, cwd=cwd, env=env,
                          pass_data_dir=False, label="frozen", output_dir=home.parent)
    app.wait_healthy(timeout=60)
    return app


def test_frozen_app_keeps_its_data_in_the_user_data_dir_across_a_restart(
        frozen_executable: Path, browser, tmp_path: Path) -> None:
    home, cwd = tmp_path / "home", tmp_path / "somewhere-else"
    home.mkdir()
    cwd.mkdir()
    data_dir = home / ".local" / "share" / "QuLab"  # platformdirs' user data dir on Linux

    app = start(frozen_executable, home, cwd, data_dir)
    try:
        health = app.health()
        assert health["database"]["url"] == f"sqlite+aiosqlite:///{data_dir / 'qulab.db'}"
        assert health["redis"]["backend"] == "fakeredis"  # nothing answered at the Redis URL
        context = browser.new_context(viewport={"width": 1280, "height": 800})
        tab = Tab(context.new_page(), app.url)
        tab.open("/models", "1 · Data models")
        tab.page.get_by_label("Email").fill("grace@example.org")
        tab.page.get_by_label("Name", exact=True).fill("Grace Hopper")
        tab.page.get_by_role("button", name="Create user").click()
        expect(tab.page.get_by_role("cell", name="grace@example.org")).to_be_visible()
        tab.assert_clean()
        context.close()
    finally:
        app.stop()
    assert not (data_dir / "qulab.db-wal").exists(), "the engine was not disposed at shutdown"
    assert (data_dir / "logs" / "qulab.log").is_file()

    again = start(frozen_executable, home, cwd, data_dir)
    try:
        context = browser.new_context(viewport={"width": 1280, "height": 800})
        tab = Tab(context.new_page(), again.url)
        tab.open("/models", "1 · Data models")
        expect(tab.page.get_by_role("cell", name="grace@example.org")).to_be_visible()
        expect(tab.page.get_by_text(re.compile(r"^1 user · "))).to_be_visible()
        tab.assert_clean()
        context.close()
    finally:
        again.stop()
    assert list(cwd.iterdir()) == [], "the app wrote into its working directory"
    written = {path.relative_to(home).parts[:3] for path in home.rglob("*") if path.is_file()}
    assert written == {(".local", "share", "QuLab")}, f"files outside the data dir: {written}"


def test_frozen_app_without_a_display_serves_headless_and_says_why(frozen_executable: Path, tmp_path: Path) -> None:
    env = launcher.child_environment(HOME=str(tmp_path / "home"))
    for name in ("DISPLAY", "WAYLAND_DISPLAY"):
        env.pop(name, None)
    app = launcher.launch([str(frozen_executable)], tmp_path / "data", "--redis-url", NO_REDIS, env=env,
                          cwd=tmp_path)
    try:
        app.wait_healthy(timeout=60)
        output = app.output_text()
        assert "serving headless" in output
        assert f"QuLab serving at http://127.0.0.1:{app.port}/" in output
    finally:
        app.stop()
