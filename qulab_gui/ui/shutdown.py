"""The first thing QuLab does when it stops: close every page, so their timers stop while the lab
can still answer them.

NiceGUI's own teardown runs after the app's shutdown handlers: by then the lab has closed its
engines, and a page timer's call still in flight (a session waiting on the database) is cancelled
against a closed lab; teardown waits 2 s for it and logs "Could not cancel N tasks". Deleting the
clients first cancels those calls (ui.timer does so when its element is deleted) and lets them
finish their clean-up while the lab is still open.
"""

from __future__ import annotations

import asyncio

from nicegui import Client, ui

CLEANUP_TIMEOUT_S = 2.0


async def close_pages() -> None:
    in_flight = [timer._current_invocation  # noqa: SLF001 (NiceGUI keeps the call it awaits here)
                 for client in Client.instances.values() for timer in client.elements.values()
                 if isinstance(timer, ui.timer) and getattr(timer, "_current_invocation", None) is not None]
    for client in list(Client.instances.values()):
        client.delete()
    pending = [call for call in in_flight if not call.done()]
    if pending:
        await asyncio.wait(pending, timeout=CLEANUP_TIMEOUT_S)
