"""The guided path of each lab: predict, run, observe, explain, with the steps kept in data files.

An instructor edits qulab_gui/guides/<lab>.toml, never page code: each step asks a question, names
the measurement that answers it (measurements.py) and an explanation template. The learner's
prediction is checked against the real measurement within the step's tolerance, and the answer is
kept in the learner's notebook (which the lab report and the drawer's progress read back).

A broken guide fails loudly at load with the file and the field at fault, not on a learner's click.
"""

from __future__ import annotations

import asyncio
import functools
import math
import string
import tomllib
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qulab_gui.data.errors import ValidationError

from .measurements import REGISTRY

if TYPE_CHECKING:
    from .core import Lab

GUIDES = Path(__file__).resolve().parent.parent / "guides"
LABS = ("models", "connectivity", "nplus1", "caching", "outbox")
RUN = "The guided step"  # one guided measurement at a time per lab
TEMPLATE_FIELDS = {"prediction", "measured", "difference", "unit", "verdict"}


class GuideError(ValueError):
    """A guide file that cannot be used; the message names the file and the field."""


@dataclass(frozen=True)
class Tolerance:
    absolute: float = 0.0
    relative: float = 0.0  # a fraction of the measured value

    def allowed(self, measured: float) -> float:
        return max(self.absolute, self.relative * abs(measured))


@dataclass(frozen=True)
class Step:
    id: str
    question: str
    unit: str
    tolerance: Tolerance
    measurement: str
    params: dict[str, Any]
    answer: str  # which of the measurement's numbers the prediction is checked against
    explanation: str  # str.format template: {prediction}, {measured}, {difference}, {verdict} and the values
    minimum: float
    maximum: float
    digits: int  # decimals shown and kept


@dataclass(frozen=True)
class Guide:
    lab: str
    title: str
    objective: str
    story: str
    steps: tuple[Step, ...]
    takeaway: str
    try_on_your_own: str


@dataclass(frozen=True)
class Verdict:
    correct: bool
    difference: float  # measured minus prediction
    allowed: float


@dataclass(frozen=True)
class Progress:
    done: int
    total: int

    def __str__(self) -> str:
        return f"{self.done}/{self.total}"


def check(prediction: float, measured: float, tolerance: Tolerance) -> Verdict:
    """Right when the prediction is within the tolerance of what was measured."""
    difference = measured - prediction
    allowed = tolerance.allowed(measured)
    return Verdict(abs(difference) <= allowed + 1e-9, difference, allowed)


def parse_prediction(raw: object, step: Step) -> float:
    """The learner's number, or a ValidationError saying what is expected (nothing runs before this)."""
    text = str(raw).strip().replace(",", "") if raw is not None else ""
    if not text:
        raise ValidationError("Enter your prediction first")
    try:
        value = float(text)
    except ValueError:
        raise ValidationError(f"'{raw}' is not a number: enter your prediction in {step.unit}") from None
    if not math.isfinite(value) or not step.minimum <= value <= step.maximum:
        raise ValidationError(f"Your prediction must be between {step.minimum:g} and {step.maximum:g} {step.unit}")
    return value


# -- loading and checking the guide files -----------------------------------------------------------


def _field(table: dict[str, Any], name: str, kind: type | tuple[type, ...], where: str, default: Any = ...) -> Any:
    if name not in table:
        if default is ...:
            raise GuideError(f"{where}: missing field '{name}'")
        return default
    value = table[name]
    if not isinstance(value, kind) or isinstance(value, bool) and kind is not bool:
        raise GuideError(f"{where}.{name}: expected {getattr(kind, '__name__', kind)}, got {value!r}")
    return value


def _step(table: Any, where: str) -> Step:
    if not isinstance(table, dict):
        raise GuideError(f"{where}: a step must be a table")
    name = _field(table, "measurement", str, where)
    measurement = REGISTRY.get(name)
    if measurement is None:
        raise GuideError(f"{where}.measurement: unknown measurement '{name}' (known: {', '.join(sorted(REGISTRY))})")
    params = _field(table, "params", dict, where, {})
    if set(params) != measurement.params:
        raise GuideError(f"{where}.params: '{name}' takes {sorted(measurement.params)}, got {sorted(params)}")
    answer = _field(table, "answer", str, where)
    if answer not in measurement.values:
        raise GuideError(f"{where}.answer: '{name}' measures {sorted(measurement.values)}, not '{answer}'")
    number = (int, float)
    tolerance = Tolerance(_field(table, "tolerance", number, where, 0.0),
                          _field(table, "relative_tolerance", number, where, 0.0))
    if tolerance.absolute < 0 or tolerance.relative < 0:
        raise GuideError(f"{where}.tolerance: must not be negative")
    explanation = _field(table, "explanation", str, where)
    used = {field for _, field, _, _ in string.Formatter().parse(explanation) if field}
    if unknown := used - TEMPLATE_FIELDS - measurement.values:
        raise GuideError(f"{where}.explanation: unknown placeholder(s) {sorted(unknown)}; use "
                         f"{sorted(TEMPLATE_FIELDS | measurement.values)}")
    minimum, maximum = _field(table, "range", list, where, [0, 1_000_000])
    return Step(id=_field(table, "id", str, where), question=_field(table, "question", str, where),
                unit=_field(table, "unit", str, where), tolerance=tolerance, measurement=name, params=params,
                answer=answer, explanation=explanation, minimum=float(minimum), maximum=float(maximum),
                digits=_field(table, "digits", int, where, 0))


