"""Classroom server mode: served with --host 0.0.0.0, QuLab lets in only those who have the token.

(The app binds every interface, but these tests only ever connect to 127.0.0.1. On loopback no
token is asked: every test in test_labs.py runs without one.)
"""

from __future__ import annotations

import http.client
import os
import signal
import socket
import time
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



# -- the holes of issue 12, against the real app and NiceGUI's own middleware -------------------


def raw_get(app: launcher.RunningApp, target: str, **headers: str) -> http.client.HTTPResponse:
    """GET exactly `target` (a path like //evil.example is sent as it is), following nothing."""
    connection = http.client.HTTPConnection("127.0.0.1", app.port, timeout=10)
    connection.request("GET", target, headers={"Accept": "text/html", **headers})
    response = connection.getresponse()
    response.body = response.read().decode()
    connection.close()
    return response


@pytest.mark.parametrize("path,on_site", [("//evil.example/steal", "/evil.example/steal"),
                                          ("/%2F%2Fevil.example", "/evil.example"),
                                          ("/%5Cevil.example", "/evil.example")])
def test_prompt_and_token_redirect_stay_on_this_site(classroom: launcher.RunningApp, path: str,
                                                     on_site: str) -> None:
    prompt = raw_get(classroom, path)
    assert prompt.status == 401
    assert f'<form method="get" action="{on_site}">' in prompt.body
    redirect = raw_get(classroom, f"{path}?token={classroom.token}")
    assert redirect.status == 303
    assert redirect.getheader("location") == on_site


@pytest.mark.parametrize("prefix", ["//evil.example", "https://evil.example", "/\\evil.example"])
def test_an_off_site_forwarded_prefix_is_refused(classroom: launcher.RunningApp, prefix: str) -> None:
    for target in ("/models", f"/models?token={classroom.token}"):
        response = raw_get(classroom, target, **{"X-Forwarded-Prefix": prefix})
        assert response.status == 400 and response.getheader("location") is None
        assert "evil" not in response.body


def test_a_session_cookie_given_to_an_outsider_tells_nothing_about_the_token(classroom: launcher.RunningApp) -> None:
    from itsdangerous import BadSignature, TimestampSigner

    response = raw_get(classroom, "/models")
    assert response.status == 401
    cookies = [value for name, value in response.getheaders() if name.lower() == "set-cookie"]
    session = next(cookie.split(";")[0].removeprefix("session=") for cookie in cookies if cookie.startswith("session="))
    with pytest.raises(BadSignature):  # an outsider's offline guess, even the right one, cannot be checked
        TimestampSigner(classroom.token).unsign(session)
    secret_file = classroom.data_dir / "storage-secret"
    assert secret_file.stat().st_mode & 0o777 == 0o600
    TimestampSigner(secret_file.read_text()).unsign(session)  # what it is signed with instead


def test_a_foreign_cookie_the_standard_parser_rejects_does_not_hide_the_token(classroom: launcher.RunningApp) -> None:
    cookie = f'pref={{"theme":"dark"}}; greeting=hello world; qulab_token_{classroom.port}={classroom.token}'
    status, body = get(f"{classroom.url}/api/health", Cookie=cookie)
    assert status == 200 and '"dialect":"sqlite"' in body


# -- a slow or busy connection keeps the page ---------------------------------------------------

PAUSE_S = 8  # longer than NiceGUI's default reconnect window (3 s) plus its ping timeouts


def test_a_page_and_a_half_typed_form_survive_a_server_that_stalls(browser, classroom: launcher.RunningApp) -> None:
    """The server stops answering for 8 s (SIGSTOP: what a busy machine or a bad Wi-Fi looks like
    from the browser). The page must not reload: what the student typed is still there and sent."""
    context = browser.new_context(viewport=VIEWPORT)
    try:
        tab = Tab(context.new_page(), classroom.url)
        page = tab.page
        page.goto(f"{classroom.url}/models?token={classroom.token}")
        expect(page.get_by_text("1 · Data models", exact=True).first).to_be_visible()
        page.wait_for_load_state("networkidle")
        page.evaluate("window.qulabSamePage = true")  # gone if the page reloads
        page.get_by_label("Email").fill("grace@example.org")
        os.kill(classroom.process.pid, signal.SIGSTOP)
        try:
            time.sleep(PAUSE_S / 2)
            page.get_by_label("Name", exact=True).fill("Grace Hopper")  # typed while nothing answers
            time.sleep(PAUSE_S / 2)
        finally:
            os.kill(classroom.process.pid, signal.SIGCONT)
        page.wait_for_timeout(5_000)  # long enough for a reload, had one been coming
        assert page.evaluate("window.qulabSamePage === true"), "the page reloaded and lost the form"
        assert page.get_by_label("Email").input_value() == "grace@example.org"
        page.get_by_role("button", name="Create user").click()
        expect(page.get_by_role("cell", name="grace@example.org")).to_be_visible()
        expect(page.get_by_role("cell", name="Grace Hopper")).to_be_visible()
        assert page.evaluate("window.qulabSamePage === true")
    finally:
        context.close()


def test_two_students_each_get_their_own_lab_and_the_instructor_sees_both(browser,
                                                                         classroom: launcher.RunningApp) -> None:
    printed = classroom.output_text()
    instructor_url = next(line.split(": ", 1)[1] for line in printed.splitlines()
                          if line.startswith("QuLab instructor view: "))
    assert "key=" in instructor_url and classroom.token not in instructor_url  # a key of its own
    contexts = [browser.new_context(viewport=VIEWPORT) for _ in range(3)]
    try:
        ada, bob, teacher = (Tab(context.new_page(), classroom.url) for context in contexts)
        for student in (ada, bob):
            student.page.goto(f"{classroom.url}/models?token={classroom.token}")  # swaps the token for a cookie
            student.page.wait_for_load_state("networkidle")
            student.open("/models", "1 · Data models")
        ada.page.get_by_label("Email").fill("ada@example.org")
        ada.page.get_by_label("Name", exact=True).fill("Ada Lovelace")
        ada.page.get_by_role("button", name="Create user").click()
        expect(ada.page.get_by_role("cell", name="ada@example.org")).to_be_visible()
        bob.open("/models", "1 · Data models")
        expect(bob.page.get_by_role("cell", name="ada@example.org")).to_have_count(0)  # Ada's lab, not Bob's
        ids = [tab.page.get_by_text("Your lab · ").first.inner_text().split("· ")[-1] for tab in (ada, bob)]
        assert ids[0] != ids[1]

        teacher.page.goto(f"{classroom.url}/instructor?token={classroom.token}")  # the room's cookie first
        expect(teacher.page.get_by_label("Instructor key")).to_be_visible()  # the room token is not enough
        teacher.page.goto(instructor_url)
        expect(teacher.page.get_by_text("Instructor · the classroom's sandboxes")).to_be_visible()
        for learner in ids:
            expect(teacher.page.get_by_text(learner)).to_be_visible()
        teacher.screenshot("classroom", "instructor")
        for tab in (ada, bob, teacher):
            tab.assert_clean()
    finally:
        for context in contexts:
            context.close()
