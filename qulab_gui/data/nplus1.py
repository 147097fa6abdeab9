"""Lab 3: "the first N users with all their scores and assessments", loaded four ways and measured.

- lazy:     the loop every ORM invites: `await user.awaitable_attrs.scores` per user and relationship.
            1 + N x 2 statements: the N+1 problem.
- selectin: `selectinload` fetches each relationship for up to 500 parents at once with
            `WHERE user_id IN (...)`: 1 + ceil(N / 500) statements per relationship.
- joined:   `joinedload` puts everything into one statement, but two collections joined to one
            user multiply: each user comes back once per (score, assessment) pair.
- raise:    the lazy loop again, under `raiseload("*")`: the first accidental lazy load fails loudly.

Every number comes from the engine's `StatementRecorder`: statements counted from cursor events,
rows from the result buffers, time around the whole load including building the objects.
"""

from __future__ import annotations

import asyncio
import math
import threading
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import Select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import InvalidRequestError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import joinedload, raiseload, selectinload

from .database import PoolSettings, StatementRecorder, create_engine, create_session_factory, is_memory_sqlite
from .errors import ValidationError
from .latency import Latency
from .models import User
from .repositories import UserRepository

RELATIONSHIPS = (User.scores, User.assessments)
SELECTIN_CHUNK = 500  # SQLAlchemy's SelectInLoader batch: parent keys per `IN (...)` statement
STRATEGIES = {
    "lazy": "Lazy loading (awaitable_attrs in a loop)",
    "selectin": "selectinload",
    "joined": "joinedload",
    "raise": 'raiseload("*") guard',
}
SWEPT = ("lazy", "selectin", "joined")  # the guard fails at once: nothing to chart
SWEEP_SIZES = (10, 50, 100, 500, 1000, 2000, 5000, 10_000, 20_000)
FIRST_STATEMENTS = 5

Loader = Callable[[AsyncSession, Select[tuple[User]]], Awaitable[list[User]]]
OnResult = Callable[["LoadResult"], None]


def expected_statements(strategy: str, n: int) -> int:
    """What the theory says each strategy costs for N users."""
    per_relationship = {"lazy": n, "selectin": math.ceil(n / SELECTIN_CHUNK), "joined": 0, "raise": 0}
    return 1 + per_relationship[strategy] * len(RELATIONSHIPS)


# -- the four loaders -----------------------------------------------------------------------------


async def load_lazy(session: AsyncSession, query: Select[tuple[User]]) -> list[User]:
    users = list(await session.scalars(query))
    for user in users:
        for relationship in RELATIONSHIPS:
            await getattr(user.awaitable_attrs, relationship.key)  # one SELECT each: the "+N"
    return users


async def load_selectin(session: AsyncSession, query: Select[tuple[User]]) -> list[User]:
    return list(await session.scalars(query.options(*(selectinload(r) for r in RELATIONSHIPS))))


async def load_joined(session: AsyncSession, query: Select[tuple[User]]) -> list[User]:
    result = await session.scalars(query.options(*(joinedload(r) for r in RELATIONSHIPS)))
    return list(result.unique())  # the joined rows repeat each user: fold them back into one object


async def load_guarded(session: AsyncSession, query: Select[tuple[User]]) -> list[User]:
    return await load_lazy(session, query.options(raiseload("*")))  # same loop, now it cannot hide


LOADERS: dict[str, Loader] = {"lazy": load_lazy, "selectin": load_selectin, "joined": load_joined,
                              "raise": load_guarded}


# -- measuring ------------------------------------------------------------------------------------


@dataclass
class LoadResult:
    strategy: str
    n: int
    statements: int
    expected: int
    elapsed_s: float
    rows_fetched: int
    users: int = 0
    scores: int = 0
    assessments: int = 0
    shapes: list[tuple[str, int]] = field(default_factory=list)  # distinct SQL, how often each ran
    first_statements: list[str] = field(default_factory=list)
    error: str | None = None  # the guard's message

    @property
    def label(self) -> str:
        return STRATEGIES[self.strategy]

    @property
    def matches_theory(self) -> bool:
        return self.statements == self.expected

    @property
    def rows_per_user(self) -> float:
        return self.rows_fetched / self.n


