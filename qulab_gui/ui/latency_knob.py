"""The network latency knob: one card that sets the Lab's simulated round-trip delay.

Placed with one call on the pages whose lesson is round trips (N+1, caching). The knob reads the
Lab's value, so every page and tab shows the delay in force, whoever set it.
"""

from __future__ import annotations

from nicegui import ui

from qulab_gui.lab import MAX_LATENCY_MS, Lab, ValidationError
from qulab_gui.ui.frame import notify_error, section

WHY = ("Every SQL statement and every Redis command waits this long, as on a network to a remote server, "
       "so timings grow with the number of round trips: that is why N+1 and caching matter in production "
       "even where they look free on a laptop.")


def describe(ms: float) -> str:
    if not ms:
        return "0 ms: no simulated network (local round trips cost microseconds)"
    return f"{ms:g} ms per statement and per Redis command"


def latency_knob(lab: Lab) -> ui.slider:
    """A 0–MAX_LATENCY_MS ms slider for `lab.latency`, with what it does and why timings change."""
    with section("Network latency", WHY):
        with ui.row().classes("w-full items-center gap-4 no-wrap"):
            ui.icon("lan").classes("text-xl text-grey-7")
            slider = ui.slider(min=0, max=MAX_LATENCY_MS, step=1, value=lab.latency.ms,
                               on_change=lambda event: apply(event.value)) \
                .props("label markers snap").classes("w-64").mark("latency")
            shown = ui.label().classes("text-body2").mark("latency-value")
    # Follow the Lab's value, so a change made on another page or tab shows here too.
    slider.bind_value_from(lab.latency, "ms")
    shown.bind_text_from(lab.latency, "ms", backward=describe)

    def apply(ms: float | None) -> None:
        try:
            lab.set_latency(ms)
        except ValidationError as error:  # the slider cannot leave the range; a typed value could
            notify_error(str(error))
            slider.value = lab.latency.ms

    return slider
