"""Alembic environment: always run programmatically on a connection handed in by `database.migrate`."""

from alembic import context

from qulab_gui.data.models import Base

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("QuLab migrations run from qulab_gui.data.database.migrate(), not the alembic CLI")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=True,  # SQLite can only alter tables by copying them; batch mode does that
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
