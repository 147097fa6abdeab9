"""Classroom server mode: off loopback, every request needs the access token.

An instructor who runs `qulab --host 0.0.0.0` serves the labs to a room; anyone on that network
could otherwise reset the database. So, like a notebook server, the app prints a URL with
`?token=...` and refuses every page, API call, static file and websocket without it.

How a request proves it knows the token (any one is enough):
- `?token=...` in the URL: a browser navigation is then redirected to the same URL without it
  and gets a cookie, so the token does not linger in the address bar, history or Referer;
- the cookie set that way (one per port: cookies ignore ports, and two instances on one host
  must not overwrite each other's);
- `Authorization: Bearer ...`, for scripts calling the API.

Without it: a browser asking for a page gets a small token prompt (HTTP 401), anything else a
JSON 401, a websocket is closed before it opens. Never data. On loopback nothing is checked.

Where a token could leak, it cannot: the prompt posts and the `?token=` redirect points only to a
path on this site (`//host`, slash-backslash-host and their %2F/%5C spellings collapse to one
slash), and an `X-Forwarded-Prefix` that is not a plain `/segment` path is answered 400, because
NiceGUI puts that prefix in front of every redirect. NiceGUI signs its session cookies with a
random secret of the data dir (`storage_secret()`), never with the token, so a cookie handed to
an outsider tells nothing about the token. The token cookie is read by a lenient parser: another
app's cookie on the same host that `http.cookies` rejects (`pref={"theme":"dark"}`) must not hide
it.

This is a plain ASGI middleware rather than a FastAPI dependency because NiceGUI's socket.io
endpoint and static files are mounted sub-apps that route dependencies never see.
"""

from __future__ import annotations

import contextlib
import hmac
import html
import json
import os
import re
import secrets
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, quote, urlencode

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

    from qulab_gui.settings import Settings

QUERY_PARAMETER = "token"
PUBLIC_PATHS = {"/favicon.ico"}  # the browser asks for it on the prompt page; it holds no data
STORAGE_SECRET_FILE = "storage-secret"
# Leading characters a browser may read as the start of another host: slashes, backslashes (also
# percent-encoded), and the tab/newline/space it strips from URLs before parsing them.
_OFF_SITE_LEAD = re.compile(r"^(?:[/\\\x00-\x20]|%2f|%5c)+", re.IGNORECASE)
_PLAIN_PREFIX = re.compile(r"(?:/[A-Za-z0-9_~-][A-Za-z0-9._~-]*)+")
_PATH_SAFE = "/:@!$&'()*+,;=-._~"  # RFC 3986 path characters; everything else is percent-encoded


def register(settings: Settings) -> None:
    """Protect the app when it serves beyond this machine; called from `setup()`."""
    if settings.token is None:  # loopback: nothing to protect against
        return
    from nicegui import app

    app.add_middleware(TokenMiddleware, token=settings.token, cookie_name=cookie_name(settings.port))


def cookie_name(port: int) -> str:
    return f"qulab_token_{port}"


def storage_secret(data_dir: Path) -> str:
    """The key NiceGUI signs its session cookies with: random, one per data dir, kept across restarts.

    Readable by this user only (mkstemp makes the file 0600), and written whole or not at all, so
    a crash cannot leave an empty key behind. One process per data dir (instance.py) writes it.
    """
    path = data_dir / STORAGE_SECRET_FILE
    with contextlib.suppress(FileNotFoundError):
        if secret := path.read_text(encoding="ascii").strip():
            return secret
    secret = secrets.token_urlsafe(32)
    descriptor, temporary = tempfile.mkstemp(dir=data_dir, prefix=f".{STORAGE_SECRET_FILE}-")
    with os.fdopen(descriptor, "w", encoding="ascii") as file:
        file.write(secret)
    os.replace(temporary, path)
    return secret


def same_site_path(path: str) -> str:
    """`path` as a relative URL that can only point into this site.

    ASGI hands over the path percent-decoded: `//evil.example` and `/%2F%2Fevil.example` both
    arrive with leading slashes, `/%5Cevil.example` with a backslash, which browsers read as a
    slash. All of them collapse to one `/`, and the rest is percent-encoded again.
    """
    return "/" + quote(_OFF_SITE_LEAD.sub("", path), safe=_PATH_SAFE)