def parse_guide(lab: str, text: str, file: str) -> Guide:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise GuideError(f"{file}: not valid TOML ({error})") from None
    steps = _field(data, "steps", list, file)
    if not 1 <= len(steps) <= 6:
        raise GuideError(f"{file}.steps: a guided path has 1 to 6 steps, this one has {len(steps)}")
    parsed = tuple(_step(table, f"{file}: steps[{i}]") for i, table in enumerate(steps))
    if len({step.id for step in parsed}) != len(parsed):
        raise GuideError(f"{file}.steps: two steps share an id")
    return Guide(lab=lab, title=_field(data, "title", str, file), objective=_field(data, "objective", str, file),
                 story=_field(data, "story", str, file), steps=parsed, takeaway=_field(data, "takeaway", str, file),
                 try_on_your_own=_field(data, "try_on_your_own", str, file))


@functools.cache
def load_guide(lab: str) -> Guide:
    """The lab's guide, read and checked once per process (the files ship inside the package)."""
    if lab not in LABS:
        raise GuideError(f"no guided path for '{lab}' (labs: {', '.join(LABS)})")
    path = GUIDES / f"{lab}.toml"
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:  # missing or unreadable: still a guide problem, not a crash
        raise GuideError(f"{path.name}: cannot be read ({error})") from None
    return parse_guide(lab, text, path.name)


async def guide(lab: str) -> Guide:
    return await asyncio.to_thread(load_guide, lab)  # the first read is file I/O: off the event loop


def progress(lab: Lab, name: str) -> Progress:
    """Steps answered out of the guide's steps, from the learner's notebook."""
    steps = load_guide(name).steps
    answered = lab.notebook.answers(name)
    return Progress(sum(step.id in answered for step in steps), len(steps))


# -- running a step ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    """A checked prediction, as kept in the notebook (`record()`), plus what the step did first."""

    step: Step
    prediction: float
    measured: float
    verdict: Verdict
    explanation: str
    at: str
    notes: tuple[str, ...] = ()

    def record(self) -> dict[str, Any]:
        return {"question": self.step.question, "prediction": self.prediction, "measured": self.measured,
                "unit": self.step.unit, "correct": self.verdict.correct, "explanation": self.explanation,
                "at": self.at}


def _explain(step: Step, prediction: float, values: dict[str, float], verdict: Verdict) -> str:
    if verdict.correct:
        said = "Your prediction was right" + ("." if verdict.difference == 0 else
                                              f" (within ±{verdict.allowed:.{step.digits}f} {step.unit}).")
    else:
        said = (f"Your prediction was off by {abs(verdict.difference):.{step.digits}f} {step.unit} "
                f"({'too low' if verdict.difference > 0 else 'too high'}).")
    shown = {name: _number(round(value, max(step.digits, 2))) for name, value in values.items()}
    return step.explanation.format(**shown, prediction=_number(prediction),
                                   measured=_number(round(values[step.answer], step.digits)),
                                   difference=_number(round(abs(verdict.difference), step.digits)), unit=step.unit,
                                   verdict=said)


def _number(value: float) -> float | int:
    """2 rather than 2.0: whole numbers read (and are kept) as whole numbers."""
    return int(value) if float(value).is_integer() else value


async def run_step(lab: Lab, name: str, step_id: str, raw_prediction: object) -> Answer:
    """Check the prediction, run the real measurement, compare, explain, and keep the answer."""
    current = await guide(name)
    step = next((s for s in current.steps if s.id == step_id), None)
    if step is None:
        raise ValidationError(f"The {name} guide has no step '{step_id}'")
    prediction = parse_prediction(raw_prediction, step)  # a bad prediction runs nothing and keeps nothing
    async with lab.exclusive(f"{RUN} of {name}"):
        measured = await REGISTRY[step.measurement].run(lab, **step.params)
    value = _number(round(measured.values[step.answer], step.digits))
    verdict = check(prediction, value, step.tolerance)
    answer = Answer(step, _number(prediction), value, verdict, _explain(step, prediction, measured.values, verdict),
                    datetime.now(UTC).isoformat(timespec="seconds"), tuple(measured.notes))
    await lab.notebook.answer(name, step.id, answer.record())
    return answer
