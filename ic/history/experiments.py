"""The experiments of a history: each removal's row, its three images and two thumbnails (content-addressed in
the store's `images` table), and the maps kept with it. A viewer sees only their own rows unless the history is
shared (team mode); changing and deleting is always limited to the owner's own rows."""

from __future__ import annotations

import hashlib
import itertools
import json
import unicodedata
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np

from ic.errors import ICError
from ic.experiment import ExperimentRecord
from ic.history import tables
from ic.history.db import DatabaseError
from ic.images import decode_image, decode_mask, encode_png, square_thumbnail
from ic.names import inpainter_title, model_title

THUMB_SIDE = 96
MAX_NOTE = 2000  # characters kept of a note


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


_COLUMNS = tables.column_list(tables.experiments, without=("original_sha", "edited_sha", "mask_sha",
                                                          "original_thumb_sha", "edited_thumb_sha"))


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
    every row ("index", "0.", "_", "{", a backslash). Models and inpainters by id and by the name the pages show."""
    summary = row.summary
    labels = [str(entry.get("label", "")) for part in ("original", "edited")
              for entry in (summary.get(part) or {}).get("top", [])]
    labels += [str(change.get("label", "")) for change in summary.get("changes", [])]
    return folded("\n".join([row.top1_before, row.top1_after, *labels, row.note or "", row.image_name, row.model,
                             row.inpainter, model_title(row.model), inpainter_title(row.inpainter)]))


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class Filter:
    """Which experiments a list shows: of these classifiers and inpainters (empty: all), whose labels, note, file
    name, classifier or inpainter contain `search` (case folded), only those whose top-1 changed, only starred
    ones, only one Compare run's group."""

    models: tuple[str, ...] = ()
    inpainters: tuple[str, ...] = ()
    search: str = ""
    changed_only: bool = False
    starred_only: bool = False
    group_id: str | None = None


@dataclass(frozen=True)
class Entry:
    """An experiment's row as kept, without its images: who made it and when, of which photo, what it found,
    and what its owner added (a star, a note, the Compare run it belongs to)."""

    experiment_id: str
    owner: str
    created_at: str
    image_name: str
    summary: dict
    starred: bool = False
    note: str = ""
    group_id: str | None = None