async def measure(sessions: async_sessionmaker[AsyncSession], recorder: StatementRecorder,
                  strategy: str, n: int) -> LoadResult:
    """Run one strategy for the first `n` users in a fresh session and report what it cost."""
    load = LOADERS[strategy]
    users: list[User] = []
    error = None
    async with sessions() as session:
        query = UserRepository(session).first_users(n)
        with recorder.capture() as capture:
            try:
                users = await load(session, query)
            except InvalidRequestError as problem:
                if strategy != "raise":
                    raise
                error = f"{type(problem).__name__}: {str(problem).split(' (Background')[0]}"
        # Reading the loaded collections below emits nothing: they are all in memory now.
        return LoadResult(
            strategy=strategy, n=n, statements=capture.count, expected=expected_statements(strategy, n),
            elapsed_s=capture.elapsed_s, rows_fetched=capture.rows, users=len(users),
            scores=sum(len(u.scores) for u in users), assessments=sum(len(u.assessments) for u in users),
            shapes=capture.shapes(), first_statements=[s.sql for s in capture.statements[:FIRST_STATEMENTS]],
            error=error,
        )


def check_n(n: object, available: int) -> int:
    """N as an int, or a ValidationError a student can act on."""
    if isinstance(n, float) and n.is_integer():
        n = int(n)
    if not isinstance(n, int) or isinstance(n, bool):
        raise ValidationError("N must be a whole number of users")
    if n < 1:
        raise ValidationError(f"N must be at least 1 (got {n:,})")
    if available == 0:
        raise ValidationError("The users table is empty: add sample users first")
    if n > available:
        raise ValidationError(f"N = {n:,} is more than the {available:,} users in the table: "
                              "choose a smaller N or add sample users")
    return n


def sweep_plan(up_to: int) -> list[tuple[str, int]]:
    """(strategy, N) pairs for N = 10, 50, 100, 500, ... up to and including `up_to`."""
    sizes = [size for size in SWEEP_SIZES if size < up_to] + [up_to]
    return [(strategy, n) for n in sizes for strategy in SWEPT]


async def run_plan(sessions: async_sessionmaker[AsyncSession], recorder: StatementRecorder,
                   plan: Sequence[tuple[str, int]], on_result: OnResult | None = None,
                   stop: threading.Event | None = None) -> list[LoadResult]:
    """Measure each (strategy, N) in order, after one untimed warm-up per strategy.

    The warm-up fills the engine's compiled-statement cache, so the first timed run does not
    also pay for compiling its SQL. Setting `stop` ends the plan after the current run.
    """
    for strategy in dict.fromkeys(s for s, _ in plan):
        await measure(sessions, recorder, strategy, 1)
    results = []
    for strategy, n in plan:
        if stop is not None and stop.is_set():
            break
        result = await measure(sessions, recorder, strategy, n)
        results.append(result)
        if on_result is not None:
            on_result(result)
    return results


async def run_plan_off_loop(database_url: str, plan: Sequence[tuple[str, int]],
                            on_result: OnResult | None = None, latency: Latency | None = None,
                            schema: str | None = None) -> list[LoadResult]:
    """`run_plan` on a worker thread with its own event loop and engine.

    Building 15 x N joined rows into objects is plain CPU work between two awaits; on the app's
    loop it would stall every page for seconds at large N. On a worker thread the app's loop
    keeps serving (the GIL switches threads every few ms). `on_result` is called on the
    caller's loop, so it may update the UI. An in-memory SQLite database exists only inside the
    app's own engine: the caller must use `run_plan` there. Cancelling the caller (the app
    shutting down) stops the worker after its current run. `latency` delays the worker engine's
    statements like the app's (awaited on the worker's loop); `schema` is the app engine's search_path.
    """
    caller = asyncio.get_running_loop()
    stop = threading.Event()

    def report(result: LoadResult) -> None:
        if on_result is not None and not stop.is_set():
            caller.call_soon_threadsafe(on_result, result)

    async def in_worker() -> list[LoadResult]:
        engine = create_engine(database_url, PoolSettings(size=1, max_overflow=0), latency, schema)
        try:
            return await run_plan(create_session_factory(engine), StatementRecorder(engine), plan, report, stop)
        finally:
            await engine.dispose()

    def work() -> list[LoadResult]:
        # The coroutine is made on the thread: a run cancelled while it waits for a free
        # thread never starts, and leaves no coroutine behind that was never awaited.
        return asyncio.run(in_worker())

    # run_in_executor, unlike asyncio.to_thread, does not copy our context variables into the
    # thread: a capture() open around this call does not count the worker engine's statements.
    try:
        return await caller.run_in_executor(None, work)
    except asyncio.CancelledError:
        stop.set()
        raise


def needs_app_engine(database_url: str) -> bool:
    return is_memory_sqlite(make_url(database_url))
