"""Kept results come back from the notebook file as the typed results they were; a kept value that no
longer fits its type reads as nothing kept (a warning), never as a crash on the page."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from qulab_gui.data.database import PoolSettings
from qulab_gui.data.notebook import Notebook
from qulab_gui.data.nplus1 import LoadResult
from qulab_gui.data.pooling import PoolSnapshot, ProbeResult
from qulab_gui.data.score_calculation import RolledBack, ScoreRecorded
from qulab_gui.data.workload import WorkloadPoint, WorkloadSpec, WorkloadSummary
from qulab_gui.lab import kept

PROBE = ProbeResult(3, PoolSettings(size=2, max_overflow=0, timeout_s=0.5), waits_s=[0.001, 0.2],
                    timed_out_after_s=[0.5], snapshots=[PoolSnapshot(0.0, 2, 0, 1), PoolSnapshot(0.05, 2, 0, 0)],
                    elapsed_s=0.61)
RUNS = [LoadResult("lazy", 10, 21, 21, 0.02, 60, 10, 20, 30, shapes=[("SELECT users", 1), ("SELECT scores", 10)],
                   first_statements=["SELECT 1"]),
        LoadResult("raise", 10, 1, 1, 0.001, 10, error="InvalidRequestError: nope")]
WORKLOAD = WorkloadSummary(WorkloadSpec(reads=100, skew=1.2), 50, 100, 70, 30, 0.4, 0.1, 1.5, 1.2, 0.55,
                           [WorkloadPoint(50, 0.5, 0.1, 2.0, 1.1, 2.5), WorkloadPoint(100, 0.7, 0.1, 1.8, None, None)])


async def test_every_result_type_comes_back_equal_after_a_restart(tmp_path: Path) -> None:
    notebook = Notebook(tmp_path)
    await kept.keep(notebook, kept.CONNECTIVITY, "probe", PROBE)
    await kept.keep(notebook, kept.NPLUS1, "comparison", RUNS)
    await kept.keep(notebook, kept.CACHING, "workload", WORKLOAD)
    await kept.keep_one_of(notebook, kept.OUTBOX, "write", RolledBack("s1", "e1", 0, 0))

    reopened = Notebook(tmp_path)  # read back from the file, as the next start of QuLab does
    assert kept.last(reopened, kept.CONNECTIVITY, "probe", ProbeResult) == PROBE
    assert kept.last(reopened, kept.NPLUS1, "comparison", list[LoadResult]) == RUNS
    assert kept.last(reopened, kept.NPLUS1, "comparison", list[LoadResult])[0].shapes[1] == ("SELECT scores", 10)
    assert kept.last(reopened, kept.CACHING, "workload", WorkloadSummary) == WORKLOAD
    assert kept.last_one_of(reopened, kept.OUTBOX, "write", (ScoreRecorded, RolledBack)) == RolledBack("s1", "e1", 0, 0)
    assert kept.last(reopened, kept.MODELS, "nothing", ProbeResult) is None


async def test_a_kept_value_of_the_wrong_shape_reads_as_nothing_kept(tmp_path: Path,
                                                                     caplog: pytest.LogCaptureFixture) -> None:
    notebook = Notebook(tmp_path)
    await notebook.keep(kept.CONNECTIVITY, "probe", {"sessions": 3})  # the pool and more are missing
    await notebook.keep(kept.NPLUS1, "comparison", "not a list of runs")
    await notebook.keep(kept.OUTBOX, "write", {"type": "Unknown", "value": {}})
    await notebook.keep(kept.OUTBOX, "burst", "fifty")
    with caplog.at_level(logging.WARNING):
        assert kept.last(notebook, kept.CONNECTIVITY, "probe", ProbeResult) is None
        assert kept.last(notebook, kept.NPLUS1, "comparison", list[LoadResult]) is None
    assert kept.last_one_of(notebook, kept.OUTBOX, "write", (ScoreRecorded, RolledBack)) is None
    assert kept.last(notebook, kept.OUTBOX, "burst", int) is None
    assert "ignoring the kept connectivity/probe" in caplog.text


def test_a_workload_is_kept_as_a_summary_not_its_samples() -> None:
    from qulab_gui.data.workload import WorkloadResult

    run = WorkloadResult(WorkloadSpec(reads=3), users=2, cached_s=[0.001] * 3, hit_s=[0.001] * 2, miss_s=[0.001],
                         database_s=[0.002] * 3)
    kept_json = json.dumps(kept.to_json(run.summary()))
    assert "cached_s" not in kept_json and "database_s" not in kept_json
    assert run.summary().hit_ratio == run.hit_ratio == 2 / 3
    assert run.summary().t_avg_predicted_ms == pytest.approx(run.t_avg_predicted_ms)
