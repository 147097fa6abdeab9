"""The statement recorder counts what the engine really executes, per block and per task."""

import asyncio

from sqlalchemy import select, text

from qulab_gui.data.database import sql_shape
from qulab_gui.data.models import User
from qulab_gui.data.samples import load_samples


async def test_counts_and_times_each_statement_in_a_block(sessions, recorder) -> None:
    async with sessions() as session:
        with recorder.capture() as capture:
            for _ in range(3):
                await session.execute(select(User).where(User.email == "nobody@example.org"))
    assert capture.count == 3
    assert all(s.duration_s > 0 for s in capture.statements)
    assert capture.elapsed_s >= capture.db_time_s > 0
    assert capture.shapes() == [(sql_shape(capture.statements[0].sql), 3)]


async def test_statements_outside_the_block_are_not_counted(sessions, recorder) -> None:
    async with sessions() as session:
        await session.execute(text("SELECT 1"))
        with recorder.capture() as capture:
            await session.execute(text("SELECT 2"))
        await session.execute(text("SELECT 3"))
    assert [s.sql for s in capture.statements] == ["SELECT 2"]


async def test_concurrent_tasks_see_only_their_own_statements(sessions, recorder) -> None:
    async def run(n: int) -> int:
        async with sessions() as session:
            with recorder.capture() as capture:
                for _ in range(n):
                    await session.execute(text("SELECT 1"))
                    await asyncio.sleep(0)
        return capture.count

    assert await asyncio.gather(run(2), run(5), run(9)) == [2, 5, 9]


async def test_nested_captures_both_count(sessions, recorder) -> None:
    async with sessions() as session:
        with recorder.capture() as outer:
            await session.execute(text("SELECT 1"))
            with recorder.capture() as inner:
                await session.execute(text("SELECT 2"))
    assert (outer.count, inner.count) == (2, 1)


async def test_bulk_insert_is_few_statements_not_one_per_row(sessions, recorder) -> None:
    async with sessions() as session:
        with recorder.capture() as capture:
            await load_samples(session, 20, scores_per_user=2)
    # users, assessments and scores each in one executemany batch (plus BEGIN/COMMIT bookkeeping)
    assert capture.count <= 6


def test_sql_shape_folds_literals_and_in_lists() -> None:
    folded = "SELECT * FROM t WHERE id IN (?) LIMIT N"
    assert sql_shape("SELECT * FROM t WHERE id IN (?, ?, ?) LIMIT 10") == folded
    assert sql_shape("SELECT *  FROM t WHERE id IN (?) LIMIT 500") == folded
    assert sql_shape("SELECT * FROM u WHERE id = ?") != folded  # another query keeps its own shape
