"""The experiment store: SQLite in a data folder (the default) or PostgreSQL, images as PNG blobs beside the rows.

- Every write is one transaction, so a crash mid-write leaves no half-written
  experiment; the images live in the same database for exactly that reason.
- Writes hold the database's write lock for a few milliseconds (db.py): SQLite's, or on PostgreSQL an
  advisory lock, so several sessions, and several servers on one database, write one at a time; each
  operation takes its own connection, so a store object is safe to share.
- Images are content-addressed (SHA-256 of the PNG): an original photo kept by
  many experiments is stored once, and is deleted with its last experiment.
- Every row has an owner (a visitor id). A viewer sees only their own rows,
  unless the history is shared (team mode); deleting is always limited to the
  owner's own rows.
- The store owns the connections, the images and the one place that turns database errors into sentences
  (`failure`, `read`); what is kept lives in its repositories, held as attributes: `experiments`
  (experiments.py, with their maps), `shares` (shares.py), `desks` (desks.py: the current edit and the
  settings), `sweeps` (sweeps.py) and `transfer` (transfer.py: ZIP export and import, copies between
  histories). `clear` and `prune` span them all.
- The tables are defined once in tables.py; the schema and its migrations live in schema.py (Alembic), the
  ZIP format in archive.py.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import sqlite3
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

from ic.cache import ByteCache
from ic.errors import ICError, Unavailable
from ic.history import tables
from ic.history.db import Database, DatabaseError, HistoryBusy
from ic.history.desks import Desks
from ic.history.experiments import MAX_NOTE, THUMB_SIDE, Experiments, StoredExperiment
from ic.history.people import People
from ic.history.schema import SCHEMA_VERSION, migrate
from ic.history.shares import Shares
from ic.history.sweeps import Sweeps
from ic.history.transfer import Transfer
from ic.images import encode_png, square_thumbnail
from ic.paths import data_dir
from ic.settings import database_url

log = logging.getLogger(__name__)

DB_NAME = "history.sqlite3"
PNG_CACHE_BYTES = 64 * 2**20  # encoded images remembered by content (the original of many removals, say)

__all__ = ["DB_NAME", "MAX_NOTE", "HistoryBusy", "HistoryStore", "StoredExperiment", "open_location", "open_store"]


def _file_key(info: os.stat_result) -> tuple[int, int]:
    """A file's identity: its device and inode."""
    return info.st_dev, info.st_ino


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class HistoryStore:
    """The experiment log in `folder` (or at `url`); create one per process and share it. Its repositories
    (`experiments`, `shares`, `desks`, `sweeps`, `transfer`) share its connections.

    A history that exists but cannot be written (a read-only folder or disk)
    opens read-only: earlier experiments can be viewed, and every write is
    refused with `read_only`, the sentence that says why.
    """

    def __init__(self, folder: Path | None = None, busy_timeout_s: float = 30.0, *, url: str | None = None):
        self.folder = Path(folder) if folder is not None else None
        self.url = url or None
        self.busy_timeout_s = busy_timeout_s  # how long one write waits for another process's lock
        self.path = self.folder / DB_NAME if self.url is None else None
        self.read_only: str | None = None
        self._pngs = ByteCache(PNG_CACHE_BYTES)
        self._immutable: Database | None = None
        self.notice: str | None = None  # what happened to the file while this server ran (said once a session)
        self.notices = 0  # how many times: a page says the latest one once
        self._file: tuple[int, int] | None = None
        self._held = None  # the SQLite file, open for reading: see _hold
        self.experiments, self.shares, self.desks = Experiments(self), Shares(self), Desks(self)
        self.sweeps, self.transfer, self.people = Sweeps(self), Transfer(self), People(self)
        if self.url is not None:
            self.db = Database(url=self.url, busy_timeout_s=busy_timeout_s)
            try:
                migrate(self.db.engine)
            except DatabaseError as exc:
                kind = Unavailable if self.db.unreachable(exc) else ICError  # a server down, or a refusal
                raise kind(f"History cannot open its database {self.db.where} ({self.db.problem(exc)}); "
                           "check IC_DATABASE_URL (or the app's secrets) and that the server is running.") from None
            return
        self.db = Database(path=self.path, busy_timeout_s=busy_timeout_s)
        self._file_lock = threading.Lock()
        self._open_sqlite()

    def _open_sqlite(self) -> None:
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            raw = self.db.engine.raw_connection()  # outside any transaction, which WAL mode needs
            try:
                raw.driver_connection.execute("PRAGMA journal_mode=WAL")
            finally:
                raw.close()
            migrate(self.db.engine)
        except (OSError, DatabaseError, sqlite3.Error) as exc:  # sqlite3's own: the WAL switch above is the driver's
            reason = self.db.problem(exc)
            problem = f"History cannot be kept in {self.folder} ({reason}); set IC_DATA_DIR to a folder you can write to."
            if not self._readable():
                raise ICError(problem) from None
            self.read_only = problem.replace("History cannot be kept", "New experiments cannot be kept", 1) + \
                " Earlier ones can still be viewed."
        self._file = self._hold()

    def _hold(self) -> tuple[int, int] | None:
        """Opens the file for reading and keeps it open (never closed while it is the history: closing any
        descriptor of a SQLite file drops the process's locks on it), and returns its identity. While it is
        held, its inode number cannot go to a new file, so a file made in its place always differs."""
        if self._held is not None:
            self._held.close()  # the file it held is gone or replaced: no lock of ours is on it any more
            self._held = None
        try:
            self._held = open(self.path, "rb")  # noqa: SIM115 (held for the store's life)
        except OSError:
            return None
        return _file_key(os.fstat(self._held.fileno()))

    def _identity(self) -> tuple[int, int] | None:
        try:
            return _file_key(self.path.stat())
        except OSError:
            return None

    def _check_file(self) -> None:
        """A SQLite history whose file was deleted or replaced while this server ran (a clean-up script, a
        restore from backup) is noticed before the next read or write: a deleted one is made again, empty, a
        replaced one is opened as it is now, and `notice` says which. Without this, sqlite made an empty file
        with no tables at the next connection, and every page failed from then on."""
        if self.path is None or self.read_only or self._identity() == self._file:
            return
        with self._file_lock:
            now = self._identity()
            if now == self._file:
                return
            gone = now is None
            self._immutable = None
            self._open_sqlite()
            if gone:
                self.notice = (f"The history database in {self.folder} was deleted while this server ran; a new, "
                               "empty one was made, and experiments are kept in it from now on. Restore the old "
                               "file from a backup to see earlier ones.")
            else:
                self.notice = (f"The history database in {self.folder} was replaced while this server ran; this "
                               "server now uses the new file.")
            self.notices += 1
            log.warning(self.notice)

    @property
    def where(self) -> str:
        """Where the history lives, for people: a folder, or a server's URL without its password."""
        return self.db.where

    def _readable(self) -> bool:
        """Whether an existing SQLite history of the current schema can be opened read-only."""
        if self.path is None or not self.path.is_file():
            return False
        try:
            with self.read(immutable=True) as db:
                return db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        except (ICError, DatabaseError):
            return False

    @contextlib.contextmanager
    def read(self, immutable: bool = False):
        """A connection for reading. A server out of reach is a sentence (ICError), not a traceback."""
        if not immutable:
            self._check_file()
        database = self.db
        if (immutable or self.read_only) and self.path is not None:  # nothing may write, nothing changes
            database = self._immutable = self._immutable or Database(path=self.path, immutable=True)
        try:
            with database.connect() as db:
                yield db
        except DatabaseError as exc:
            if database.unreachable(exc):
                raise ICError(f"The history database cannot be reached right now ({database.problem(exc)}); "
                              "try again in a moment. Your work on the page is unaffected.") from None
            raise

    @contextlib.contextmanager
    def write(self):
        """One short write transaction: all of it lands, or none of it."""
        if self.read_only:
            raise ICError(self.read_only)
        self._check_file()
        with self.db.write() as db:
            yield db

    def failure(self, exc: Exception) -> ICError:
        text = self.db.problem(exc)
        if self.db.dialect == "sqlite" and any(word in text for word in ("locked", "busy")):
            return HistoryBusy(f"The history database is busy ({text}); the experiment waits to be saved.")
        if self.db.unreachable(exc):
            return HistoryBusy(f"The history database cannot be reached ({text}); the experiment waits to be saved.",
                               unreachable=True)
        return ICError(f"History could not be saved ({text}); your work on the page is unaffected. "
                       + ("Check that the data folder is writable and not full." if self.db.dialect == "sqlite"
                          else "Check the database server's log and free space."))

    # --- writing ----------------------------------------------------------------------------

    @staticmethod
    def put_image(db, png: bytes, sha: str | None = None) -> str:
        sha = sha or _sha(png)
        db.execute(tables.insert(tables.images, skip_existing=True), (sha, png))
        return sha

    def png(self, image: np.ndarray, thumbnail: bool = False) -> bytes:
        """PNG bytes of an image (or its thumbnail), remembered by content: every removal of one photo
        stores the same original, and encoding it each time cost more than the rest of the write."""
        digest = hashlib.blake2b(image.tobytes(), digest_size=16)
        digest.update(repr((image.shape, str(image.dtype), thumbnail)).encode())
        key = digest.hexdigest()
        return self._pngs.get_or_make(key, lambda: encode_png(square_thumbnail(image, THUMB_SIDE) if thumbnail else image,
                                                              compress_level=3))

    @staticmethod
    def drop_unused_images(db) -> None:
        db.execute("""DELETE FROM images WHERE sha NOT IN (
            SELECT original_sha FROM experiments UNION SELECT edited_sha FROM experiments
            UNION SELECT mask_sha FROM experiments UNION SELECT original_thumb_sha FROM experiments
            UNION SELECT edited_thumb_sha FROM experiments UNION SELECT source_sha FROM desks WHERE source_sha IS NOT NULL
            UNION SELECT edited_sha FROM desk_steps UNION SELECT mask_sha FROM desk_steps)""")

    def clear(self, owner: str) -> int:
        """Delete all of the owner's experiments, and only theirs, with their sweeps and the edit a reload would
        bring back. Returns how many experiments went."""
        try:
            with self.write() as db:
                removed = db.execute("DELETE FROM experiments WHERE owner = ?", (owner,)).rowcount
                db.execute("DELETE FROM desks WHERE owner = ?", (owner,))
                db.execute("DELETE FROM sweeps WHERE owner = ?", (owner,))
                self.drop_unused_images(db)
        except DatabaseError as exc:
            raise self.failure(exc) from None
        return removed

    def prune(self, owner: str, max_per_visitor: int, max_age_days: int = 0) -> int:
        """Retention: keep the owner's newest `max_per_visitor`, and drop everyone's rows past the age limit,
        with the current edits and settings nobody touched since."""
        try:
            with self.write() as db:
                removed = 0
                if max_per_visitor > 0:
                    removed += db.execute(
                        "DELETE FROM experiments WHERE owner = ? AND id NOT IN (SELECT id FROM experiments "
                        "WHERE owner = ? ORDER BY created_at DESC, rowid DESC LIMIT ?)",
                        (owner, owner, max_per_visitor)).rowcount
                if max_age_days > 0:
                    cutoff = (datetime.now(UTC) - timedelta(days=max_age_days)).isoformat(timespec="seconds")
                    removed += db.execute("DELETE FROM experiments WHERE created_at < ?", (cutoff,)).rowcount
                    removed += Desks.prune_untouched(db, cutoff)
                    removed += db.execute("DELETE FROM sweeps WHERE created_at < ?", (cutoff,)).rowcount
                if removed:
                    self.drop_unused_images(db)
                return removed
        except DatabaseError as exc:
            raise self.failure(exc) from None



def open_location(where: str, *, must_exist: bool = False) -> HistoryStore:
    """A history named on the command line: a PostgreSQL URL, sqlite:///path/to/history.sqlite3, the
    database file itself, or its data folder (with `must_exist`, one that holds a history already)."""
    where = where.strip()
    if "://" in where and not where.startswith("sqlite:///"):  # a server's URL (one that is not PostgreSQL is refused)
        return HistoryStore(url=where)
    # resolved: "t1/../src" is src, so copying a history onto itself is seen whatever the spelling
    path = Path(where[len("sqlite:///"):] if where.startswith("sqlite:///") else where).expanduser().resolve()
    if path.suffix == ".sqlite3" or path.is_file():
        if path.name != DB_NAME:
            raise ICError(f"A SQLite history is a file called {DB_NAME} in its data folder; {path} is not one. "
                          "Name the data folder instead.")
        path = path.parent
    if must_exist and not (path / DB_NAME).is_file():
        raise ICError(f"There is no history in {path} (no {DB_NAME} there); name the data folder that holds one.")
    return HistoryStore(path)


def open_store(folder: Path | None = None, url: str | None = None) -> HistoryStore:
    """The history this deployment keeps: at `url`, else IC_DATABASE_URL or the settings file's
    database_url, else SQLite in `folder` (by default the data folder)."""

    url = url or database_url()
    return HistoryStore(None if url else folder or data_dir(), url=url)
