"""The classroom case's parts that need no browser: its flag, its p95, and its refusal to fake numbers."""

from __future__ import annotations

from pathlib import Path

import pytest

from qulab_gui.bench import __main__ as bench
from qulab_gui.bench import browser, classroom
from qulab_gui.bench.context import BenchContext


def test_classroom_flag_defaults_to_a_class_of_30_and_refuses_an_empty_one(capsys: pytest.CaptureFixture) -> None:
    assert bench.parse_args(["--classroom"]).classroom == classroom.LEARNERS == 30
    assert bench.parse_args(["--classroom", "3"]).classroom == 3
    assert bench.parse_args([]).classroom is None  # a full run leaves the browsers out
    with pytest.raises(SystemExit) as exit_info:
        bench.parse_args(["--classroom", "0"])
    assert exit_info.value.code == 2
    assert "--classroom needs at least 1 learner, not 0" in capsys.readouterr().err


def test_p95_is_a_measured_value_and_none_without_measurements() -> None:
    assert classroom.p95([]) is None
    assert classroom.p95([float(n) for n in range(1, 101)]) == 95.0
    assert classroom.p95([2.5]) == 2.5


async def test_browser_learners_without_chromium_say_why_and_report_no_numbers(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    monkeypatch.setattr(browser, "CHROMIUM", tmp_path / "no-chromium")
    result = await classroom.run(BenchContext(None, "fake", True, tmp_path), learners=2, browsers=True)
    assert result == {}  # not zeros: nothing was measured
    printed = capsys.readouterr().out
    assert "classroom skipped:" in printed and "no-chromium is missing: apt-get install chromium" in printed