class Experiments:
    """The experiments repository of one HistoryStore (its connections, its image cache)."""

    def __init__(self, store):
        self._store = store

    # --- writing ----------------------------------------------------------------------------

    def prepared(self, entry: Entry, images: tuple[np.ndarray, np.ndarray, np.ndarray]) -> tuple[dict[str, bytes], tuple]:
        """An experiment's PNGs (by SHA) and its row, encoded outside any transaction; `images`: the original,
        the edited image and the mask."""
        original, edited, mask = images
        summary = entry.summary
        pngs = [self._store.png(original), self._store.png(edited), self._store.png(mask), self._store.png(original, thumbnail=True),
                encode_png(square_thumbnail(edited, THUMB_SIDE))]
        shas = [_sha(png) for png in pngs]
        before, after = summary["original"]["top"][0], summary["edited"]["top"][0]
        original_top1 = next((c for c in summary["changes"] if c["index"] == before["index"]), None)
        row = (entry.experiment_id, entry.owner, entry.created_at, entry.image_name, *shas, summary["model"],
               summary["inpainter"], before["label"], after["label"],
               float(original_top1["delta"]) if original_top1 else 0.0, int(before["index"] != after["index"]),
               json.dumps(summary), int(entry.starred), entry.note, entry.group_id)
        return dict(zip(shas, pngs)), row

    def write_prepared(self, db, pngs: dict[str, bytes], row: tuple) -> None:
        for sha, png in pngs.items():
            self._store.put_image(db, png, sha)
        self._insert_row(db, row)

    @staticmethod
    def _insert_row(db, values: tuple) -> None:
        db.execute(tables.insert(tables.experiments), values)

    def add(self, record: ExperimentRecord, owner: str, group_id: str | None = None) -> str:
        """Keep one experiment; returns its id."""
        return self.add_group([record], owner, group_id)[0]

    def add_group(self, records: list[ExperimentRecord], owner: str, group_id: str | None = None,
                  ids: list[str] | None = None) -> list[str]:
        """Keep several experiments in one transaction (a Compare run: all of them, or none). `ids`, chosen
        beforehand, make a retried write idempotent: rows already written are not written twice."""
        ids = ids or [uuid.uuid4().hex for _ in records]
        try:
            with self._store.write() as db:
                if db.execute(f"SELECT 1 FROM experiments WHERE id IN ({', '.join('?' * len(ids))})", ids).fetchone():
                    return ids  # an earlier try landed after all
                for experiment_id, record in zip(ids, records):
                    entry = Entry(experiment_id, owner, record.created_at, record.image_name, record.summary(),
                                  group_id=group_id)
                    self.write_prepared(db, *self.prepared(entry, (record.original, record.edited, record.mask)))
        except (OSError, DatabaseError) as exc:
            raise self._store.failure(exc) from None
        return ids

    def add_explanation(self, experiment_id: str, owner: str, *, image: str, method: str, class_index: int,
                        label: str, cells: np.ndarray, details: dict | None = None) -> bool:
        """Keep a map (as its cells, values in [0, 1]) with one of the owner's experiments."""
        try:
            with self._store.write() as db:
                if not db.execute("SELECT 1 FROM experiments WHERE id = ? AND owner = ?",
                                  (experiment_id, owner)).fetchone():
                    return False
                self.insert_explanation(db, experiment_id, {
                    "image": image, "method": method, "class_index": int(class_index), "label": label,
                    "cells": np.round(np.asarray(cells, float), 4).tolist(), "details": details or {},
                    "created_at": datetime.now(UTC).isoformat(timespec="seconds")})
        except DatabaseError as exc:
            raise self._store.failure(exc) from None
        return True

    @staticmethod
    def insert_explanation(db, experiment_id: str, item: dict) -> None:
        db.execute(tables.insert(tables.explanations, without=("id",)),
                   (experiment_id, str(item["image"]), str(item["method"]), int(item["class_index"]),
                    str(item["label"]), json.dumps(item["cells"]), json.dumps(item.get("details", {})),
                    str(item["created_at"])))

    def explanations(self, experiment_id: str, viewer: str, *, shared: bool = False) -> list[dict]:
        """The maps kept with an experiment the viewer may see, oldest first."""
        where, values = ("1 = 1", ()) if shared else ("e.owner = ?", (viewer,))
        with self._store.read() as db:
            rows = db.execute(
                "SELECT x.image, x.method, x.class_index, x.label, x.cells, x.details, x.created_at FROM explanations x "
                f"JOIN experiments e ON e.id = x.experiment_id WHERE x.experiment_id = ? AND {where} "
                "ORDER BY x.id", (experiment_id, *values)).fetchall()
        keys = ("image", "method", "class_index", "label", "cells", "details", "created_at")
        return [{**dict(zip(keys, row)), "cells": json.loads(row[4]), "details": json.loads(row[5])} for row in rows]

    def delete(self, experiment_id: str, owner: str) -> bool:
        """Delete one of the owner's own experiments; another owner's is left alone (returns False)."""
        try:
            with self._store.write() as db:
                removed = db.execute("DELETE FROM experiments WHERE id = ? AND owner = ?",
                                     (experiment_id, owner)).rowcount
                self._store.drop_unused_images(db)
        except DatabaseError as exc:
            raise self._store.failure(exc) from None
        return bool(removed)

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
            with self._store.write() as db:
                return bool(db.execute(f"UPDATE experiments SET {', '.join(updates)} WHERE id = ? AND owner = ?",
                                       (*values, experiment_id, owner)).rowcount)
        except DatabaseError as exc:
            raise self._store.failure(exc) from None

    # --- reading ----------------------------------------------------------------------------

    @staticmethod
    def _visibility(viewer: str, shared: bool) -> tuple[str, tuple]:
        return ("1 = 1", ()) if shared else ("owner = ?", (viewer,))

    def list(self, viewer: str, only: Filter = Filter(), *, shared: bool = False,
             limit: int = 1000) -> list[StoredExperiment]:
        """The experiments the viewer may see, newest first, `only` those the filter lets through."""
        models, inpainters, search = only.models, only.inpainters, only.search
        changed_only, starred_only, group_id = only.changed_only, only.starred_only, only.group_id
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
        with self._store.read() as db:
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
        with self._store.read() as db:
            rows = db.execute(
                f"SELECT e.id, o.png, d.png FROM experiments e JOIN images o ON o.sha = e.original_thumb_sha "
                f"JOIN images d ON d.sha = e.edited_thumb_sha WHERE e.id IN ({marks})", experiment_ids)
            return {row[0]: (row[1], row[2]) for row in rows}

    def get(self, experiment_id: str, viewer: str, *, shared: bool = False) -> StoredExperiment:
        """One experiment with its images, if the viewer may see it."""
        where, values = self._visibility(viewer, shared)
        with self._store.read() as db:
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

    def count(self, viewer: str, *, shared: bool = False) -> int:
        where, values = self._visibility(viewer, shared)
        with self._store.read() as db:
            return db.execute(f"SELECT COUNT(*) FROM experiments WHERE {where}", values).fetchone()[0]

