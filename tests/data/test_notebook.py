"""The notebook keeps a learner's answers and results across restarts, one lab cleared at a time."""

from __future__ import annotations

import pytest

from qulab_gui.data.notebook import FILE_NAME, Notebook


async def test_kept_results_and_answers_survive_a_restart(tmp_path):
    notebook = Notebook(tmp_path)
    await notebook.keep("nplus1", "last_run", {"lazy": {"statements": 101}})
    await notebook.answer("nplus1", "lazy-count", {"prediction": 100, "measured": 101, "correct": False})

    reopened = Notebook(tmp_path)  # a new process reading the same workspace
    assert reopened.results("nplus1") == {"last_run": {"lazy": {"statements": 101}}}
    assert reopened.answers("nplus1")["lazy-count"]["measured"] == 101
    assert reopened.labs() == ["nplus1"]


async def test_clearing_one_lab_keeps_the_others(tmp_path):
    notebook = Notebook(tmp_path)
    await notebook.keep("nplus1", "last_run", {"n": 10})
    await notebook.keep("caching", "workload", {"hit_ratio": 0.9})
    await notebook.clear("nplus1")
    assert Notebook(tmp_path).results("nplus1") == {}
    assert Notebook(tmp_path).results("caching") == {"workload": {"hit_ratio": 0.9}}


async def test_a_value_that_is_not_json_is_refused_and_changes_nothing(tmp_path):
    notebook = Notebook(tmp_path)
    await notebook.keep("models", "rows", {"users": 1})
    with pytest.raises(TypeError):
        await notebook.keep("models", "rows", {"users": object()})
    assert Notebook(tmp_path).results("models") == {"rows": {"users": 1}}


def test_an_unreadable_file_starts_an_empty_notebook(tmp_path):
    (tmp_path / FILE_NAME).write_text("{not json", encoding="utf-8")
    assert Notebook(tmp_path).labs() == []
