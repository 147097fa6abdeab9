"""The classroom access token: without it no page, API call or websocket gets through."""

from __future__ import annotations

import warnings

import pytest
from starlette.applications import Starlette
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # Starlette now prefers httpx2 and says so; httpx still works here
    from starlette.testclient import TestClient

from qulab_gui.auth import TokenMiddleware, cookie_name, storage_secret

TOKEN = "s3cret-token"
COOKIE = cookie_name(8123)
PAGE = {"accept": "text/html,application/xhtml+xml"}


async def _page(request):
    return PlainTextResponse(f"lab data for {request.url.path}?{request.url.query}")


async def _api(request):
    return JSONResponse({"users": 3})


async def _socket(websocket: WebSocket):
    await websocket.accept()
    await websocket.send_text("lab data")
    await websocket.close()


@pytest.fixture
def client() -> TestClient:
    app = Starlette(routes=[Route("/models", _page), Route("/api/health", _api),
                            WebSocketRoute("/_nicegui_ws/socket.io/", _socket)])
    app.add_middleware(TokenMiddleware, token=TOKEN, cookie_name=COOKIE)
    return TestClient(app, follow_redirects=False)


def test_page_without_token_gets_the_prompt_not_data(client: TestClient) -> None:
    response = client.get("/models", headers=PAGE)
    assert response.status_code == 401
    assert "needs an access token" in response.text
    assert "lab data" not in response.text
    assert "not valid" not in response.text


def test_api_without_token_is_401_json(client: TestClient) -> None:
    response = client.get("/api/health")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert "users" not in response.text


def test_wrong_token_says_so(client: TestClient) -> None:
    response = client.get("/models?token=guess", headers=PAGE)
    assert response.status_code == 401
    assert "not valid" in response.text
    assert client.get("/api/health?token=guess").status_code == 401
    assert client.get("/api/health", headers={"authorization": "Bearer guess"}).status_code == 401


def test_token_in_url_redirects_without_it_and_sets_a_cookie(client: TestClient) -> None:
    response = client.get(f"/models?tab=2&token={TOKEN}", headers=PAGE)
    assert response.status_code == 303
    assert response.headers["location"] == "/models?tab=2"
    assert f"{COOKIE}={TOKEN}" in response.headers["set-cookie"]
    assert "HttpOnly" in response.headers["set-cookie"]
    followed = client.get(response.headers["location"], headers=PAGE)  # the client kept the cookie
    assert followed.status_code == 200
    assert followed.text == "lab data for /models?tab=2"


def test_api_accepts_the_token_from_query_cookie_or_bearer(client: TestClient) -> None:
    assert client.get(f"/api/health?token={TOKEN}").json() == {"users": 3}
    assert client.get("/api/health", headers={"authorization": f"Bearer {TOKEN}"}).json() == {"users": 3}
    client.cookies.set(COOKIE, TOKEN)
    assert client.get("/api/health").json() == {"users": 3}


def test_another_instance_cookie_does_not_open_this_one(client: TestClient) -> None:
    client.cookies.set(cookie_name(9999), TOKEN)
    assert client.get("/api/health").status_code == 401


def test_websocket_needs_the_token(client: TestClient) -> None:
    with pytest.raises(WebSocketDisconnect) as refused, client.websocket_connect("/_nicegui_ws/socket.io/"):
        pass
    assert refused.value.code == 1008
    client.cookies.set(COOKIE, TOKEN)
    with client.websocket_connect("/_nicegui_ws/socket.io/") as socket:
        assert socket.receive_text() == "lab data"


# -- where the token may go: only to this site --------------------------------------------------


@pytest.fixture
def served_like_nicegui() -> TestClient:
    """The middleware order of the real app: NiceGUI's ui.run adds its X-Forwarded-Prefix redirect
    rewriter after setup() added the token middleware, so the rewriter sees our redirects."""
    from nicegui.middlewares import RedirectWithPrefixMiddleware

    app = Starlette(routes=[Route("/models", _page), Route("/api/health", _api)])
    app.add_middleware(TokenMiddleware, token=TOKEN, cookie_name=COOKIE)
    app.add_middleware(RedirectWithPrefixMiddleware)
    return TestClient(app, follow_redirects=False)


OFF_SITE = [  # what a student may be sent, and the one path on this site each must become
    ("//evil.example/steal", "/evil.example/steal"),
    ("/%2F%2Fevil.example", "/evil.example"),
    ("/%5Cevil.example", "/evil.example"),
    ("/%5C%5C/%2f/evil.example/x", "/evil.example/x"),
    ("/%09/evil.example", "/evil.example"),  # browsers drop tabs and newlines from a URL, then parse it
]


