"""NiceGUI main file and the `qulab` command.

Two ways in:
- `qulab` / `python -m qulab_gui` call `main()`: parse flags, prepare the data dir, pick native
  window, browser or headless, then `setup()` and `ui.run()`.
- NiceGUI's `user` test fixture runs this file as `__main__` with `NICEGUI_USER_SIMULATION` set:
  settings then come from the environment alone and `ui.run()` returns at once.

Nothing here imports NiceGUI at module level: its storage path is read at import time and must
point into the user data dir first.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import multiprocessing
import os
import socket
import sys
import webbrowser
from logging.handlers import RotatingFileHandler
from pathlib import Path
from typing import IO

from qulab_gui import instance
from qulab_gui.settings import Settings, SettingsError, load_settings

WINDOW_SIZE = (1280, 800)  # the size the e2e screenshots of every page are reviewed at
# Favicon, and the window icon: NiceGUI applies an .ico to the window on Windows; Qt takes the PNG.
ICON = Path(__file__).with_name("assets") / ("qulab.ico" if sys.platform == "win32" else "qulab.png")
WINDOW_CONNECTED = "native window connected"  # logged once per page load; the startup bench waits for it
# A student on a slow or busy network keeps the page: NiceGUI drops a page whose websocket has been
# gone this long (then the browser reloads it and a half-typed form is lost; its default is 3 s),
# and resends the messages it kept meanwhile. The history is pruned by age (about 66 s at this
# timeout), so its cap only has to cover a busy page's updates in that time.
RECONNECT_TIMEOUT_S = 30.0
MESSAGE_HISTORY_LENGTH = 5000
GC_THRESHOLDS = (20_000, 10, 10)  # the collector's generations; main() says why
log = logging.getLogger("qulab_gui")
_instance_lock: IO[bytes] | None = None  # this process's claim on its data dir (see instance.py)


def setup(settings: Settings):
    """Create the Lab and register pages, API, timers and lifecycle hooks on NiceGUI's app.

    Called once per process (and once per test by the `user` fixture, which resets NiceGUI's
    globals in between), so nothing here may run at import time of another module.
    """
    from nicegui import app

    from qulab_gui import api, auth
    from qulab_gui.lab import Lab
    from qulab_gui.lab.current import set_current_lab
    from qulab_gui.ui import pages
    from qulab_gui.ui.shutdown import close_pages

    lab = Lab(settings)  # the desktop's one sandbox; in a classroom, the server's own backend check
    app.on_startup(lab.start)
    app.on_shutdown(close_pages)  # first: the pages' timers stop while the lab still answers them
    app.on_shutdown(lab.stop)
    room = None
    if settings.classroom:
        from qulab_gui.lab.room_health import REFRESH_INTERVAL_S, RoomHealth

        room = RoomHealth(lab, _setup_classroom(settings))
        app.timer(REFRESH_INTERVAL_S, room.refresh)  # /api/health answers from what this reads
    else:
        set_current_lab(lab)  # before pages register: they and the tests find the Lab through it
        lab.register_timers(app.timer)  # the header's backend check, lab 5's publisher and consumer
    auth.register(settings)  # off loopback: every page, API call and websocket needs the token
    api.register(lab, room)
    pages.register(classroom=room is not None)
    return lab


def _setup_classroom(settings: Settings):
    """A sandbox per learner: opened by the first page request, its timers closed when idle."""
    from nicegui import app, background_tasks

    from qulab_gui.lab.classroom import SWEEP_INTERVAL_S, Classroom
    from qulab_gui.lab.current import set_current_classroom
    from qulab_gui.ui import learner

    classroom = Classroom(settings, app.timer, background_tasks.create, learner.is_connected)
    set_current_classroom(classroom, learner.learner_of_page)
    app.on_shutdown(classroom.stop)
    app.timer(SWEEP_INTERVAL_S, classroom.close_idle, immediate=False)
    learner.register_gate(classroom)
    return classroom


def _configure_logging(settings: Settings) -> None:
    settings.log_dir.mkdir(parents=True, exist_ok=True)
    handler = RotatingFileHandler(settings.log_dir / "qulab.log", maxBytes=2_000_000, backupCount=3,
                                  encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    if sys.stderr is not None:
        console = logging.StreamHandler(sys.stderr)
        console.setLevel(logging.WARNING)
        console.setFormatter(logging.Formatter("qulab: %(message)s"))
        root.addHandler(console)


def _guard_std_streams(settings: Settings) -> None:
    """A windowed executable has no console: stdout/stderr are None and uvicorn's logging breaks."""
    if sys.stdout is None or sys.stderr is None:
        settings.log_dir.mkdir(parents=True, exist_ok=True)  # the first launch has no logs folder yet
        stream = open(settings.log_dir / "console.log", "a", encoding="utf-8", buffering=1)  # noqa: SIM115
        sys.stdout = sys.stdout or stream
        sys.stderr = sys.stderr or stream


