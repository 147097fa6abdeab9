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

import logging
import multiprocessing
import os
import sys
from logging.handlers import RotatingFileHandler

from qulab_gui.settings import Settings, SettingsError, load_settings

WINDOW_SIZE = (1280, 860)
log = logging.getLogger("qulab_gui")


def setup(settings: Settings):
    """Create the Lab and register pages, API, timers and lifecycle hooks on NiceGUI's app.

    Called once per process (and once per test by the `user` fixture, which resets NiceGUI's
    globals in between), so nothing here may run at import time of another module.
    """
    from nicegui import app

    from qulab_gui import api
    from qulab_gui.lab import Lab
    from qulab_gui.ui import pages

    lab = Lab(settings)
    app.on_startup(lab.start)
    app.on_shutdown(lab.stop)
    app.timer(3.0, lab.refresh_status)
    api.register(lab)
    pages.register()
    return lab


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


def _prepare_native() -> None:
    from nicegui import app

    os.environ.setdefault("PYWEBVIEW_GUI", "qt" if sys.platform.startswith("linux") else "")
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        os.environ.setdefault("QTWEBENGINE_DISABLE_SANDBOX", "1")  # Qt refuses its sandbox as root
    app.native.window_args["min_size"] = (960, 640)
    if sys.platform.startswith("linux"):
        app.native.start_args["gui"] = "qt"


def main(argv: list[str] | None = None) -> None:
    multiprocessing.freeze_support()
    try:
        settings = load_settings(sys.argv[1:] if argv is None else argv)
    except SettingsError as error:
        print(f"qulab: error: {error}", file=sys.stderr)
        raise SystemExit(2) from None

    os.environ["NICEGUI_STORAGE_PATH"] = str(settings.storage_dir)
    _guard_std_streams(settings)
    _configure_logging(settings)
    mode, reason = display_mode(settings)
    if reason:
        print(f"qulab: {reason}", file=sys.stderr)

    from nicegui import ui

    setup(settings)
    url = f"http://{settings.host if settings.host != '0.0.0.0' else '127.0.0.1'}:{settings.port}/"
    if settings.token:
        url += f"?token={settings.token}"
    print(f"QuLab serving at {url}", flush=True)
    if mode == "native":
        _prepare_native()
    ui.run(
        host=settings.host,
        port=settings.port,
        title="QuLab",
        favicon="🧪",
        reload=False,
        show=mode == "browser",
        native=mode == "native",
        window_size=WINDOW_SIZE if mode == "native" else None,
        storage_secret=settings.token or "qulab-local",
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
