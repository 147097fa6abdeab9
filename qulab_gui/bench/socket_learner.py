"""A light learner for the classroom benchmark: NiceGUI's own protocol, without a browser.

A learner GETs a lab's page (the server builds it: the cost a class puts on the server), reads the
page's elements and client id from the HTML, connects NiceGUI's socket.io endpoint the way its page
script does (implicit handshake), and then types and clicks by sending the same `event` messages the
page script sends for a button or an input. It waits for the answer in the `update` and `notify`
messages the server pushes back. What it cannot see is the browser's own work (rendering, Vue), so
`page_s` is the server's side of a page load: request to page HTML plus the websocket handshake.

Why both learners exist: Chromium needs about 2 CPU-seconds per page of this app, so thirty of them
on a 2-core machine measure the browser more than the server (see the README); this learner lets
30 learners run on loopback and puts the whole machine's load on the server.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx
import socketio

from qulab_gui.bench.learner import (
    ACTION_TIMEOUT_S,
    N_PLUS_ONE_USERS,
    PAGE_TIMEOUT_S,
    REFUSED,
    SAMPLE_USERS,
    THINK_S,
    LoadFailed,
    Tally,
)

ELEMENTS = re.compile(r"parseElements\(String\.raw`(.*?)`\)", re.S)
CLIENT_ID = re.compile(r"'client_id': '([0-9a-f-]+)'")


@dataclass
class OpenPage:
    client_id: str
    elements: dict[str, Any]
    socket: socketio.AsyncClient
    html: str = ""  # the page as first sent
    pushed: list[str] = field(default_factory=list)  # every update/notify message, as JSON text
    arrived: asyncio.Event = field(default_factory=asyncio.Event)


class SocketLearner:
    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.http = httpx.AsyncClient(base_url=base_url, timeout=PAGE_TIMEOUT_S)  # keeps the session cookie
        self.page: OpenPage | None = None

    async def open(self, path: str) -> float:
        """Seconds from the request until the page's websocket has done its handshake."""
        await self.leave()
        started = time.perf_counter()
        try:
            response = await self.http.get(path)
        except httpx.HTTPError as error:
            raise LoadFailed(f"{type(error).__name__}") from None
        if response.status_code != 200:
            raise LoadFailed(f"HTTP {response.status_code}")
        found, client = ELEMENTS.search(response.text), CLIENT_ID.search(response.text)
        if not found or not client:
            raise LoadFailed("no NiceGUI page in the answer")
        page = OpenPage(client.group(1), json.loads(found.group(1)), socketio.AsyncClient(reconnection=False),
                        response.text)
        for kind in ("update", "notify"):
            page.socket.on(kind, lambda message, page=page: self._pushed(page, message))
        query = (f"client_id={page.client_id}&next_message_id=0&implicit_handshake=true"
                 f"&document_id={uuid.uuid4()}&tab_id={uuid.uuid4()}")
        cookies = "; ".join(f"{name}={value}" for name, value in self.http.cookies.items())
        remaining_s = max(0.1, PAGE_TIMEOUT_S - (time.perf_counter() - started))
        try:
            await page.socket.connect(f"{self.base_url}?{query}", headers={"Cookie": cookies},
                                      transports=["websocket"], socketio_path="/_nicegui_ws/socket.io",
                                      wait_timeout=remaining_s)
        except (socketio.exceptions.ConnectionError, TimeoutError) as error:
            raise LoadFailed(f"websocket: {error}") from None
        self.page = page
        return time.perf_counter() - started

    @staticmethod
    def _pushed(page: OpenPage, message: Any) -> None:
        page.pushed.append(json.dumps(message, ensure_ascii=False))  # "·" stays "·"
        page.arrived.set()

    def _element(self, **props: str) -> tuple[str, dict[str, Any]]:
        assert self.page is not None
        for element_id, element in self.page.elements.items():
            if all(element.get("props", {}).get(key) == value for key, value in props.items()):
                return element_id, element
        raise LookupError(f"no element with {props} on the page")

    async def _emit(self, element_id: str, element: dict[str, Any], event_types: tuple[str, ...],
                    args: list[str]) -> None:
        assert self.page is not None
        listener = next((event["listener_id"] for event in element["events"] if event["type"] in event_types), None)
        if listener is None:
            raise LookupError(f"element {element_id} listens to none of {event_types}")
        await self.page.socket.emit("event", {"id": int(element_id), "client_id": self.page.client_id,
                                              "listener_id": listener, "args": args})

    async def fill(self, label: str, value: str | int) -> None:
        element_id, element = self._element(label=label)
        # ui.input sends "update:value", ui.number (a q-input) "update:modelValue"
        await self._emit(element_id, element, ("update:value", "update:modelValue"), [json.dumps(value)])

    async def click(self, label: str) -> None:
        element_id, element = self._element(label=label)
        await self._emit(element_id, element, ("click",), [])

    async def shown(self, expected: re.Pattern[str]) -> bool:
        """Wait until the page, as sent or as updated since, shows `expected` (False after ACTION_TIMEOUT_S)."""
        assert self.page is not None
        if expected.search(self.page.html):
            return True
        return await self.answer(expected) == "answered"

    async def answer(self, expected: re.Pattern[str]) -> str:
        """'answered' or 'refused' once a pushed message says so, 'unanswered' after ACTION_TIMEOUT_S."""
        assert self.page is not None
        page, seen = self.page, 0
        deadline = time.monotonic() + ACTION_TIMEOUT_S
        while time.monotonic() < deadline:
            for message in page.pushed[seen:]:
                if REFUSED in message:
                    return "refused"
                if expected.search(message):
                    return "answered"
            seen = len(page.pushed)
            page.arrived.clear()
            try:
                await asyncio.wait_for(page.arrived.wait(), timeout=max(0.0, deadline - time.monotonic()))
            except TimeoutError:
                break
        return "unanswered"

    async def leave(self) -> None:
        if self.page is not None:
            await self.page.socket.disconnect()
            self.page = None

    async def close(self) -> None:
        await self.leave()
        await self.http.aclose()


