"""One simulated learner of the classroom benchmark: a browser context walking the five labs.

On each lab the learner opens the page, waits until its heading is visible and its websocket
has done NiceGUI's handshake (before that a click is lost), clicks one real action and waits for
its answer: the result the page shows, or the "… is already running" notification, or nothing
within ACTION_TIMEOUT_S. The server runs in classroom mode, so each learner (a browser context of
its own) works in a sandbox of their own and first loads sample users there. Each learner clicks
every action once, so a refusal would be another learner's run holding the same action: with
sandboxes there must be none.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

PAGE_TIMEOUT_S = 20.0  # navigation until the heading is visible; as long again for the websocket
ACTION_TIMEOUT_S = 30.0  # a click until its answer
THINK_S = 1.0  # a learner reads a page before leaving it
REFUSED = "is already running"
SAMPLE_USERS = 100  # loaded by each learner into their own sandbox on the connectivity lab
N_PLUS_ONE_USERS = 100  # the N a learner types on the repository lab
Page = Any  # playwright.async_api.Page, imported lazily: the bench runs without Playwright too


@dataclass
class Tally:
    """What every learner saw, together: page load times and how each visit and click ended."""

    load_s: list[float] = field(default_factory=list)
    failed_loads: list[str] = field(default_factory=list)  # "path: why"
    actions: dict[str, int] = field(default_factory=lambda: {"answered": 0, "refused": 0, "unanswered": 0})
    unanswered: list[str] = field(default_factory=list)


async def create_user(page: Page, learner: int) -> Any:
    email = f"learner{learner}-{time.time_ns()}@example.org"
    await page.get_by_label("Email").fill(email)
    await page.get_by_label("Name", exact=True).fill(f"Learner {learner}")
    await page.get_by_role("button", name="Create user").click()
    return page.get_by_text(f"Created {email}")  # the notification: the table row may be on a later page


async def load_samples(page: Page, learner: int) -> Any:
    """Each learner has a sandbox of their own: the N+1, cache and outbox labs need their own users."""
    await page.get_by_label("Users", exact=True).fill(str(SAMPLE_USERS))
    await page.get_by_role("button", name="Load sample data").click()
    return page.get_by_text(f"Loaded {SAMPLE_USERS:,} users").first


async def run_all_four(page: Page, learner: int) -> Any:
    await page.get_by_label("N (users)").fill(str(N_PLUS_ONE_USERS))
    await page.get_by_role("button", name="Run all four").click()
    return page.get_by_text(f"Measured 4 strategies for N = {N_PLUS_ONE_USERS}.")


async def fetch_profile(page: Page, learner: int) -> Any:
    await page.get_by_role("button", name="Fetch profile").click()
    return page.get_by_text(re.compile(r"^(MISS|HIT) · [\d.]+ ms$"))


async def publish_now(page: Page, learner: int) -> Any:
    await page.get_by_role("button", name="Publish now").click()
    return page.get_by_text(re.compile(r"^Claimed \d+"))


# (path, heading, action): the action clicks and returns the locator of its answer
Action = Callable[[Page, int], Awaitable[Any]]
LABS: list[tuple[str, str, Action]] = [
    ("/models", "1 · Data models", create_user),
    ("/connectivity", "2 · Connectivity & pooling", load_samples),
    ("/repository", "3 · Repository & N+1", run_all_four),
    ("/caching", "4 · Caching", fetch_profile),
    ("/outbox", "5 · Outbox", publish_now),
]


async def open_lab(page: Page, url: str, heading: str) -> float:
    """Seconds from navigation until the heading is visible and the page can take a click."""
    started = time.perf_counter()
    response = await page.goto(url, wait_until="commit", timeout=PAGE_TIMEOUT_S * 1000)
    if response is None or response.status != 200:
        raise LoadFailed(f"HTTP {response.status if response else 'no response'}")
    remaining_s = max(0.1, PAGE_TIMEOUT_S - (time.perf_counter() - started))  # one budget for the whole load
    await page.get_by_text(heading, exact=True).first.wait_for(state="visible", timeout=remaining_s * 1000)
    seconds = time.perf_counter() - started
    await page.wait_for_function("window.did_handshake === true", timeout=PAGE_TIMEOUT_S * 1000)
    await page.evaluate("window.qulabSamePage = true")  # gone if the page reloads by itself
    return seconds


class LoadFailed(Exception):
    pass


async def still_same_page(page: Page) -> bool:
    try:
        return await page.evaluate("window.qulabSamePage === true")
    except Exception:  # noqa: BLE001 - a page navigating away right now is also a reload
        return False


async def click_and_wait(page: Page, learner: int, action: Action) -> str:
    """'answered', 'refused' or 'unanswered' (also when the click itself could not be done in time)."""
    refusal = page.get_by_text(REFUSED)
    try:
        answer = await action(page, learner)
        await answer.or_(refusal).first.wait_for(state="visible", timeout=ACTION_TIMEOUT_S * 1000)
    except Exception:  # noqa: BLE001 - Playwright's TimeoutError or Error: no answer in time
        return "unanswered"
    return "refused" if await refusal.count() else "answered"


async def walk(browser: Any, base_url: str, learner: int, start_delay_s: float, tally: Tally,
               labs: int = len(LABS)) -> None:
    """One learner: the first `labs` labs in order, one action each; what happens is added to `tally`."""
    from playwright.async_api import Error as PlaywrightError

    from qulab_gui.bench.browser import VIEWPORT

    await asyncio.sleep(start_delay_s)
    context = await browser.new_context(viewport=VIEWPORT)
    try:
        page = await context.new_page()
        for path, heading, action in LABS[:labs]:
            try:
                tally.load_s.append(await open_lab(page, base_url + path, heading))
            except (LoadFailed, PlaywrightError) as problem:
                tally.failed_loads.append(f"{path}: {str(problem).splitlines()[0]}")
                continue
            outcome = await click_and_wait(page, learner, action)
            tally.actions[outcome] += 1
            if outcome == "unanswered":
                tally.unanswered.append(f"learner {learner} {path}")
            await asyncio.sleep(THINK_S)
            if not await still_same_page(page):
                tally.failed_loads.append(f"{path}: the page reloaded by itself")
    finally:
        with contextlib.suppress(Exception):  # bounded: a close stuck on a page that never answers ends the walk
            await asyncio.wait_for(context.close(), timeout=10)
