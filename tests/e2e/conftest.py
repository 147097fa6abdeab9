"""End-to-end fixtures: the real QuLab as a separate process (from source, or the executable built
from build.spec) and a real Chromium driven by Playwright.

Every fixture that needs something this machine may lack (Chromium, Playwright, PyInstaller,
Xvfb, pywebview) skips with the reason and the package that brings it.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from qulab_gui.bench import launcher
from qulab_gui.bench.browser import CHROMIUM, CHROMIUM_ARGS, VIEWPORT

ARTIFACTS = launcher.REPO_ROOT / "test-artifacts" / "e2e"
BUILD_DIR = launcher.REPO_ROOT / "build" / "e2e"
NO_REDIS = "redis://127.0.0.1:1/0"  # a refused port: the classroom case, QuLab falls back to fakeredis


# -- the browser --------------------------------------------------------------------------------


@pytest.fixture(scope="package")
def browser():
    """One Chromium for the e2e package (closed before other test packages run their event loops)."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: apt-get install chromium")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("Playwright for Python is not installed: pip install -e '.[dev]'")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


class Tab:
    """A browser tab on one app that records everything that goes wrong in it."""

    def __init__(self, page, base_url: str) -> None:
        self.page = page
        self.base_url = base_url
        self.problems: list[str] = []
        # Leaving a page (a click in the drawer) makes the browser abort what that page was still
        # loading, its lazily imported script chunks say: no fault. So an aborted request counts
        # only if the tab has not navigated since the request started.
        self._navigations = 0
        self._navigations_at_start: dict[object, int] = {}
        self._aborted: list[tuple[int | None, str]] = []
        page.on("console", lambda message: message.type == "error"
                and self.problems.append(f"console error: {message.text}"))
        page.on("pageerror", lambda error: self.problems.append(f"page error: {error}"))
        page.on("request", lambda request: self._navigations_at_start.__setitem__(request, self._navigations))
        page.on("framenavigated", self._frame_navigated)
        page.on("requestfailed", self._request_failed)
        page.on("response", lambda response: response.status >= 400
                and self.problems.append(f"HTTP {response.status} {response.url}"))

    def _frame_navigated(self, frame) -> None:
        if frame == self.page.main_frame:
            self._navigations += 1

    def _request_failed(self, request) -> None:
        problem = f"request failed: {request.method} {request.url} ({request.failure})"
        if request.failure == "net::ERR_ABORTED":  # judged in assert_clean: the navigation may be reported after it
            self._aborted.append((self._navigations_at_start.get(request), problem))
        else:
            self.problems.append(problem)

    def open(self, path: str, heading: str) -> None:
        """Navigate to `path` (goto returns after the page's load event); wait until it shows `heading`
        and its websocket has shaken hands (NiceGUI drops input events sent before that: a field
        filled too early reaches the server empty). Not "networkidle": 500 ms without a request is a
        guess about the page, and on a busy machine a page with live timers missed it for 20 s."""
        from playwright.sync_api import expect

        self.page.goto(self.base_url + path)
        expect(self.page.get_by_text(heading, exact=True).first).to_be_visible(timeout=20_000)
        self.page.wait_for_function("window.did_handshake === true", timeout=20_000)

    def fill_n(self, value: str) -> None:
        """Type N over the number the page chose (min(1000, users)) and wait until the server has it: the
        sweep button's text is bound to the server's N, so "Run sweep up to N = 20" is the page's own
        acknowledgement. Twice in a dozen full runs on a loaded machine the field did not keep the typing
        (once 61 + "20" became 6120, once it showed 61 again for 5 s after the fill); the cause is not
        found. So: up to three fills, each waited for, and a failure that says what the tab saw."""
        from playwright.sync_api import Error, expect

        field = self.page.get_by_label("N (users)")
        acknowledged = self.page.get_by_role(  # anchored: "N = 20" must not match a server still at 200
            "button", name=re.compile(rf"Run sweep up to N = {int(value):,}$"))
        seen = []
        for _ in range(3):
            navigations = self._navigations
            field.fill(value)
            try:
                expect(field).to_have_value(value, timeout=5_000)
                expect(acknowledged).to_be_visible(timeout=5_000)
                return
            except (AssertionError, Error):
                seen.append(f"field {field.input_value()!r}, {self._navigations - navigations} navigation(s)")
        raise AssertionError(f"N = {value} did not stick after three fills: " + "; ".join(seen))

    def screenshot(self, kind: str, name: str) -> Path:
        """`name.png`: the 1280x800 viewport as a user sees it; `name-full.png`: the whole page."""
        path = ARTIFACTS / kind / f"{name}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        self.page.evaluate("window.scrollTo(0, 0)")
        self.page.screenshot(path=str(path))
        self.page.screenshot(path=str(path.with_name(f"{name}-full.png")), full_page=True)
        return path

    def assert_clean(self) -> None:
        aborted_here = [problem for started_at, problem in self._aborted if started_at == self._navigations]
        problems = self.problems + aborted_here
        assert not problems, "the page reported problems:\n" + "\n".join(problems)


