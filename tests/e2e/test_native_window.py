"""The native window, under a private Xvfb: it opens titled QuLab, shows the connected page, and
closing it (or SIGTERM) ends the app cleanly with no window or web-engine process left behind.
"""

from __future__ import annotations

import importlib.util
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from qulab_gui.bench import desktop, launcher
from tests.conftest import until_sync
from tests.e2e import processes
from tests.e2e.conftest import ARTIFACTS

pytestmark = pytest.mark.e2e

INDIGO = (57, 73, 171)  # the frame's header colour


def wait_until_gone(children, pid: int, timeout: float = 10.0) -> None:
    """Wait until the app's children and process group are gone; fail after `timeout`."""
    until_sync(lambda: not (processes.alive(children) or processes.process_group(pid)), timeout,
               message="the app's processes to end")


@pytest.fixture(scope="module")
def display() -> Iterator[str]:
    missing = desktop.xvfb_available()
    if missing:
        pytest.skip(f"no virtual display: {missing}")
    for module, package in (("webview", "pywebview"), ("qtpy", "pywebview[qt]"), ("PyQt6.QtWebEngineCore", "PyQt6")):
        try:
            found = importlib.util.find_spec(module) is not None
        except ModuleNotFoundError:
            found = False
        if not found:
            pytest.skip(f"no native window backend: pip install -e '.[native]' ({package} is missing)")
    with desktop.xvfb(1280, 900) as name:
        yield name


def open_window(display: str, work: Path, command: list[str] | None = None
                ) -> tuple[launcher.RunningApp, desktop.Window]:
    from qulab_gui.main import WINDOW_CONNECTED

    app = launcher.launch(command or launcher.source_command(), work / "data", "--redis-url", "fake",
                          env=launcher.child_environment(DISPLAY=display, HOME=str(work)))
    try:
        app.wait_for_log(WINDOW_CONNECTED, timeout=60)
        with desktop.Display(display) as screen:
            window = screen.wait_for_window("QuLab", timeout=30)
    except Exception:
        app.kill()
        raise
    return app, window


def header_visible(display: str, window: desktop.Window, timeout: float = 20.0) -> desktop.Image:
    """The window's pixels once the page's indigo header is drawn in them."""
    with desktop.Display(display) as screen:
        until_sync(lambda: screen.pixels(window.x, window.y, window.width, 60).share_of(INDIGO) > 0.5, timeout,
                   message="the window to show the QuLab header", interval_s=0.2)
        time.sleep(1.0)  # let the page finish drawing for the screenshot
        return screen.pixels(window.x, window.y, window.width, window.height)


def test_window_opens_shows_the_page_and_closes_cleanly(display: str, tmp_path: Path) -> None:
    window_round_trip(display, tmp_path, launcher.source_command(), "native-window.png")


def test_frozen_window_opens_and_closes_cleanly(display: str, frozen_executable: Path, tmp_path: Path) -> None:
    from qulab_gui.bench.startup import is_native_build

    if not is_native_build(frozen_executable):
        pytest.skip("the frozen build is server-only (build the window variant with QULAB_E2E_BUILD=native)")
    window_round_trip(display, tmp_path, [str(frozen_executable)], "native-window-frozen.png")


def window_round_trip(display: str, tmp_path: Path, command: list[str], screenshot: str) -> None:
    app, window = open_window(display, tmp_path, command)
    try:
        assert "QuLab" in window.title
        assert (window.width, window.height) == (1280, 800)
        shot = header_visible(display, window)
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        (ARTIFACTS / screenshot).write_bytes(shot.png())
        assert app.health()["status"] == "ok"

        children = processes.descendants(app.process.pid)
        assert children, "the window should run in a child process"
        with desktop.Display(display) as screen:
            screen.close(window)  # what the window manager's close button sends
        assert app.process.wait(timeout=30) == 0, app.output_text()[-3000:]
    finally:
        if app.process.poll() is None:
            app.kill()
    wait_until_gone(children, app.process.pid)
    assert not processes.alive(children), "processes outlived the app"
    assert not processes.process_group(app.process.pid), "processes outlived the app"
    assert not (app.data_dir / "qulab.db-wal").exists(), "the engine was not disposed"


def test_sigterm_ends_the_window_and_its_web_engine_too(display: str, tmp_path: Path) -> None:
    app, window = open_window(display, tmp_path)
    try:
        children = processes.descendants(app.process.pid)
        assert app.stop(signal.SIGTERM, timeout=30) in (0, -signal.SIGTERM)
    finally:
        if app.process.poll() is None:
            app.kill()
    wait_until_gone(children, app.process.pid)
    assert not processes.alive(children), "processes outlived the app"
    assert not processes.process_group(app.process.pid), "processes outlived the app"
    with desktop.Display(display) as screen:
        assert screen.find_window("QuLab") is None


def test_without_a_display_it_serves_headless_and_says_why(tmp_path: Path) -> None:
    env = launcher.child_environment()
    for name in ("DISPLAY", "WAYLAND_DISPLAY"):
        env.pop(name, None)
    app = launcher.launch(launcher.source_command(), tmp_path / "data", "--redis-url", "fake", env=env)
    try:
        app.wait_healthy(timeout=60)
        assert "no display found (DISPLAY is not set): serving headless" in app.output_text()
    finally:
        app.stop()
