"""The migrations build exactly the models' schema, on every dialect, and upgrades keep data."""

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text

from qulab_gui.data import database
from qulab_gui.data.models import Base


async def test_migrations_produce_exactly_the_models_schema(engine) -> None:
    async with engine.connect() as conn:
        diff = await conn.run_sync(lambda c: compare_metadata(MigrationContext.configure(c), Base.metadata))
    assert diff == []


async def test_migrations_create_the_contract_tables(engine) -> None:
    async with engine.connect() as conn:
        tables = set(await conn.run_sync(lambda c: inspect(c).get_table_names()))
    assert {"users", "assessments", "air_scores", "domain_events", "alembic_version"} <= tables


async def test_migrate_is_idempotent_and_keeps_existing_rows(engine, sessions) -> None:
    from qulab_gui.data.samples import load_samples

    async with sessions() as session:
        await load_samples(session, 3)
    head = await database.current_revision(engine)
    await database.migrate(engine)  # what every app start does
    assert await database.current_revision(engine) == head
    async with engine.connect() as conn:
        assert (await conn.execute(text("SELECT count(*) FROM users"))).scalar() == 3


async def test_reset_drops_data_and_recreates_schema(engine, sessions) -> None:
    from qulab_gui.data.samples import load_samples

    async with sessions() as session:
        await load_samples(session, 2)
    await database.reset(engine)
    async with engine.connect() as conn:
        assert (await conn.execute(text("SELECT count(*) FROM users"))).scalar() == 0
    assert await database.current_revision(engine) is not None