# -- one learner's walk through the five labs: the same actions as the browser learner's ----------

async def create_user(me: SocketLearner, learner: int) -> re.Pattern[str]:
    email = f"learner{learner}-{time.time_ns()}@example.org"
    await me.fill("Email", email)
    await me.fill("Name", f"Learner {learner}")
    await me.click("Create user")
    return re.compile(re.escape(f"Created {email}"))


async def load_samples(me: SocketLearner, learner: int) -> re.Pattern[str]:
    await me.fill("Users", SAMPLE_USERS)
    await me.click("Load sample data")
    return re.compile(f"Loaded {SAMPLE_USERS:,} users")


async def run_all_four(me: SocketLearner, learner: int) -> re.Pattern[str]:
    await me.fill("N (users)", N_PLUS_ONE_USERS)
    await me.click("Run all four")
    return re.compile(re.escape(f"Measured 4 strategies for N = {N_PLUS_ONE_USERS}."))


async def fetch_profile(me: SocketLearner, learner: int) -> re.Pattern[str]:
    await me.shown(re.compile(r"@example\.(org|com)>"))  # the user picker has its users, as a person waits for it
    await me.click("Fetch profile")
    return re.compile(r"(MISS|HIT) · [\d.]+ ms")


async def publish_now(me: SocketLearner, learner: int) -> re.Pattern[str]:
    await me.click("Publish now")
    return re.compile(r"Claimed \d+")


LABS = [("/models", create_user), ("/connectivity", load_samples), ("/repository", run_all_four),
        ("/caching", fetch_profile), ("/outbox", publish_now)]


async def walk(base_url: str, learner: int, start_delay_s: float, tally: Tally, labs: int = len(LABS)) -> None:
    """One learner: the first `labs` labs in order, one action each; what happens is added to `tally`."""
    await asyncio.sleep(start_delay_s)
    me = SocketLearner(base_url)
    try:
        for path, action in LABS[:labs]:
            try:
                tally.load_s.append(await me.open(path))
            except LoadFailed as problem:
                tally.failed_loads.append(f"{path}: {problem}")
                continue
            try:
                outcome = await me.answer(await action(me, learner))
            except (LookupError, socketio.exceptions.SocketIOError) as problem:  # the page is not as expected
                tally.failed_loads.append(f"{path}: {problem}")
                continue
            tally.actions[outcome] += 1
            if outcome == "unanswered":
                tally.unanswered.append(f"learner {learner} {path}")
            await asyncio.sleep(THINK_S)
            if me.page is not None and not me.page.socket.connected:  # a browser would reload the page now
                tally.failed_loads.append(f"{path}: the websocket dropped")
    finally:
        with contextlib.suppress(Exception):  # bounded: closing must not hang the room
            await asyncio.wait_for(me.close(), timeout=10)
