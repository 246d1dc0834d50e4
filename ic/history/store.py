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
- The schema and its migrations live in schema.py (Alembic), the ZIP format in archive.py.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import json
import logging
import os
import secrets
import sqlite3
import threading
import unicodedata
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

from ic.cache import ByteCache
from ic.errors import ICError, Unavailable
from ic.experiment import ExperimentRecord
from ic.history.archive import read_archive, write_archive
from ic.history.db import Database, DatabaseError, HistoryBusy
from ic.history.schema import SCHEMA_VERSION, migrate
from ic.history.sweeps import SweepState
from ic.history.visitors import VisitorState
from ic.images import decode_image, decode_mask, encode_png, square_thumbnail

log = logging.getLogger(__name__)

DB_NAME = "history.sqlite3"
PNG_CACHE_BYTES = 64 * 2**20  # encoded images remembered by content (the original of many removals, say)

__all__ = ["DB_NAME", "HistoryBusy", "HistoryStore", "StoredExperiment", "open_store"]

THUMB_SIDE = 96
MAX_NOTE = 2000  # characters kept of a note
_imports = threading.Lock()  # one import decodes at a time in a process: each may hold a 2048 px photo's pixels



@dataclass
class StoredExperiment:
    id: str
    owner: str
    created_at: str
    image_name: str
    model: str
    inpainter: str
    top1_before: str
    top1_after: str
    original_top1_delta: float
    top1_changed: bool
    starred: bool
    note: str
    group_id: str | None
    summary: dict
    images: dict = field(default_factory=dict)  # role -> RGB array (mask: bool), filled by get()

    def row(self) -> dict:
        return {key: getattr(self, key) for key in (
            "id", "owner", "created_at", "image_name", "model", "inpainter", "top1_before", "top1_after",
            "original_top1_delta", "top1_changed", "starred", "note", "group_id")}


_COLUMNS = ("id, owner, created_at, image_name, model, inpainter, top1_before, top1_after, original_top1_delta, "
            "top1_changed, starred, note, group_id, summary")


def _from_row(row) -> StoredExperiment:
    values = dict(zip([c.strip() for c in _COLUMNS.split(",")], row))
    values["summary"] = json.loads(values["summary"])
    values["top1_changed"] = bool(values["top1_changed"])
    values["starred"] = bool(values["starred"])
    return StoredExperiment(**values)


def folded(text: str) -> str:
    """Text as search compares it: Unicode case folding (ZÜRICH finds Zürich, STRASSE finds Straße) after
    NFKC, so a composed ü and a u with a combining diaeresis are one letter."""
    return unicodedata.normalize("NFKC", text).casefold()


def _searched(row: StoredExperiment) -> str:
    """What History's search looks in, folded: every class label of the experiment's table, its note, file
    name, classifier and inpainter. Never the rest of the stored JSON: its keys, numbers and escapes matched
    every row ("index", "0.", "_", "{", a backslash)."""
    summary = row.summary
    labels = [str(entry.get("label", "")) for part in ("original", "edited")
              for entry in (summary.get(part) or {}).get("top", [])]
    labels += [str(change.get("label", "")) for change in summary.get("changes", [])]
    return folded("\n".join([row.top1_before, row.top1_after, *labels, row.note or "", row.image_name, row.model,
                             row.inpainter]))


