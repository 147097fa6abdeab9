"""The one Lab of this process, set by `main.setup()` (a Lab built elsewhere, e.g. in a test, stays private)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .core import Lab

_current: Lab | None = None


def set_current_lab(lab: Lab | None) -> None:
    global _current
    _current = lab


def current_lab() -> Lab:
    """The Lab created by `setup()`; pages use it, tests use it to seed and inspect state."""
    if _current is None:
        raise RuntimeError("QuLab is not set up: call qulab_gui.main.setup() first")
    return _current