class TokenMiddleware:
    def __init__(self, app: ASGIApp, token: str, cookie_name: str) -> None:
        self.app = app
        self.token = token.encode()
        self.cookie_name = cookie_name

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or scope["path"] in PUBLIC_PATHS:
            await self.app(scope, receive, send)
            return
        query = parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
        from_query = next((value for key, value in query if key == QUERY_PARAMETER), None)
        headers = {key.decode("latin-1").lower(): value.decode("latin-1") for key, value in scope["headers"]}
        prefix = headers.get("x-forwarded-prefix", "")
        if prefix and not _PLAIN_PREFIX.fullmatch(prefix):
            # NiceGUI prepends this header to every redirect and every script URL of a page:
            # anything but a plain path could send the browser, and the token, to another host.
            await self._refuse(scope, receive, send, 400, "X-Forwarded-Prefix must be a plain /path")
            return

        if from_query is not None and self._valid(from_query):
            if scope["type"] == "http" and _is_page_navigation(scope, headers):
                rest = urlencode([(key, value) for key, value in query if key != QUERY_PARAMETER])
                await self._redirect(send, same_site_path(scope["path"]) + (f"?{rest}" if rest else ""))
                return
            await self.app(scope, receive, self._with_cookie(send))
            return
        if any(self._valid(value) for value in _cookies(headers, self.cookie_name)) or self._valid(_bearer(headers)):
            await self.app(scope, receive, send)
            return

        if scope["type"] == "http" and _is_page_navigation(scope, headers):
            action = prefix + same_site_path(scope["path"])
            page = prompt_page(action, wrong=from_query is not None)
            await _respond(send, 401, "text/html; charset=utf-8", page.encode())
        else:
            await self._refuse(scope, receive, send, 401, "access token required: open the URL QuLab printed at start")

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, status: int, detail: str) -> None:
        if scope["type"] == "websocket":
            await receive()  # websocket.connect; closing before accepting answers the handshake with 403
            await send({"type": "websocket.close", "code": 1008})
            return
        extra = [(b"www-authenticate", b"Bearer")] if status == 401 else []
        await _respond(send, status, "application/json", json.dumps({"detail": detail}).encode(), extra)

    def _valid(self, candidate: str | None) -> bool:
        return candidate is not None and hmac.compare_digest(candidate.encode(), self.token)

    def _cookie_header(self) -> tuple[bytes, bytes]:
        value = f"{self.cookie_name}={self.token.decode()}; Path=/; HttpOnly; SameSite=Lax"
        return b"set-cookie", value.encode()

    def _with_cookie(self, send: Send) -> Send:
        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), self._cookie_header()]}
            await send(message)

        return send_with_cookie

    async def _redirect(self, send: Send, location: str) -> None:
        await _respond(send, 303, "text/plain", b"", [(b"location", location.encode()), self._cookie_header()])


def _is_page_navigation(scope: Scope, headers: dict[str, str]) -> bool:
    return (scope.get("method") == "GET" and "text/html" in headers.get("accept", "")
            and not scope["path"].startswith(("/api/", "/_nicegui")))


def _cookies(headers: dict[str, str], name: str) -> list[str]:
    """Every value the Cookie header holds for `name`.

    Not `http.cookies.SimpleCookie`: it gives up on the whole header at the first value it
    dislikes (JSON, a space), so one other app's cookie on this host would hide the token.
    A browser may also send the name twice (two paths); any of them may be the token.
    """
    values = []
    for pair in headers.get("cookie", "").split(";"):
        key, separator, value = pair.partition("=")
        if separator and key.strip() == name:
            values.append(value.strip().removeprefix('"').removesuffix('"'))
    return values


def _bearer(headers: dict[str, str]) -> str | None:
    scheme, _, value = headers.get("authorization", "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" else None


async def _respond(send: Send, status: int, content_type: str, body: bytes,
                   extra: list[tuple[bytes, bytes]] | None = None) -> None:
    headers = [(b"content-type", content_type.encode()), (b"content-length", str(len(body)).encode()),
               (b"cache-control", b"no-store"), *(extra or [])]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def prompt_page(action: str, wrong: bool) -> str:
    """A self-contained page (no scripts, no styles from the protected app) asking for the token."""
    problem = '<p class="error">That token is not valid: check the URL QuLab printed.</p>' if wrong else ""
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Access token · QuLab</title>
<style>
  body {{ margin: 0; font-family: system-ui, sans-serif; background: #f5f5f5; color: #212121; }}
  header {{ background: #3949ab; color: white; padding: 14px 24px; font-size: 20px; font-weight: 700; }}
  main {{ max-width: 440px; margin: 64px auto; background: white; padding: 24px 28px; border-radius: 6px;
          box-shadow: 0 1px 4px rgba(0, 0, 0, .2); }}
  h1 {{ font-size: 22px; font-weight: 500; margin: 0 0 8px; }}
  p {{ color: #555; line-height: 1.4; }}
  .error {{ color: #c62828; }}
  input {{ width: 100%; box-sizing: border-box; padding: 10px; font-size: 16px; margin: 8px 0 16px;
           border: 1px solid #bbb; border-radius: 4px; }}
  button {{ background: #3949ab; color: white; border: 0; border-radius: 4px; padding: 10px 18px;
            font-size: 15px; cursor: pointer; }}
</style></head>
<body><header>QuLab</header><main>
<h1>This QuLab needs an access token</h1>
<p>It is served to the network, so only people with the token may use it. The token is part of the
URL QuLab printed when it started (<code>?token=...</code>); ask your instructor for it.</p>
{problem}
<form method="get" action="{html.escape(action, quote=True)}">
<label for="token">Access token</label>
<input id="token" name="{QUERY_PARAMETER}" type="password" autocomplete="off" autofocus required>
<button type="submit">Open QuLab</button>
</form></main></body></html>
"""
