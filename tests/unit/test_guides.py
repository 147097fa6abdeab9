"""The guide files: every lab's ships and loads, a broken one names its file and field, checks are exact."""

from pathlib import Path

import pytest

from qulab_gui.lab.guided import LABS, GuideError, Tolerance, check, load_guide, parse_guide, parse_prediction

ROOT = Path(__file__).resolve().parents[2]
STEP = """
[[steps]]
id = "s1"
question = "How many?"
unit = "statements"
measurement = "nplus1_load"
params = { strategy = "lazy", n = 10, scores_per_user = 1, latency_ms = 0 }
answer = "statements"
explanation = "Measured {measured}. {verdict}"
"""
HEAD = 'title = "t"\nobjective = "o"\nstory = "s"\ntakeaway = "k"\ntry_on_your_own = "y"\n'


@pytest.mark.parametrize("lab", LABS)
def test_each_lab_ships_a_guide_of_three_to_six_steps(lab: str) -> None:
    guide = load_guide(lab)
    assert 3 <= len(guide.steps) <= 6
    assert guide.takeaway and guide.try_on_your_own and guide.story


def test_the_guides_are_packaged_for_pip_and_pyinstaller() -> None:
    assert '"guides/*.toml"' in (ROOT / "pyproject.toml").read_text()
    assert '"guides/*.toml"' in (ROOT / "build.spec").read_text()


@pytest.mark.parametrize(("text", "message"), [
    (HEAD + STEP.replace('unit = "statements"\n', ""), "lab.toml: steps[0]: missing field 'unit'"),
    (HEAD + STEP.replace('"nplus1_load"', '"nplus2"'), "steps[0].measurement: unknown measurement 'nplus2'"),
    (HEAD + STEP.replace("n = 10, ", ""), "steps[0].params: 'nplus1_load' takes"),
    (HEAD + STEP.replace('answer = "statements"', 'answer = "speed"'), "steps[0].answer: 'nplus1_load' measures"),
    (HEAD + STEP.replace("{verdict}", "{verdikt}"), "steps[0].explanation: unknown placeholder(s) ['verdikt']"),
    (HEAD + STEP.replace('id = "s1"', "id = 1"), "steps[0].id: expected str, got 1"),
    (HEAD + STEP + 'tolerance = -1\n', "steps[0].tolerance: must not be negative"),
    (HEAD + STEP + STEP, "lab.toml.steps: two steps share an id"),
    (HEAD, "lab.toml: missing field 'steps'"),
    (HEAD + "title = 'twice'" + STEP, "lab.toml: not valid TOML"),
])
def test_a_broken_guide_names_the_file_and_the_field(text: str, message: str) -> None:
    with pytest.raises(GuideError) as raised:
        parse_guide("lab", text, "lab.toml")
    assert message in str(raised.value)


def test_a_missing_guide_file_is_a_guide_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from qulab_gui.lab import guided

    monkeypatch.setattr(guided, "GUIDES", tmp_path)
    guided.load_guide.cache_clear()
    try:
        with pytest.raises(GuideError, match=r"outbox.toml: cannot be read"):
            load_guide("outbox")
    finally:
        guided.load_guide.cache_clear()


def test_check_allows_the_larger_of_absolute_and_relative_tolerance() -> None:
    assert check(201, 201, Tolerance()).correct
    assert not check(200, 201, Tolerance()).correct
    verdict = check(1000, 1300, Tolerance(absolute=25, relative=0.35))
    assert verdict.correct and verdict.difference == 300 and verdict.allowed == pytest.approx(455)
    assert not check(10, 40, Tolerance(absolute=25, relative=0.35)).correct


def test_a_bad_prediction_is_refused_with_what_is_expected() -> None:
    step = parse_guide("lab", HEAD + STEP + "range = [0, 5000]\n", "lab.toml").steps[0]
    assert parse_prediction(" 1,005 ", step) == 1005
    for raw, message in [("", "Enter your prediction first"), (None, "Enter your prediction first"),
                         ("lots", "'lots' is not a number: enter your prediction in statements"),
                         ("nan", "between 0 and 5000 statements"), ("5001", "between 0 and 5000 statements")]:
        with pytest.raises(ValueError, match=message):
            parse_prediction(raw, step)