@pytest.fixture
def tab(browser, served: launcher.RunningApp) -> Iterator[Tab]:
    context = browser.new_context(viewport=VIEWPORT)
    context.set_default_timeout(20_000)
    try:
        yield Tab(context.new_page(), served.url)
    finally:
        context.close()


# -- the frozen executable ----------------------------------------------------------------------


@pytest.fixture(scope="session")
def frozen_executable() -> Path:
    """The executable from build.spec: $QULAB_FROZEN_EXE, else built once per session.

    The server-only variant by default (what CI builds); QULAB_E2E_BUILD=native builds the default
    one-folder variant with the window instead (~650 MB), which the native-window test then also
    drives. The build goes to build/e2e/ (ignored by git); its time and size are written to
    test-artifacts/e2e/frozen-build.json.
    """
    if os.environ.get("QULAB_FROZEN_EXE"):
        given = launcher.find_frozen()
        if given is None:
            pytest.fail(f"QULAB_FROZEN_EXE={os.environ['QULAB_FROZEN_EXE']} is not a file")
        return given
    if importlib.util.find_spec("PyInstaller") is None:
        pytest.skip("PyInstaller is not installed: pip install -e '.[dev]'")
    native = os.environ.get("QULAB_E2E_BUILD", "server") == "native"
    name = "QuLab" if native else "QuLab-server"
    log = BUILD_DIR / "pyinstaller.log"
    BUILD_DIR.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    with open(log, "wb") as sink:
        result = subprocess.run(
            [sys.executable, "-m", "PyInstaller", "build.spec", "--noconfirm",
             "--distpath", str(BUILD_DIR / "dist"), "--workpath", str(BUILD_DIR / "work")],
            cwd=launcher.REPO_ROOT, env=launcher.child_environment(QULAB_BUILD_SERVER_ONLY="" if native else "1"),
            stdout=sink, stderr=subprocess.STDOUT, timeout=900, check=False,
        )
    seconds = time.perf_counter() - started
    executable = BUILD_DIR / "dist" / name / name
    if result.returncode != 0 or not executable.exists():
        pytest.fail(f"pyinstaller build.spec failed ({result.returncode}):\n{log.read_text()[-4000:]}")
    files = [path for path in executable.parent.rglob("*") if path.is_file() and not path.is_symlink()]
    size = sum(path.stat().st_size for path in files)  # symlinks (PyInstaller links some libraries) once
    report = {"variant": f"one-folder, {'native window' if native else 'server-only'}",
              "build_s": round(seconds, 1), "size_mb": round(size / 1e6, 1), "executable": str(executable)}
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "frozen-build.json").write_text(json.dumps(report, indent=2))
    print(f"\nbuilt {executable} in {seconds:.0f} s, {size / 1e6:.0f} MB")
    return executable


# -- the app under test -------------------------------------------------------------------------


def fresh_test_redis_url() -> str | None:
    """QULAB_TEST_REDIS_URL, emptied first (the streams and cache keys of a previous run must go)."""
    url = os.environ.get("QULAB_TEST_REDIS_URL")
    if url:
        import redis

        redis.Redis.from_url(url, socket_connect_timeout=1).flushdb()
    return url




def app_command(kind: str, request: pytest.FixtureRequest) -> list[str]:
    if kind == "frozen":
        return [str(request.getfixturevalue("frozen_executable"))]
    return launcher.source_command()


@pytest.fixture(scope="module", params=["source", "frozen"])
def served(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[launcher.RunningApp]:
    """QuLab serving headless for one test module, from a working directory and HOME of its own.

    From source it uses the real Redis when QULAB_TEST_REDIS_URL is set, else fakeredis; the
    frozen build meets no Redis at all and must fall back to the fakeredis inside the bundle.
    """
    kind = request.param
    command = app_command(kind, request)
    root = tmp_path_factory.mktemp(f"served-{kind}")
    (root / "home").mkdir()
    (root / "cwd").mkdir()
    redis_url = (fresh_test_redis_url() or "fake") if kind == "source" else NO_REDIS
    app = launcher.launch(command, root / "data", "--headless", "--redis-url", redis_url, cwd=root / "cwd",
                          env=launcher.child_environment(HOME=str(root / "home")), label=kind)
    try:
        app.wait_healthy(timeout=60)
        yield app
        assert app.stop() in (0, -15), app.output_text()[-3000:]  # SIGTERM: handlers ran, then re-raised
        errors = [line for line in app.log_file.read_text().splitlines() if re.search(r"\b(ERROR|CRITICAL)\b", line)]
        assert not errors, "the app logged errors:\n" + "\n".join(errors[-20:])
        assert list((root / "cwd").iterdir()) == [], "the app wrote into its working directory"
    finally:
        if app.process.poll() is None:
            app.kill()


@pytest.fixture
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS

