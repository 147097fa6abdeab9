"""The N+1 lab: statement counts exactly as the theory says, counted by the engine's recorder.

Theory, for N users and two relationships (scores, assessments), written out here on purpose
rather than imported, so a wrong formula in the code cannot agree with itself:
lazy 1 + 2N, selectin 1 + 2 * ceil(N / 500), joined 1, the raiseload guard 1 and then an error.
"""

import asyncio
import gc
import math
import threading
import warnings
from concurrent.futures import ThreadPoolExecutor

import pytest

from qulab_gui.data import nplus1
from qulab_gui.data.errors import ValidationError
from qulab_gui.data.samples import load_samples

USERS, SCORES, ASSESSMENTS = 501, 2, 3
SIZES = (1, 7, 500, 501)  # 500 is one selectin batch, 501 spills into a second


@pytest.fixture
async def sample(sessions):
    async with sessions() as session:
        await load_samples(session, USERS, scores_per_user=SCORES)
    return sessions


async def test_lazy_loading_is_one_plus_n_per_relationship(sample, recorder) -> None:
    for n in SIZES:
        result = await nplus1.measure(sample, recorder, "lazy", n)
        assert result.statements == 1 + 2 * n
        assert result.rows_fetched == n * (1 + SCORES + ASSESSMENTS)
        assert (result.users, result.scores, result.assessments) == (n, n * SCORES, n * ASSESSMENTS)


async def test_selectin_is_one_plus_a_batch_per_500_users_per_relationship(sample, recorder) -> None:
    for n in SIZES:
        result = await nplus1.measure(sample, recorder, "selectin", n)
        assert result.statements == 1 + 2 * math.ceil(n / 500)
        assert result.rows_fetched == n * (1 + SCORES + ASSESSMENTS)
        assert (result.users, result.scores, result.assessments) == (n, n * SCORES, n * ASSESSMENTS)


async def test_joined_is_one_statement_with_multiplied_rows(sample, recorder) -> None:
    for n in SIZES:
        result = await nplus1.measure(sample, recorder, "joined", n)
        assert result.statements == 1
        assert result.rows_fetched == n * SCORES * ASSESSMENTS  # each user once per (score, assessment)
        assert (result.users, result.scores, result.assessments) == (n, n * SCORES, n * ASSESSMENTS)


async def test_every_result_agrees_with_the_stated_theory(sample, recorder) -> None:
    # N = 501: lazy 1 + 2·501, selectin 1 + 2·⌈501/500⌉, joined one statement, the guard stops after one
    written_down = {"lazy": 1003, "selectin": 5, "joined": 1, "raise": 1}
    for strategy in nplus1.STRATEGIES:
        result = await nplus1.measure(sample, recorder, strategy, 501)
        assert (result.expected, result.statements) == (written_down[strategy],) * 2, strategy


async def test_raiseload_guard_fails_loudly_at_the_first_lazy_load(sample, recorder) -> None:
    result = await nplus1.measure(sample, recorder, "raise", 50)
    assert result.statements == 1  # the users query ran; the first lazy load raised instead of querying
    assert result.error == "InvalidRequestError: 'User.scores' is not available due to lazy='raise'"


async def test_shapes_group_similar_queries_and_statements_are_verbatim(sample, recorder) -> None:
    lazy = await nplus1.measure(sample, recorder, "lazy", 7)
    assert sorted(count for _, count in lazy.shapes) == [1, 7, 7]
    assert lazy.first_statements[0].startswith("SELECT users.id")
    assert "air_scores" in lazy.first_statements[1] and len(lazy.first_statements) == nplus1.FIRST_STATEMENTS
    selectin = await nplus1.measure(sample, recorder, "selectin", 501)
    assert sorted(count for _, count in selectin.shapes) == [1, 2, 2]  # IN-lists of 500 and 1 fold together
    assert all(" IN (?)" in shape for shape, count in selectin.shapes if count == 2)


async def test_bad_n_is_refused_with_a_clear_message(sample) -> None:
    for bad, message in ((0, "at least 1"), (-5, "at least 1"), (2.5, "whole number"), (None, "whole number"),
                         ("ten", "whole number"), (USERS + 1, "more than the 501 users")):
        with pytest.raises(ValidationError, match=message):
            nplus1.check_n(bad, USERS)
    with pytest.raises(ValidationError, match="table is empty"):
        nplus1.check_n(1, 0)
    assert nplus1.check_n(12.0, USERS) == 12


def test_sweep_plan_steps_up_to_the_chosen_n() -> None:
    assert sorted({n for _, n in nplus1.sweep_plan(120)}) == [10, 50, 100, 120]
    assert sorted({n for _, n in nplus1.sweep_plan(500)}) == [10, 50, 100, 500]
    assert nplus1.sweep_plan(5) == [("lazy", 5), ("selectin", 5), ("joined", 5)]


async def test_off_loop_run_uses_its_own_engine_and_reports_on_the_callers_thread(
        sample, recorder, database_url) -> None:
    seen: list[tuple[str, int, int]] = []

    def on_result(result: nplus1.LoadResult) -> None:
        seen.append((result.strategy, result.n, threading.get_ident()))

    with recorder.capture() as app_engine:
        results = await nplus1.run_plan_off_loop(database_url, nplus1.sweep_plan(60), on_result)
    assert app_engine.count == 0  # nothing ran on the caller's engine (or loop)
    assert [(s, n) for s, n, _ in seen] == [(r.strategy, r.n) for r in results] == nplus1.sweep_plan(60)
    assert {thread for _, _, thread in seen} == {threading.get_ident()}
    assert [r.statements for r in results if r.n == 60] == [121, 3, 1]


async def test_a_run_cancelled_before_its_thread_is_free_leaves_nothing_behind(sample, database_url) -> None:
    """The app stopping while a run still waits for a worker thread: no coroutine left unawaited."""
    loop = asyncio.get_running_loop()
    one_thread = ThreadPoolExecutor(max_workers=1)
    loop.set_default_executor(one_thread)
    busy = threading.Event()
    one_thread.submit(busy.wait)  # the only thread is taken
    run = asyncio.create_task(nplus1.run_plan_off_loop(database_url, [("lazy", 5)]))
    await asyncio.sleep(0.05)
    run.cancel()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(asyncio.CancelledError):
            await run
        busy.set()
        one_thread.shutdown(wait=True)  # drops the cancelled work item
        gc.collect()
    assert [str(w.message) for w in caught if issubclass(w.category, RuntimeWarning)] == []


async def test_a_stop_request_ends_the_plan_after_the_current_run(sample, recorder) -> None:
    stop = threading.Event()
    seen: list[nplus1.LoadResult] = []

    def on_result(result: nplus1.LoadResult) -> None:
        seen.append(result)
        if len(seen) == 2:
            stop.set()

    results = await nplus1.run_plan(sample, recorder, nplus1.sweep_plan(500), on_result, stop)
    assert [(r.strategy, r.n) for r in results] == [("lazy", 10), ("selectin", 10)] == [(r.strategy, r.n) for r in seen]
