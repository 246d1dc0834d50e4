"""Alembic's entry point for the history's migrations: run on the connection the store hands over
(ic.history.schema.migrate), each revision in its own transaction."""

from alembic import context

connection = context.config.attributes["connection"]
context.configure(connection=connection, transaction_per_migration=True)
with context.begin_transaction():
    context.run_migrations()
