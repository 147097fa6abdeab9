"""Classroom server mode: served with --host 0.0.0.0, QuLab lets in only those who have the token.

(The app binds every interface, but these tests only ever connect to 127.0.0.1. On loopback no
token is asked: every test in test_labs.py runs without one.)
"""

from __future__ import annotations

import socket
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from qulab_gui.bench import launcher
from tests.e2e.conftest import VIEWPORT, Tab

pytestmark = pytest.mark.e2e
expect = pytest.importorskip("playwright.sync_api", reason="Playwright for Python is not installed").expect


@pytest.fixture(scope="module")
def classroom(tmp_path_factory: pytest.TempPathFactory) -> Iterator[launcher.RunningApp]:
    root = tmp_path_factory.mktemp("classroom")
    app = launcher.launch(launcher.source_command(), root / "data", "--headless", "--host", "0.0.0.0",
                          "--redis-url", "fake")
    try:
        printed = app.printed_url()
        app.token = parse_qs(urlsplit(printed).query)["token"][0]
        app.wait_healthy(timeout=60)
        yield app
    finally:
        app.stop()


def get(url: str, **headers: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def test_the_printed_url_carries_a_generated_token(classroom: launcher.RunningApp) -> None:
    assert len(classroom.token) >= 16
    assert f"?token={classroom.token}" in classroom.output_text()
    room = f"QuLab for the room: http://{socket.gethostname()}:{classroom.port}/?token={classroom.token}"
    assert room in classroom.output_text()  # the address students can reach, not 127.0.0.1


def test_without_the_token_nothing_but_a_prompt_or_401(classroom: launcher.RunningApp) -> None:
    status, body = get(f"{classroom.url}/api/health")
    assert status == 401 and "sqlite" not in body
    status, body = get(f"{classroom.url}/models", Accept="text/html")
    assert status == 401
    assert "needs an access token" in body and "Data models" not in body
    status, body = get(f"{classroom.url}/api/health?token=wrong")
    assert status == 401
    status, body = get(f"{classroom.url}/api/health", Authorization=f"Bearer {classroom.token}")
    assert status == 200 and '"dialect":"sqlite"' in body


def test_a_student_enters_the_token_once_and_uses_every_lab(browser, classroom: launcher.RunningApp) -> None:
    context = browser.new_context(viewport=VIEWPORT)
    try:
        tab = Tab(context.new_page(), classroom.url)
        page = tab.page
        page.goto(f"{classroom.url}/models")
        expect(page.get_by_text("This QuLab needs an access token")).to_be_visible()
        page.get_by_label("Access token").fill("a guess")
        page.get_by_role("button", name="Open QuLab").click()
        expect(page.get_by_text("That token is not valid")).to_be_visible()
        tab.problems.clear()  # the two 401 prompts above were expected

        page.get_by_label("Access token").fill(classroom.token)
        page.get_by_role("button", name="Open QuLab").click()
        expect(page.get_by_text("1 · Data models", exact=True).first).to_be_visible()
        assert "token" not in page.url  # swapped for a cookie: not left in the address bar or history
        page.get_by_label("Email").fill("alan@example.org")  # the websocket works: a user action round-trips
        page.get_by_label("Name", exact=True).fill("Alan Turing")
        page.get_by_role("button", name="Create user").click()
        expect(page.get_by_role("cell", name="alan@example.org")).to_be_visible()
        tab.open("/", "Welcome to QuLab")
        tab.screenshot("classroom", "home-after-token")
        tab.assert_clean()
    finally:
        context.close()


def test_the_instructor_can_choose_the_token(tmp_path: Path) -> None:
    app = launcher.launch(launcher.source_command(), tmp_path / "data", "--headless", "--host", "0.0.0.0",
                          "--redis-url", "fake", env=launcher.child_environment(QULAB_TOKEN="room-42-secret"),
                          token="room-42-secret")
    try:
        app.wait_healthy(timeout=60)
        assert "?token=room-42-secret" in app.printed_url()
        assert get(f"{app.url}/api/health?token=room-42-secret")[0] == 200
        assert get(f"{app.url}/api/health")[0] == 401
    finally:
        app.stop()