def _file_key(info: os.stat_result) -> tuple[int, int]:
    """A file's identity: its device and inode."""
    return info.st_dev, info.st_ino


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class HistoryStore(VisitorState, SweepState):
    """The experiment log in `folder`; create one per process and share it. Each visitor's current edit and
    settings are kept beside it (visitors.py).

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
            with self._connect(immutable=True) as db:
                return db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        except (ICError, DatabaseError):
            return False

    @contextlib.contextmanager
    def _connect(self, immutable: bool = False):
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
    def _write(self):
        """One short write transaction: all of it lands, or none of it."""
        if self.read_only:
            raise ICError(self.read_only)
        self._check_file()
        with self.db.write() as db:
            yield db

    def _failure(self, exc: Exception) -> ICError:
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
    def _put_image(db, png: bytes, sha: str | None = None) -> str:
        sha = sha or _sha(png)
        db.execute("INSERT INTO images (sha, png) VALUES (?, ?) ON CONFLICT (sha) DO NOTHING", (sha, png))
        return sha

    def _png(self, image: np.ndarray, thumbnail: bool = False) -> bytes:
        """PNG bytes of an image (or its thumbnail), remembered by content: every removal of one photo
        stores the same original, and encoding it each time cost more than the rest of the write."""
        digest = hashlib.blake2b(image.tobytes(), digest_size=16)
        digest.update(repr((image.shape, str(image.dtype), thumbnail)).encode())
        key = digest.hexdigest()
        return self._pngs.get_or_make(key, lambda: encode_png(square_thumbnail(image, THUMB_SIDE) if thumbnail else image,
                                                              compress_level=3))

    def _insert(self, db, **fields) -> None:
        self._write_prepared(db, *self._prepared(**fields))

    def _prepared(self, *, experiment_id: str, owner: str, created_at: str, image_name: str, summary: dict,
                  original: np.ndarray, edited: np.ndarray, mask: np.ndarray, starred: bool = False,
                  note: str = "", group_id: str | None = None) -> tuple[dict[str, bytes], tuple]:
        """An experiment's PNGs (by SHA) and its row, encoded outside any transaction."""
        pngs = [self._png(original), self._png(edited), self._png(mask), self._png(original, thumbnail=True),
                encode_png(square_thumbnail(edited, THUMB_SIDE))]
        shas = [_sha(png) for png in pngs]
        before, after = summary["original"]["top"][0], summary["edited"]["top"][0]
        original_top1 = next((c for c in summary["changes"] if c["index"] == before["index"]), None)
        row = (experiment_id, owner, created_at, image_name, *shas, summary["model"], summary["inpainter"],
               before["label"], after["label"], float(original_top1["delta"]) if original_top1 else 0.0,
               int(before["index"] != after["index"]), json.dumps(summary), int(starred), note, group_id)
        return dict(zip(shas, pngs)), row

    def _write_prepared(self, db, pngs: dict[str, bytes], row: tuple) -> None:
        for sha, png in pngs.items():
            self._put_image(db, png, sha)
        self._insert_row(db, row)

    @staticmethod
    def _insert_row(db, values: tuple) -> None:
        db.execute(
            "INSERT INTO experiments (id, owner, created_at, image_name, original_sha, edited_sha, mask_sha, "
            "original_thumb_sha, edited_thumb_sha, model, inpainter, top1_before, top1_after, original_top1_delta, "
            "top1_changed, summary, starred, note, group_id) VALUES "
            "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            values)

    def add(self, record: ExperimentRecord, owner: str, group_id: str | None = None) -> str:
        """Keep one experiment; returns its id."""
        return self.add_group([record], owner, group_id)[0]

    def add_group(self, records: list[ExperimentRecord], owner: str, group_id: str | None = None,
                  ids: list[str] | None = None) -> list[str]:
        """Keep several experiments in one transaction (a Compare run: all of them, or none). `ids`, chosen
        beforehand, make a retried write idempotent: rows already written are not written twice."""
        ids = ids or [uuid.uuid4().hex for _ in records]
        try:
            with self._write() as db:
                if db.execute(f"SELECT 1 FROM experiments WHERE id IN ({', '.join('?' * len(ids))})", ids).fetchone():
                    return ids  # an earlier try landed after all
                for experiment_id, record in zip(ids, records):
                    self._insert(db, experiment_id=experiment_id, owner=owner, created_at=record.created_at,
                                 image_name=record.image_name, summary=record.summary(), original=record.original,
                                 edited=record.edited, mask=record.mask, group_id=group_id)
        except (OSError, DatabaseError) as exc:
            raise self._failure(exc) from None
        return ids

    def add_explanation(self, experiment_id: str, owner: str, *, image: str, method: str, class_index: int,
                        label: str, cells: np.ndarray, details: dict | None = None) -> bool:
        """Keep a map (as its cells, values in [0, 1]) with one of the owner's experiments."""
        try:
            with self._write() as db:
                if not db.execute("SELECT 1 FROM experiments WHERE id = ? AND owner = ?",
                                  (experiment_id, owner)).fetchone():
                    return False
                self._insert_explanation(db, experiment_id, {
                    "image": image, "method": method, "class_index": int(class_index), "label": label,
                    "cells": np.round(np.asarray(cells, float), 4).tolist(), "details": details or {},
                    "created_at": datetime.now(UTC).isoformat(timespec="seconds")})
        except DatabaseError as exc:
            raise self._failure(exc) from None
        return True

    @staticmethod
    def _insert_explanation(db, experiment_id: str, item: dict) -> None:
        db.execute("INSERT INTO explanations (experiment_id, image, method, class_index, label, cells, details, "
                   "created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                   (experiment_id, str(item["image"]), str(item["method"]), int(item["class_index"]),
                    str(item["label"]), json.dumps(item["cells"]), json.dumps(item.get("details", {})),
                    str(item["created_at"])))

    def explanations(self, experiment_id: str, viewer: str, *, shared: bool = False) -> list[dict]:
        """The maps kept with an experiment the viewer may see, oldest first."""
        where, values = ("1 = 1", ()) if shared else ("e.owner = ?", (viewer,))
        with self._connect() as db:
            rows = db.execute(
                "SELECT x.image, x.method, x.class_index, x.label, x.cells, x.details, x.created_at FROM explanations x "
                f"JOIN experiments e ON e.id = x.experiment_id WHERE x.experiment_id = ? AND {where} "
                "ORDER BY x.id", (experiment_id, *values)).fetchall()
        keys = ("image", "method", "class_index", "label", "cells", "details", "created_at")
        return [{**dict(zip(keys, row)), "cells": json.loads(row[4]), "details": json.loads(row[5])} for row in rows]

    @staticmethod
    def _drop_unused_images(db) -> None:
        db.execute("""DELETE FROM images WHERE sha NOT IN (
            SELECT original_sha FROM experiments UNION SELECT edited_sha FROM experiments
            UNION SELECT mask_sha FROM experiments UNION SELECT original_thumb_sha FROM experiments
            UNION SELECT edited_thumb_sha FROM experiments UNION SELECT source_sha FROM desks WHERE source_sha IS NOT NULL
            UNION SELECT edited_sha FROM desk_steps UNION SELECT mask_sha FROM desk_steps)""")

    def delete(self, experiment_id: str, owner: str) -> bool:
        """Delete one of the owner's own experiments; another owner's is left alone (returns False)."""
        try:
            with self._write() as db:
                removed = db.execute("DELETE FROM experiments WHERE id = ? AND owner = ?",
                                     (experiment_id, owner)).rowcount
                self._drop_unused_images(db)
        except DatabaseError as exc:
            raise self._failure(exc) from None
        return bool(removed)

    def clear(self, owner: str) -> int:
        """Delete all of the owner's experiments, and only theirs, with their sweeps and the edit a reload would
        bring back. Returns how many experiments went."""
        try:
            with self._write() as db:
                removed = db.execute("DELETE FROM experiments WHERE owner = ?", (owner,)).rowcount
                db.execute("DELETE FROM desks WHERE owner = ?", (owner,))
                db.execute("DELETE FROM sweeps WHERE owner = ?", (owner,))
                self._drop_unused_images(db)
        except DatabaseError as exc:
            raise self._failure(exc) from None
        return removed

    def annotate(self, experiment_id: str, owner: str, *, starred: bool | None = None, note: str | None = None) -> bool:
        """Star or note one of the owner's own experiments."""
        updates, values = [], []
        if starred is not None:
            updates.append("starred = ?")
            values.append(int(starred))
        if note is not None:
            updates.append("note = ?")
            values.append(note[:MAX_NOTE])
        if not updates:
            return False
        try:
            with self._write() as db:
                return bool(db.execute(f"UPDATE experiments SET {', '.join(updates)} WHERE id = ? AND owner = ?",
                                       (*values, experiment_id, owner)).rowcount)
        except DatabaseError as exc:
            raise self._failure(exc) from None

    def prune(self, owner: str, max_per_visitor: int, max_age_days: int = 0) -> int:
        """Retention: keep the owner's newest `max_per_visitor`, and drop everyone's rows past the age limit,
        with the current edits and settings nobody touched since."""
        try:
            with self._write() as db:
                removed = 0
                if max_per_visitor > 0:
                    removed += db.execute(
                        "DELETE FROM experiments WHERE owner = ? AND id NOT IN (SELECT id FROM experiments "
                        "WHERE owner = ? ORDER BY created_at DESC, rowid DESC LIMIT ?)",
                        (owner, owner, max_per_visitor)).rowcount
                if max_age_days > 0:
                    cutoff = (datetime.now(UTC) - timedelta(days=max_age_days)).isoformat(timespec="seconds")
                    removed += db.execute("DELETE FROM experiments WHERE created_at < ?", (cutoff,)).rowcount
                    removed += self._prune_visitors(db, cutoff)
                    removed += db.execute("DELETE FROM sweeps WHERE created_at < ?", (cutoff,)).rowcount
                if removed:
                    self._drop_unused_images(db)
                return removed
        except DatabaseError as exc:
            raise self._failure(exc) from None

    # --- reading ----------------------------------------------------------------------------

    @staticmethod
    def _visibility(viewer: str, shared: bool) -> tuple[str, tuple]:
        return ("1 = 1", ()) if shared else ("owner = ?", (viewer,))

    def list(self, viewer: str, *, shared: bool = False, models=(), inpainters=(), changed_only: bool = False,
             search: str = "", starred_only: bool = False, group_id: str | None = None,
             limit: int = 1000) -> list[StoredExperiment]:
        """The experiments the viewer may see, newest first, filtered."""
        where, values = self._visibility(viewer, shared)
        clauses, values = [where], list(values)
        if models:
            clauses.append(f"model IN ({', '.join('?' * len(models))})")
            values += list(models)
        if inpainters:
            clauses.append(f"inpainter IN ({', '.join('?' * len(inpainters))})")
            values += list(inpainters)
        if changed_only:
            clauses.append("top1_changed = 1")
        if starred_only:
            clauses.append("starred = 1")
        if group_id:
            clauses.append("group_id = ?")
            values.append(group_id)
        query = (f"SELECT {_COLUMNS} FROM experiments WHERE {' AND '.join(clauses)} "
                 "ORDER BY created_at DESC, rowid DESC" + ("" if search.strip() else " LIMIT ?"))
        with self._connect() as db:
            rows = db.execute(query, values if search.strip() else (*values, limit))
            found = (_from_row(row) for row in rows)
            if not search.strip():
                return list(found)
            needle = folded(search.strip())
            return list(itertools.islice((row for row in found if needle in _searched(row)), limit))

    def thumbnails(self, experiment_ids: list[str]) -> dict[str, tuple[bytes, bytes]]:
        """PNG thumbnails (original, edited) by experiment id."""
        if not experiment_ids:
            return {}
        marks = ", ".join("?" * len(experiment_ids))
        with self._connect() as db:
            rows = db.execute(
                f"SELECT e.id, o.png, d.png FROM experiments e JOIN images o ON o.sha = e.original_thumb_sha "
                f"JOIN images d ON d.sha = e.edited_thumb_sha WHERE e.id IN ({marks})", experiment_ids)
            return {row[0]: (row[1], row[2]) for row in rows}

    def get(self, experiment_id: str, viewer: str, *, shared: bool = False) -> StoredExperiment:
        """One experiment with its images, if the viewer may see it."""
        where, values = self._visibility(viewer, shared)
        with self._connect() as db:
            row = db.execute(f"SELECT {_COLUMNS}, original_sha, edited_sha, mask_sha FROM experiments "
                             f"WHERE id = ? AND {where}", (experiment_id, *values)).fetchone()
            if row is None:
                raise ICError("That experiment is not in your history (deleted, or someone else's); "
                              "refresh the list and choose another.")
            experiment = _from_row(row[:-3])
            pngs = [db.execute("SELECT png FROM images WHERE sha = ?", (sha,)).fetchone()[0] for sha in row[-3:]]
        original, edited = decode_image(pngs[0]), decode_image(pngs[1])
        experiment.images = {"original": original, "edited": edited, "mask": decode_mask(pngs[2], original.shape[:2])}
        return experiment

    def share(self, experiment_id: str, owner: str) -> str:
        """A new read-only link token to one of the owner's experiments (192 random bits, not the visitor key)."""
        token = secrets.token_urlsafe(24)
        try:
            with self._write() as db:
                if not db.execute("SELECT 1 FROM experiments WHERE id = ? AND owner = ?", (experiment_id, owner)).fetchone():
                    raise ICError("Only the author of an experiment can share it; choose one of your own.")
                db.execute("INSERT INTO shares (token, experiment_id, created_at) VALUES (?, ?, ?)",
                           (token, experiment_id, datetime.now(UTC).isoformat(timespec="seconds")))
        except DatabaseError as exc:
            raise self._failure(exc) from None
        return token

    def shares(self, experiment_id: str, owner: str) -> list[str]:
        """The link tokens of one of the owner's experiments, oldest first."""
        with self._connect() as db:
            return [row[0] for row in db.execute(
                "SELECT s.token FROM shares s JOIN experiments e ON e.id = s.experiment_id "
                "WHERE s.experiment_id = ? AND e.owner = ? ORDER BY s.created_at, s.rowid", (experiment_id, owner))]

    def revoke(self, token: str, owner: str) -> bool:
        """Withdraw a link; only the experiment's owner can."""
        try:
            with self._write() as db:
                return bool(db.execute("DELETE FROM shares WHERE token = ? AND experiment_id IN "
                                       "(SELECT id FROM experiments WHERE owner = ?)", (token, owner)).rowcount)
        except DatabaseError as exc:
            raise self._failure(exc) from None

    def shared(self, token: str) -> tuple[StoredExperiment, list[dict]]:
        """The experiment a link shows, with its maps, and nothing else of its owner's history."""
        with self._connect() as db:
            row = db.execute("SELECT s.experiment_id, e.owner FROM shares s JOIN experiments e "
                             "ON e.id = s.experiment_id WHERE s.token = ?", (str(token)[:64],)).fetchone()
        if row is None:
            raise ICError("This link does not open anything: it was revoked, or its experiment was deleted or "
                          "expired. Ask for a new link.")
        experiment_id, owner = row
        return self.get(experiment_id, owner), self.explanations(experiment_id, owner)

    def count(self, viewer: str, *, shared: bool = False) -> int:
        where, values = self._visibility(viewer, shared)
        with self._connect() as db:
            return db.execute(f"SELECT COUNT(*) FROM experiments WHERE {where}", values).fetchone()[0]

    # --- sharing ----------------------------------------------------------------------------

    def export_zip(self, experiment_ids: list[str], viewer: str, *, shared: bool = False) -> bytes:
        """A ZIP with, per experiment, its JSON and its three images as PNG."""
        def entries():
            for experiment_id in experiment_ids:
                experiment = self.get(experiment_id, viewer, shared=shared)
                meta = {key: value for key, value in experiment.row().items() if key != "owner"}
                meta["summary"] = experiment.summary
                meta["explanations"] = self.explanations(experiment_id, viewer, shared=shared)
                yield experiment_id, meta, experiment.images

        return write_archive(entries())

    def import_zip(self, data: bytes, owner: str, waiting=None) -> list[str]:
        """Add the experiments of an exported ZIP to the owner's history; experiments already here (by id) are
        left as they are, so importing a ZIP twice adds nothing the second time.

        Everything is checked before anything is written (read_archive: the ZIP, every field of every
        experiment.json, the images' headers). Then, one import at a time in this process (`waiting()` is
        called first when another one is under way), each experiment's images are decoded and encoded with no
        lock held, and the experiment is written in one short transaction: others' saves wait milliseconds,
        not the whole import. An image that fails to decode despite a sound header stops the import with a
        sentence saying how many came in before it (importing the ZIP again adds only the rest)."""
        experiments = read_archive(data)
        if not _imports.acquire(blocking=False):
            if waiting is not None:
                waiting()
            _imports.acquire()
        added = []
        try:
            for entry in experiments:
                meta = entry.meta
                with self._connect() as db:
                    experiment_id = _imported_id(db, meta.get("id"), owner)
                if experiment_id is None:
                    continue  # already in the owner's history: a re-import changes nothing
                try:
                    images = entry.images()  # one experiment's pixels at a time, no lock held
                except ICError as exc:
                    kept = f"{len(added)} experiment(s) came in before it; " if added else "Nothing was imported; "
                    raise ICError(f"{exc} {kept}import the ZIP again once it is whole: what is already here is "
                                  "skipped.") from None
                prepared = self._prepared(
                    experiment_id=experiment_id, owner=owner, created_at=entry.created_at,
                    image_name=meta["image_name"], summary=meta["summary"], original=images["original"],
                    edited=images["edited"], mask=images["mask"], starred=meta["starred"],
                    note=meta["note"][:MAX_NOTE], group_id=meta.get("group_id"))
                del images
                with self._write() as db:
                    if _imported_id(db, meta.get("id"), owner) != experiment_id:
                        continue  # another import of the same ZIP landed meanwhile
                    self._write_prepared(db, *prepared)
                    for item in meta["explanations"]:
                        self._insert_explanation(db, experiment_id, item)
                added.append(experiment_id)
        except DatabaseError as exc:
            raise self._failure(exc) from None
        finally:
            _imports.release()
        return added

    # --- moving a history ----------------------------------------------------------------------

    def copy_from(self, source: HistoryStore, progress=None) -> dict:
        """Copy every experiment of `source` (all owners: images, maps, note, star, group), its share links and
        its sweeps into this history, oldest first, one transaction per experiment. Idempotent: what is
        already here (by id, or a link by token) is left as it is, so a second run copies nothing.
        `progress(done, total)` is called after each experiment. Returns what was copied and skipped."""
        with source._connect() as db:
            ids = [row[0] for row in db.execute("SELECT id FROM experiments ORDER BY created_at, rowid")]
        copied = {"experiments": 0, "skipped": 0, "maps": 0, "links": 0, "sweeps": 0}
        for done, experiment_id in enumerate(ids, 1):
            with source._connect() as db:
                row = db.execute(f"SELECT {_COPIED} FROM experiments WHERE id = ?", (experiment_id,)).fetchone()
                if row is None:  # deleted meanwhile
                    continue
                shas = row[4:9]
                images = {sha: png for sha, png in db.execute(
                    f"SELECT sha, png FROM images WHERE sha IN ({', '.join('?' * len(shas))})", shas)}
                maps = db.execute(f"SELECT {_MAP_COLUMNS} FROM explanations WHERE experiment_id = ? ORDER BY id",
                                  (experiment_id,)).fetchall()
            try:
                with self._write() as db:
                    if db.execute("SELECT 1 FROM experiments WHERE id = ?", (experiment_id,)).fetchone():
                        copied["skipped"] += 1
                    else:
                        for sha in shas:
                            db.execute("INSERT INTO images (sha, png) VALUES (?, ?) ON CONFLICT (sha) DO NOTHING",
                                       (sha, images[sha]))
                        db.execute(f"INSERT INTO experiments ({_COPIED}) VALUES ({', '.join('?' * len(row))})", row)
                        for item in maps:
                            db.execute(f"INSERT INTO explanations ({_MAP_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", item)
                        copied["experiments"] += 1
                        copied["maps"] += len(maps)
            except DatabaseError as exc:
                raise self._failure(exc) from None
            if progress:
                progress(done, len(ids))
        with source._connect() as db:
            links = db.execute("SELECT token, experiment_id, created_at FROM shares ORDER BY created_at, rowid").fetchall()
            sweeps = db.execute("SELECT id, owner, created_at, name, plan, document, rows FROM sweeps "
                                "ORDER BY created_at, rowid").fetchall()
        try:
            with self._write() as db:
                for token, experiment_id, created_at in links:
                    if db.execute("SELECT 1 FROM experiments WHERE id = ?", (experiment_id,)).fetchone():
                        copied["links"] += db.execute(
                            "INSERT INTO shares (token, experiment_id, created_at) VALUES (?, ?, ?) "
                            "ON CONFLICT (token) DO NOTHING", (token, experiment_id, created_at)).rowcount
                for sweep in sweeps:
                    copied["sweeps"] += db.execute(
                        "INSERT INTO sweeps (id, owner, created_at, name, plan, document, rows) VALUES "
                        "(?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING", sweep).rowcount
        except DatabaseError as exc:
            raise self._failure(exc) from None
        return copied


