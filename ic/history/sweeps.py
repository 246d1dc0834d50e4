"""Sweeps kept in the history: each one's summary (the --json document), its plan, and its rows as Parquet.

A repository of HistoryStore like the desks (desks.py): same database, same owner rules, cleared with the
owner's history and dropped past the age limit.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime

from ic.history import tables
from ic.history.db import DatabaseError

MAX_SWEEPS_PER_VISITOR = 50
MAX_ROWS_BYTES = 64 * 1024 * 1024  # a sweep's Parquet rows kept in the history; bigger ones stay in their file


@dataclass
class StoredSweep:
    id: str
    owner: str
    created_at: str
    name: str  # the dataset's name
    plan: dict
    document: dict  # the --json document: images, skipped, summary, paired
    rows: bytes | None = None  # Parquet, when asked for


class Sweeps:
    def __init__(self, store):
        self._store = store

    def add(self, owner: str, sweep_id: str, name: str, plan: dict, document: dict, rows: bytes) -> None:
        created = datetime.now(UTC).isoformat(timespec="seconds")
        kept = rows if len(rows) <= MAX_ROWS_BYTES else b""
        try:
            with self._store.write() as db:
                db.execute(tables.insert(tables.sweeps),
                           (sweep_id, owner, created, name[:200], json.dumps(plan), json.dumps(document), kept))
                db.execute("DELETE FROM sweeps WHERE owner = ? AND id NOT IN (SELECT id FROM sweeps WHERE owner = ? "
                           "ORDER BY created_at DESC, rowid DESC LIMIT ?)", (owner, owner, MAX_SWEEPS_PER_VISITOR))
        except DatabaseError as exc:
            raise self._store.failure(exc) from None

    def list(self, owner: str) -> list[StoredSweep]:
        with self._store.read(immutable=bool(self._store.read_only)) as db:
            found = db.execute("SELECT id, owner, created_at, name, plan, document FROM sweeps WHERE owner = ? "
                               "ORDER BY created_at DESC, rowid DESC", (owner,)).fetchall()
        return [StoredSweep(i, o, c, n, json.loads(p), json.loads(d)) for i, o, c, n, p, d in found]

    def get(self, sweep_id: str, owner: str) -> StoredSweep | None:
        with self._store.read(immutable=bool(self._store.read_only)) as db:
            row = db.execute("SELECT id, owner, created_at, name, plan, document, rows FROM sweeps WHERE id = ? AND owner = ?",
                             (sweep_id, owner)).fetchone()
        if row is None:
            return None
        i, o, c, n, p, d, rows = row
        return StoredSweep(i, o, c, n, json.loads(p), json.loads(d), bytes(rows) or None)

    def delete(self, sweep_id: str, owner: str) -> bool:
        try:
            with self._store.write() as db:
                return bool(db.execute("DELETE FROM sweeps WHERE id = ? AND owner = ?", (sweep_id, owner)).rowcount)
        except DatabaseError as exc:
            raise self._store.failure(exc) from None
