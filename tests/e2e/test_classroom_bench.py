"""The classroom benchmark case, small: three learners against the real server in classroom mode.

Not its numbers (those belong to `python -m qulab_gui.bench --classroom`), but that it measures:
pages load and are counted, clicks are answered, the health probe and the server's memory are read.
Each learner works in a sandbox of their own, so no click may be refused.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from qulab_gui.bench import browser, classroom, learner

pytestmark = pytest.mark.e2e


def test_three_browser_learners_load_their_labs_and_every_metric_is_reported(tmp_path: Path) -> None:
    if browser.missing():
        pytest.skip(browser.missing())
    result = classroom.measure(tmp_path, learners=3, time_limit_s=60, labs=2, browsers=True)  # models, connectivity
    metrics, notes = result["metrics"], result["notes"]
    assert set(metrics) >= {"classroom_page_p95_s", "classroom_failed_loads", "classroom_refused_actions",
                            "classroom_health_p95_ms", "classroom_rss_mb"}
    assert metrics["classroom_failed_loads"] == 0, notes["failed_load_reasons"]
    assert notes["page_loads"] == 6 and notes["unfinished_learners"] == 0, {**metrics, **notes}
    assert notes["answered_actions"] == 6 and metrics["classroom_refused_actions"] == 0, notes  # own sandboxes
    assert 0 < metrics["classroom_page_p95_s"] < learner.PAGE_TIMEOUT_S
    assert notes["health_polls"] > 10 and notes["health_failures"] == 0
    assert metrics["classroom_rss_mb"] > 50  # a Python server with NiceGUI: read from the process, not made up


def test_three_socket_learners_walk_all_five_labs_each_in_a_sandbox_of_their_own(tmp_path: Path) -> None:
    result = classroom.measure(tmp_path, learners=3, time_limit_s=60)
    metrics, notes = result["metrics"], result["notes"]
    assert metrics["classroom_failed_loads"] == 0, notes["failed_load_reasons"]
    assert notes["page_loads"] == 15 and notes["unfinished_learners"] == 0, {**metrics, **notes}
    # each loads 100 users into their own sandbox and measures N+1 at N = 100 there: nothing is refused
    assert notes["answered_actions"] == 15 and metrics["classroom_refused_actions"] == 0, notes
    assert notes["health_polls"] > 10 and notes["health_failures"] == 0
