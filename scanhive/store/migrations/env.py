"""Alembic's environment: migrations run on the connection that scanhive.store.migrate hands in."""

from alembic import context

from scanhive.store.schema import metadata

context.configure(
    connection=context.config.attributes["connection"],
    target_metadata=metadata,  # what autogenerate compares the database with
    render_as_batch=True,  # on SQLite, any change but ADD COLUMN is made by copying the table
)
with context.begin_transaction():  # the caller's transaction, already open: nothing is committed here
    context.run_migrations()
