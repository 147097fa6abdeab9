"""The Lab a page talks to: the process's one Lab, or in a classroom the Lab of the learner whose page it is.

`main.setup()` sets either a Lab (desktop) or a Classroom plus a function that names the learner of
the page being served (the UI layer reads it from NiceGUI's session; this layer never imports NiceGUI).
A Lab built elsewhere, e.g. in a test, stays private.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .classroom import Classroom
    from .core import Lab

# (learner id, client id) of the page being served; raises LookupError outside a page
LearnerOfPage = Callable[[], tuple[str, str | None]]

_current: Lab | None = None
_classroom: Classroom | None = None
_learner_of_page: LearnerOfPage | None = None


def set_current_lab(lab: Lab | None) -> None:
    global _current, _classroom, _learner_of_page
    _current, _classroom, _learner_of_page = lab, None, None


def set_current_classroom(classroom: Classroom, learner_of_page: LearnerOfPage) -> None:
    global _current, _classroom, _learner_of_page
    _current, _classroom, _learner_of_page = None, classroom, learner_of_page


def current_classroom() -> Classroom | None:
    """The classroom, when this server gives each learner a sandbox (None on the desktop)."""
    return _classroom


def current_lab() -> Lab:
    """The Lab of this page's learner; pages use it, tests use it to seed and inspect state."""
    if _classroom is not None and _learner_of_page is not None:
        learner, client = _learner_of_page()
        return _classroom.lab_for(learner, client)
    if _current is None:
        raise RuntimeError("QuLab is not set up: call qulab_gui.main.setup() first")
    return _current
