"""The system Chromium that the e2e tests and the classroom benchmark drive through Playwright.

Playwright's own browser download is not used: the tests and the benchmark run the Chromium the
machine already has, with nothing on the network but the app under test.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
    # nothing but the app under test on the network: no update checks, sync, metrics or field trials
    "--disable-background-networking", "--disable-component-update", "--disable-default-apps",
    "--disable-sync", "--metrics-recording-only", "--no-first-run", "--disable-field-trial-config",
]
VIEWPORT = {"width": 1280, "height": 800}


def missing() -> str | None:
    """Why no browser can be driven here (with what would bring it), or None."""
    if not CHROMIUM.exists():
        return f"{CHROMIUM} is missing: apt-get install chromium"
    if importlib.util.find_spec("playwright") is None:
        return "Playwright for Python is not installed: pip install -e '.[dev]'"
    return None
