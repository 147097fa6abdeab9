"""Driving a lab's guided path the way a learner does: type a prediction, press "Run and check"."""

from __future__ import annotations

from typing import Any

from nicegui.testing import User

from tests.conftest import until


async def predict(user: User, lab: Any, name: str, step: str, prediction: str, timeout_s: float = 30.0, *,
                  slow: bool = False) -> dict[str, Any]:
    """Answer one step; returns the answer kept in the learner's notebook once the page shows it.

    `slow`: the measurement takes long enough to see the button disabled while it runs.
    """
    before = lab.notebook.answers(name).get(step)
    user.find(marker=f"guided-{step}-prediction").elements.pop().value = prediction
    button = user.find(marker=f"guided-{step}-run").elements.pop()
    user.find(marker=f"guided-{step}-run").click()
    if slow:
        await until(lambda: not button.enabled, message="the button disabled while measuring")
    await until(lambda: lab.notebook.answers(name).get(step) not in (None, before), timeout_s,
                message=f"the answer to {step}")
    record = lab.notebook.answers(name)[step]
    assert set(record) == {"question", "prediction", "measured", "unit", "correct", "explanation", "at"}
    # the notebook holds the answer a moment before the page has drawn it (it is still being saved)
    await user.should_see(record["explanation"], retries=50)
    verdict = user.find(marker=f"guided-{step}-verdict").elements.pop().text
    assert verdict == ("Right" if record["correct"] else "Not quite")
    assert button.enabled  # and enabled again once the answer is in
    return record


async def refused(user: User, lab: Any, name: str, step: str, prediction: str, message: str) -> None:
    """A bad prediction: the message next to the input, nothing measured, nothing kept."""
    before = lab.notebook.answers(name).get(step)
    user.find(marker=f"guided-{step}-prediction").elements.pop().value = prediction
    user.find(marker=f"guided-{step}-run").click()
    await user.should_see(message)
    assert lab.notebook.answers(name).get(step) == before


def drawer_progress(user: User, name: str) -> str:
    return user.find(marker=f"progress-{name}").elements.pop().text