_COPIED = ("id, owner, created_at, image_name, original_sha, edited_sha, mask_sha, original_thumb_sha, edited_thumb_sha, "
           "model, inpainter, top1_before, top1_after, original_top1_delta, top1_changed, summary, starred, note, group_id")
_MAP_COLUMNS = "experiment_id, image, method, class_index, label, cells, details, created_at"


def open_location(where: str, *, must_exist: bool = False) -> HistoryStore:
    """A history named on the command line: a PostgreSQL URL, sqlite:///path/to/history.sqlite3, the
    database file itself, or its data folder (with `must_exist`, one that holds a history already)."""
    where = where.strip()
    if "://" in where and not where.startswith("sqlite:///"):  # a server's URL (one that is not PostgreSQL is refused)
        return HistoryStore(url=where)
    path = Path(where[len("sqlite:///"):] if where.startswith("sqlite:///") else where).expanduser()
    if path.suffix == ".sqlite3" or path.is_file():
        if path.name != DB_NAME:
            raise ICError(f"A SQLite history is a file called {DB_NAME} in its data folder; {path} is not one. "
                          "Name the data folder instead.")
        path = path.parent
    if must_exist and not (path / DB_NAME).is_file():
        raise ICError(f"There is no history in {path} (no {DB_NAME} there); name the data folder that holds one.")
    return HistoryStore(path)


def _imported_id(db, given, owner: str) -> str | None:
    """The id an imported experiment gets: its own where free; the same one again for the same owner, so a
    second import of one ZIP is found (None: already there); for another owner of a shared server, an id
    derived from both, so each person can import what a colleague exported, once."""
    if not isinstance(given, str) or not given or len(given) > 64:
        return uuid.uuid4().hex
    for candidate in (given, hashlib.sha256(f"{owner}:{given}".encode()).hexdigest()[:32]):
        found = db.execute("SELECT owner FROM experiments WHERE id = ?", (candidate,)).fetchone()
        if found is None:
            return candidate
        if found[0] == owner:
            return None
    return uuid.uuid4().hex


def open_store(folder: Path | None = None, url: str | None = None) -> HistoryStore:
    """The history this deployment keeps: at `url`, else IC_DATABASE_URL or the settings file's
    database_url, else SQLite in `folder` (by default the data folder)."""
    from ic.paths import data_dir
    from ic.settings import database_url

    url = url or database_url()
    return HistoryStore(None if url else folder or data_dir(), url=url)
