"""What the labs need of NiceGUI's `app.timer`, as a Protocol: the lab layer never imports NiceGUI.

`setup()` (desktop) and the classroom (a sandbox per learner) hand `app.timer` in as a `StartTimer`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol


class Timer(Protocol):
    """Switch it on and off, change its interval, cancel it for good (a sandbox closing)."""
    active: bool
    interval: float

    def cancel(self) -> None: ...


StartTimer = Callable[[float, Callable[[], Awaitable[None]]], Timer]  # app.timer's shape