def _action(page: str) -> str:
    return page.split('<form method="get" action="', 1)[1].split('"', 1)[0]


@pytest.mark.parametrize("path,on_site", OFF_SITE)
def test_the_prompt_posts_the_token_only_to_this_site(served_like_nicegui: TestClient, path: str,
                                                      on_site: str) -> None:
    response = served_like_nicegui.get(f"http://testserver{path}", headers=PAGE)
    assert response.status_code == 401
    assert _action(response.text) == on_site


@pytest.mark.parametrize("path,on_site", OFF_SITE)
def test_the_token_redirect_stays_on_this_site(served_like_nicegui: TestClient, path: str, on_site: str) -> None:
    response = served_like_nicegui.get(f"http://testserver{path}?x=1&token={TOKEN}", headers=PAGE)
    assert response.status_code == 303
    assert response.headers["location"] == f"{on_site}?x=1"


@pytest.mark.parametrize("prefix", ["//evil.example", "https://evil.example", "/\\evil.example", "/%2F/evil",
                                    "/ok//evil.example", "/..", "qulab"])
@pytest.mark.parametrize("token", [None, TOKEN, "guess"])
def test_a_forwarded_prefix_that_is_not_a_plain_path_is_refused(served_like_nicegui: TestClient, prefix: str,
                                                                token: str | None) -> None:
    query = f"?token={token}" if token else ""
    response = served_like_nicegui.get(f"/models{query}", headers={**PAGE, "x-forwarded-prefix": prefix})
    assert response.status_code == 400
    assert "location" not in response.headers
    assert "evil" not in response.text
    assert "X-Forwarded-Prefix" in response.json()["detail"]


def test_a_plain_forwarded_prefix_is_kept_on_prompt_and_redirect(served_like_nicegui: TestClient) -> None:
    behind_proxy = {**PAGE, "x-forwarded-prefix": "/room-3/qulab"}
    assert _action(served_like_nicegui.get("/models", headers=behind_proxy).text) == "/room-3/qulab/models"
    response = served_like_nicegui.get(f"/models?token={TOKEN}", headers=behind_proxy)
    assert response.status_code == 303
    assert response.headers["location"] == "/room-3/qulab/models"


# -- the token cookie among other apps' cookies -------------------------------------------------

FOREIGN_COOKIES = 'pref={"theme":"dark"}; greeting=hello world'


def test_the_foreign_cookies_here_are_ones_the_standard_parser_gives_up_on() -> None:
    from http.cookies import SimpleCookie

    jar = SimpleCookie()
    jar.load(f"{FOREIGN_COOKIES}; {COOKIE}={TOKEN}")
    assert COOKIE not in jar  # so this is the case that used to loop on the prompt


def test_a_foreign_unparseable_cookie_before_the_token_cookie_does_not_hide_it(client: TestClient) -> None:
    header = {"cookie": f"{FOREIGN_COOKIES}; {COOKIE}={TOKEN}"}
    assert client.get("/api/health", headers=header).json() == {"users": 3}
    page = client.get("/models", headers={**PAGE, **header})
    assert page.status_code == 200 and page.text.startswith("lab data")


def test_a_wrong_token_cookie_next_to_foreign_ones_is_still_refused(client: TestClient) -> None:
    header = {"cookie": f"{FOREIGN_COOKIES}; {COOKIE}=guess; x{COOKIE}={TOKEN}"}
    assert client.get("/api/health", headers=header).status_code == 401


# -- the session cookie secret ------------------------------------------------------------------


def test_the_storage_secret_is_random_per_data_dir_private_and_kept(tmp_path) -> None:
    first, second = tmp_path / "one", tmp_path / "two"
    first.mkdir()
    second.mkdir()
    secret = storage_secret(first)
    assert len(secret) >= 32
    assert (first / "storage-secret").stat().st_mode & 0o777 == 0o600
    assert storage_secret(first) == secret  # a restart signs the same cookies
    assert storage_secret(second) != secret
    assert sorted(path.name for path in first.iterdir()) == ["storage-secret"]  # no temporary file left


def test_an_empty_storage_secret_left_by_a_crash_is_replaced(tmp_path) -> None:
    (tmp_path / "storage-secret").write_text("")
    secret = storage_secret(tmp_path)
    assert len(secret) >= 32 and (tmp_path / "storage-secret").read_text() == secret
