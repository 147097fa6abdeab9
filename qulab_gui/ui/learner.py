"""Who the learner of a page is, in a classroom server: NiceGUI's browser id, from its session cookie.

`learner_of_page()` is what `lab.current.current_lab()` calls to pick the learner's sandbox. The
gate opens the sandbox on the learner's first page request, before the page is built, so a full
classroom answers with a clear 503 page instead of a half-built one.
"""

from __future__ import annotations

import html

from nicegui import Client, app, ui
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from qulab_gui.lab.classroom import Classroom, ClassroomFull
from qulab_gui.lab.sandbox import learner_id

NOT_PAGES = ("/_nicegui", "/api/", "/instructor", "/favicon")


def learner_of_page() -> tuple[str, str | None]:
    """(learner id, client id) of the page being built or handled; RuntimeError outside a page."""
    client = ui.context.client
    return learner_id(client.request.session["id"]), client.id


def is_connected(client_id: str) -> bool:
    """A page shown in a tab right now (NiceGUI keeps a page it left for its reconnect timeout: not counted)."""
    client = Client.instances.get(client_id)
    return client is not None and client.has_socket_connection


def register_gate(classroom: Classroom) -> None:
    async def gate(request: Request, call_next: RequestResponseEndpoint) -> Response:
        if request.method == "GET" and not request.url.path.startswith(NOT_PAGES) and "session" in request.scope:
            browser = request.session.get("id")
            if browser:
                try:
                    classroom.lab_for(learner_id(browser))
                except ClassroomFull as full:
                    return HTMLResponse(FULL_PAGE.format(message=html.escape(str(full))), status_code=503,
                                        headers={"Retry-After": "60"})
        return await call_next(request)

    app.add_middleware(BaseHTTPMiddleware, dispatch=gate)


FULL_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>QuLab · classroom full</title>
<meta http-equiv="refresh" content="60"></head>
<body style="font-family: system-ui, sans-serif; max-width: 40rem; margin: 4rem auto; line-height: 1.5">
<h1>QuLab</h1><p>{message}</p><p>This page tries again every minute.</p></body></html>"""
