"""The history database's schema: Alembic revisions (migrations/versions), applied when a store is opened.

One set of revisions for both backends; where SQLite and PostgreSQL spell a type differently, `ddl` fills it
in. Each revision runs in its own transaction, so an older database is upgraded in place and a crash
mid-upgrade leaves it at the last complete revision.

A SQLite history made before Alembic kept its version in SQLite's `user_version` (1 to 7, one per revision
here): it is stamped at that revision and upgraded from there. SQLite's `user_version` is still set by every
revision, so an older copy of the app recognises a newer history and refuses it rather than damage it.
"""

from __future__ import annotations

import functools
from pathlib import Path

import sqlalchemy

from ic.errors import ICError

MIGRATIONS = Path(__file__).parent / "migrations"
SCHEMA_VERSION = 9  # revisions 0001 to 0009
_LOCK_KEY = 0x1C_415F  # PostgreSQL: one server migrates at a time


def ddl(script: str, *, version: int) -> None:
    """Run a revision's statements on the connection Alembic migrates, with each backend's types."""
    from alembic import op

    bind = op.get_bind()
    postgres = bind.dialect.name == "postgresql"
    types = {
        "blob": "BYTEA" if postgres else "BLOB",
        "real": "DOUBLE PRECISION" if postgres else "REAL",
        "serial_key": "BIGSERIAL PRIMARY KEY" if postgres else "INTEGER PRIMARY KEY AUTOINCREMENT",
        # SQLite orders rows of one second by their rowid; PostgreSQL has none, so it gets a column of that name
        "rowid": ",\n            rowid BIGSERIAL" if postgres else "",
    }
    for statement in script.format(**types).split(";"):
        if statement.strip():
            bind.exec_driver_sql(statement)
    if not postgres:
        bind.exec_driver_sql(f"PRAGMA user_version = {version}")


@functools.cache
def _script_directory():
    from alembic.script import ScriptDirectory

    return ScriptDirectory(str(MIGRATIONS))


def _alembic_revision(connection: sqlalchemy.Connection) -> str | None:
    from alembic.runtime.migration import MigrationContext

    return MigrationContext.configure(connection).get_current_revision()


def _legacy_version(connection: sqlalchemy.Connection) -> str | None:
    """A SQLite history from before Alembic: its user_version as a revision."""
    if connection.dialect.name != "sqlite":
        return None
    version = connection.exec_driver_sql("PRAGMA user_version").scalar()
    return f"{version:04d}" if version else None


def migrate(engine: sqlalchemy.Engine, target: str = "head") -> None:
    """Bring a database to `target` (the newest revision by default); refuse one from a newer app."""
    from alembic import command
    from alembic.config import Config
    from alembic.util.exc import CommandError

    scripts = _script_directory()
    with engine.connect() as connection:
        postgres = connection.dialect.name == "postgresql"
        if postgres:
            connection.execute(sqlalchemy.text("SELECT pg_advisory_lock(:key)"), {"key": _LOCK_KEY})
        try:
            stamped = _alembic_revision(connection)
            current = stamped or _legacy_version(connection)
            if current is not None and (current not in {s.revision for s in scripts.walk_revisions()}):
                raise ICError(f"The history database is from a newer version of this app (schema {current}); "
                              "upgrade the app, or point IC_DATA_DIR (or IC_DATABASE_URL) at another history.")
            wanted = scripts.get_current_head() if target == "head" else target
            if current == wanted:
                return
            config = Config()
            config.set_main_option("script_location", str(MIGRATIONS))
            config.attributes["connection"] = connection
            if current is not None and stamped is None:
                command.stamp(config, current)  # a SQLite history from before Alembic: it is at `current`
            connection.commit()
            try:
                command.upgrade(config, wanted)
            except CommandError as exc:
                raise ICError(f"The history database cannot be upgraded ({exc}).") from None
            connection.commit()
        finally:
            if postgres:
                connection.rollback()
                connection.execute(sqlalchemy.text("SELECT pg_advisory_unlock(:key)"), {"key": _LOCK_KEY})
                connection.commit()
