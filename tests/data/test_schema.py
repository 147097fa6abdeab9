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


async def test_a_database_from_the_first_release_upgrades_in_place_keeping_its_rows(database_url) -> None:
    """A student's database made by an older QuLab (schema 0001) survives the upgrade to head."""
    from alembic import command
    from sqlalchemy import inspect as inspect_schema

    engine = database.create_engine(database_url)
    try:
        await database.reset(engine)  # empty, then back to the oldest revision with some data in it
        async with engine.begin() as conn:
            await conn.run_sync(lambda c: command.downgrade(database.alembic_config(c), "0001"))
            await conn.execute(text(
                "INSERT INTO users (id, email, name, occupation_code, education_level, years_experience) "
                "VALUES ('u1', 'old@example.org', 'Old Student', '15-1252', 'bachelor', 2)"))
            await conn.execute(text(
                "INSERT INTO domain_events (id, event_type, aggregate_type, aggregate_id, payload) "
                "VALUES ('e1', 'UserImported', 'user', 'u1', '{}')"))
        assert await database.current_revision(engine) == "0001"

        await database.migrate(engine)  # what the new app does at startup

        assert await database.current_revision(engine) != "0001"
        async with engine.connect() as conn:
            assert (await conn.execute(text("SELECT email FROM users"))).scalar() == "old@example.org"
            assert (await conn.execute(text("SELECT status FROM domain_events"))).scalar() == "pending"
            columns = await conn.run_sync(lambda c: {col["name"] for col in inspect_schema(c).get_columns(
                "domain_events")})
        assert {"claimed_by", "lease_expires_at"} <= columns  # added by a later migration
    finally:
        await engine.dispose()
