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

from qulab_gui.auth import TokenMiddleware, cookie_name

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


