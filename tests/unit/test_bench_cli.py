"""The benchmark stops, with the reason, when a case cannot import; it never reports without it."""

import sys

import pytest

from qulab_gui.bench.__main__ import load_cases, main


def test_a_case_that_cannot_import_stops_the_bench_with_the_reason(monkeypatch: pytest.MonkeyPatch,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setitem(sys.modules, "qulab_gui.bench.outbox", None)  # what a missing dependency looks like
    with pytest.raises(SystemExit) as stopped:
        main(["--quick", "--only", "nplus1", "--only", "outbox"])
    assert stopped.value.code != 0
    message = str(stopped.value.code)
    assert "the 'outbox' case cannot run" in message and "ModuleNotFoundError" in message
    assert "== nplus1" not in capsys.readouterr().out  # nothing ran: no half report


def test_every_case_imports() -> None:
    cases = load_cases(["nplus1", "cache", "outbox", "startup"])
    assert all(callable(module.run) for module in cases.values())