def display_mode(settings: Settings) -> tuple[str, str]:
    """What to open (native, browser or headless) and, when it differs from the request, why."""
    if settings.mode == "headless":
        return "headless", ""
    has_display = sys.platform in ("win32", "darwin") or bool(
        os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    if not has_display:
        return "headless", "no display found (DISPLAY is not set): serving headless"
    if settings.mode == "browser":
        return "browser", ""
    try:
        import webview  # noqa: F401  (pywebview)

        if sys.platform.startswith("linux"):
            import qtpy  # noqa: F401  the Qt backend; GTK is tried first otherwise and warns
    except ImportError as error:
        return "browser", f"no native window backend ({error.name} is not installed): opening a browser tab"
    return "native", ""


def _prepare_native(settings: Settings) -> None:
    from nicegui import app

    os.environ.setdefault("PYWEBVIEW_GUI", "qt" if sys.platform.startswith("linux") else "")
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        os.environ.setdefault("QTWEBENGINE_DISABLE_SANDBOX", "1")  # Qt refuses its sandbox as root
    app.native.window_args["min_size"] = (960, 640)
    if settings.token:  # served to the network: the window on this machine needs the token too
        app.native.window_args["url"] = f"http://127.0.0.1:{settings.port}/?token={settings.token}"
    if sys.platform.startswith("linux"):
        app.native.start_args["gui"] = "qt"
        app.native.start_args["icon"] = str(ICON)  # Qt/GTK window icon; Windows takes ui.run's favicon
    # The window lives in a child process (and Qt WebEngine in its children). On SIGTERM uvicorn
    # stops the server but nothing stops the window: end it here so no process is left behind.
    app.on_shutdown(_stop_child_processes)
    app.on_connect(lambda: log.info(WINDOW_CONNECTED))


async def _stop_child_processes() -> None:
    children = multiprocessing.active_children()
    for child in children:
        child.terminate()
    for _ in range(50):  # up to 5 s without blocking the loop
        if not any(child.is_alive() for child in children):
            return
        await asyncio.sleep(0.1)
    for child in children:
        child.kill()


def main(argv: list[str] | None = None) -> None:
    global _instance_lock
    multiprocessing.freeze_support()
    try:
        settings = load_settings(sys.argv[1:] if argv is None else argv)
    except SettingsError as error:
        print(f"qulab: error: {error}", file=sys.stderr)
        raise SystemExit(2) from None

    os.environ["NICEGUI_STORAGE_PATH"] = str(settings.storage_dir)
    _guard_std_streams(settings)
    url = f"http://{settings.host if settings.host != '0.0.0.0' else '127.0.0.1'}:{settings.port}/"
    try:
        # Held until the process ends; before logging, so two instances never rotate one log file.
        _instance_lock = instance.claim(settings.data_dir, url)
    except instance.AlreadyRunning as refusal:
        print(f"qulab: {refusal}", file=sys.stderr)
        running = instance.running_url(settings.data_dir)
        if running and settings.is_loopback and display_mode(settings)[0] != "headless":
            # A windowed build has no console for the message: a second double-click shows the
            # running QuLab in the browser instead of seemingly doing nothing.
            webbrowser.open(running)
        raise SystemExit(1) from None
    _configure_logging(settings)
    mode, reason = display_mode(settings)
    if reason:
        print(f"qulab: {reason}", file=sys.stderr)

    from nicegui import ui

    from qulab_gui.auth import storage_secret

    setup(settings)
    if settings.token:
        url += f"?token={settings.token}"
    print(f"QuLab serving at {url}", flush=True)
    if settings.instructor_token:  # a classroom: the instructor's own way in (students know the room token)
        print(f"QuLab instructor view: {url.split('?')[0]}instructor?key={settings.instructor_token}", flush=True)
    if settings.host == "0.0.0.0":  # what students type: this machine's name, not 127.0.0.1
        print(f"QuLab for the room: {url.replace('127.0.0.1', socket.gethostname(), 1)}", flush=True)
    if mode == "native":
        _prepare_native(settings)
    # Everything imported by now lives as long as the process: move it out of the garbage
    # collector's sight, so full collections (during a lab's measurement, say) do not walk it.
    gc.collect()
    gc.freeze()
    # Python's default (700, 10, 10) runs a full collection about every 70,000 net allocations.
    # Building pages allocates so much that a profile of thirty learners (the classroom bench)
    # saw full collections stop the loop 0.3–0.75 s every 1–4 s. A larger first generation makes
    # them rare; what is garbage is still collected.
    gc.set_threshold(*GC_THRESHOLDS)
    ui.run(
        host=settings.host,
        port=settings.port,
        title="QuLab",
        favicon=ICON,
        reload=False,
        show=mode == "browser",
        native=mode == "native",
        window_size=WINDOW_SIZE if mode == "native" else None,
        storage_secret=storage_secret(settings.data_dir),  # never the token: it signs cookies outsiders get
        reconnect_timeout=RECONNECT_TIMEOUT_S,
        message_history_length=MESSAGE_HISTORY_LENGTH,
        show_welcome_message=False,
        uvicorn_logging_level="warning",
    )


if __name__ == "__main__":
    if os.environ.get("NICEGUI_USER_SIMULATION"):
        from nicegui import ui

        setup(load_settings([]))
        ui.run(title="QuLab", storage_secret="qulab-test", reload=False)
    else:
        main()
