"""The history's database, SQLite (the default, a file in the data folder) or PostgreSQL, through SQLAlchemy Core.

The store writes portable SQL with `?` placeholders; this module runs it on either backend and gives both the
same guarantees:
- a write is one transaction that holds the database's write lock: SQLite's `BEGIN IMMEDIATE`, and on
  PostgreSQL a transaction-level advisory lock, so two servers (replicas) on one database write one at a time,
  and retention or pruning run by both cannot delete what the other is adding;
- a database that is busy (SQLite's lock) or out of reach (PostgreSQL stopped, the network down) raises
  `HistoryBusy`, which the saver retries while the page says the removal is not saved yet;
- no message carries the URL's password.

Where the URL comes from (`database_url`): IC_DATABASE_URL, else `database_url` under `[history]` in the
settings file; the Streamlit pages also read `[connections.history] url` from their secrets and hand it over.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import re
import sqlite3
from pathlib import Path

import sqlalchemy
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, SQLAlchemyError
from sqlalchemy.pool import NullPool

from ic.errors import ICError
from ic.secrets import encoded, redact, shown_url

DatabaseError = SQLAlchemyError  # what a store operation catches, on either backend
WRITE_LOCK_KEY = 0x1C_415E  # the PostgreSQL advisory lock every write of a history takes
CONNECT_TIMEOUT_S = 5


class HistoryBusy(ICError):
    """The database is locked by another program, or out of reach (`unreachable`): a write may succeed later."""

    def __init__(self, message: str, unreachable: bool = False):
        super().__init__(message)
        self.unreachable = unreachable


@functools.lru_cache(maxsize=512)
def _statement(sql: str) -> sqlalchemy.TextClause:
    """The store's SQL with its `?` placeholders as SQLAlchemy's named ones (:p0, :p1, ...), made once per
    statement text. The store's SQL has no `?` in literals."""
    count = itertools.count()
    return sqlalchemy.text(re.sub(r"\?", lambda _: f":p{next(count)}", sql))


class Result:
    """A statement's rows, with PostgreSQL's bytea (memoryview) as bytes, like SQLite's BLOB."""

    def __init__(self, result):
        self._result = result
        self.rowcount = result.rowcount

    @staticmethod
    def _row(row):
        return None if row is None else tuple(bytes(v) if isinstance(v, memoryview) else v for v in row)

    def fetchone(self):
        return self._row(self._result.fetchone()) if self._result.returns_rows else None

    def fetchall(self):
        return [self._row(row) for row in self._result.fetchall()] if self._result.returns_rows else []

    def __iter__(self):
        return iter(self.fetchall())


class Connection:
    """One connection, as the store uses it: `execute(sql, params)` with `?` placeholders."""

    def __init__(self, connection: sqlalchemy.Connection):
        self.connection = connection

    def execute(self, sql: str, params=()) -> Result:
        return Result(self.connection.execute(_statement(sql), {f"p{i}": value for i, value in enumerate(params)}))


def normalise_url(url: str) -> str:
    """A URL as SQLAlchemy takes it: postgres:// and postgresql:// go through psycopg 3."""
    url = encoded(url)
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


class Database:
    """A history database: a SQLite file (`path`) or a server (`url`)."""

    def __init__(self, *, path: Path | None = None, url: str | None = None, busy_timeout_s: float = 30.0,
                 immutable: bool = False):
        self.url = url
        if url is None:
            self.dialect = "sqlite"
            self.engine = self._sqlite_engine(Path(path), busy_timeout_s, immutable)
            self.where = str(Path(path).parent)
        else:
            self.engine = self._server_engine(url)
            self.dialect = self.engine.dialect.name
            self.where = shown_url(url)

    @staticmethod
    def _sqlite_engine(path: Path, busy_timeout_s: float, immutable: bool) -> sqlalchemy.Engine:
        def connect():
            if immutable:  # nothing may write, so nothing can change under the reader
                return sqlite3.connect(f"{path.resolve().as_uri()}?immutable=1", uri=True, check_same_thread=False)
            return sqlite3.connect(path, timeout=busy_timeout_s, check_same_thread=False)

        # A connection per operation, as before: cheap for a file, and no connection is shared by threads.
        engine = sqlalchemy.create_engine("sqlite://", creator=connect, poolclass=NullPool)

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_connection, _record):
            dbapi_connection.isolation_level = None  # transactions begin where this module says (below)
            dbapi_connection.execute("PRAGMA foreign_keys=ON")
            dbapi_connection.execute(f"PRAGMA busy_timeout={int(busy_timeout_s * 1000)}")

        @event.listens_for(engine, "begin")
        def _begin(connection):
            write = connection.get_execution_options().get("ic_write")
            connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

        return engine

    @staticmethod
    def _server_engine(url: str) -> sqlalchemy.Engine:
        try:
            parsed = make_url(normalise_url(url))
        except (ArgumentError, ValueError):
            raise ICError(f"The history database URL {shown_url(url)!r} is not a URL; write it as "
                          "postgresql://user:password@host:5432/database.") from None
        if parsed.get_backend_name() != "postgresql":
            raise ICError(f"The history database URL {shown_url(url)!r} names {parsed.get_backend_name()!r}; "
                          "history keeps to PostgreSQL (postgresql://...) or, with no URL, SQLite in the data folder.")
        try:
            return sqlalchemy.create_engine(parsed, pool_pre_ping=True, pool_size=4, max_overflow=4,
                                            connect_args={"connect_timeout": CONNECT_TIMEOUT_S})
        except (ArgumentError, ImportError, SQLAlchemyError) as exc:
            raise ICError(f"The history database {shown_url(url)} cannot be used ({redact(str(exc), url)}); "
                          "check the URL and that psycopg is installed (pip install -r requirements.txt).") from None

    def unreachable(self, exc: Exception) -> bool:
        """Whether `exc` says the server is out of reach (stopped, restarting, network) rather than a refusal."""
        if self.dialect == "sqlite" or not isinstance(exc, DBAPIError):
            return False
        if exc.connection_invalidated:
            return True
        text = str(getattr(exc, "orig", exc)).lower()
        refused = ("password authentication failed", "does not exist", "no pg_hba.conf entry", "permission denied")
        return isinstance(exc, sqlalchemy.exc.OperationalError) and not any(word in text for word in refused)

    def problem(self, exc: Exception) -> str:
        """The driver's words for `exc`, first line only, without the password."""
        text = str(getattr(exc, "orig", None) or exc).strip().splitlines()
        return redact(text[0] if text else type(exc).__name__, self.url)

    @contextlib.contextmanager
    def connect(self):
        """A connection for reading (one consistent snapshot on SQLite)."""
        with self.engine.connect() as connection:
            yield Connection(connection)

    @contextlib.contextmanager
    def write(self):
        """One write transaction holding the database's write lock: all of it lands, or none of it."""
        with self.engine.connect().execution_options(ic_write=True) as connection:
            with connection.begin():
                if self.dialect == "postgresql":
                    connection.execute(sqlalchemy.text("SELECT pg_advisory_xact_lock(:key)"), {"key": WRITE_LOCK_KEY})
                yield Connection(connection)
