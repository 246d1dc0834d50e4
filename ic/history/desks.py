"""What a reload brings back, kept per visitor beside their history: the current edit and the sidebar settings.

- One desk per visitor: the photo being edited (an upload's own bytes, or a reference to a bundled sample or
  to a stored experiment's original), and the states Undo and Redo step through (at most the edit's own
  undo stack). The states' images go to the same content-addressed `images` table as the experiments':
  a removal's edited image and mask are the ones its experiment keeps, so a desk costs almost nothing more.
- Settings: the visitor's sidebar choices and what they dismissed, as one small JSON object.
- Both are pruned with the visitor's history: "Clear my history" forgets the desk, the age limit both.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime

from ic.errors import ICError
from ic.experiment import EditSnapshot
from ic.history import tables
from ic.history.db import DatabaseError
from ic.images import decode_image, decode_mask

MAX_SETTINGS_CHARS = 20_000  # a visitor's settings are a handful of short values


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass
class StoredDesk:
    source_key: str  # "sample:coffee.png", "upload:<sha1>", "history:<experiment id>"
    chosen_key: str | None  # the sidebar's choice when the edit began (an experiment opened from History differs)
    source: bytes | None  # the photo's file (None for a bundled sample, which the key names)
    snapshot: EditSnapshot
    experiment_ids: dict = field(default_factory=dict)  # state serial -> the experiment that removal was kept as


class Desks:
    """The desks and settings repository of one HistoryStore (its connections, its images)."""

    def __init__(self, store):
        self._store = store

    # --- the current edit -------------------------------------------------------------------

    def begin(self, owner: str, snapshot: EditSnapshot, *, source_key: str, chosen_key: str | None,
                   source: bytes | None = None, source_of: str | None = None,
                   experiment_ids: dict | None = None) -> None:
        """The visitor's new current edit, replacing the one before. Its photo is `source` (a file's bytes),
        the original of the experiment `source_of`, or (both None) the bundled sample `source_key` names."""
        try:
            with self._store.write() as db:
                source_sha = self._store.put_image(db, source) if source is not None else None
                if source_of is not None:
                    row = db.execute("SELECT original_sha FROM experiments WHERE id = ?", (source_of,)).fetchone()
                    source_sha = row[0] if row else None
                    if source_sha is None:
                        return  # the experiment went meanwhile: nothing to restore this edit from
                replaced = db.execute("DELETE FROM desks WHERE owner = ?", (owner,)).rowcount
                db.execute(tables.insert(tables.desks),
                           (owner, snapshot.id, source_key, chosen_key, snapshot.name, source_sha, snapshot.max_side,
                            snapshot.position, snapshot.dropped, _now()))
                self._sync_steps(db, owner, snapshot, experiment_ids or {}, self._encode_steps(snapshot, set()))
                if replaced:
                    self._store.drop_unused_images(db)
        except DatabaseError as exc:
            raise self._store.failure(exc) from None

    def restart(self, owner: str, snapshot: EditSnapshot) -> bool:
        """The visitor's desk, same photo, as the new edit `snapshot` with no removals (another working size).
        False when the visitor has no desk to restart."""
        try:
            with self._store.write() as db:
                updated = db.execute("UPDATE desks SET edit_id = ?, max_side = ?, position = 0, dropped = 0, "
                                     "updated_at = ? WHERE owner = ?",
                                     (snapshot.id, snapshot.max_side, _now(), owner)).rowcount
                if updated and db.execute("DELETE FROM desk_steps WHERE owner = ?", (owner,)).rowcount:
                    self._store.drop_unused_images(db)
        except DatabaseError as exc:
            raise self._store.failure(exc) from None
        return bool(updated)

    def sync(self, owner: str, snapshot: EditSnapshot, experiment_ids: dict | None = None) -> bool | None:
        """Bring the stored desk up to `snapshot` (a removal, Undo, Redo, Reset): states it lacks are added,
        states the edit dropped are deleted. False when the visitor's desk is now another edit; None when the
        visitor has no desk at all (a history made anew: the caller may begin it again)."""
        with self._store.read() as db:
            stored = {row[0] for row in db.execute("SELECT serial FROM desk_steps WHERE owner = ?", (owner,))}
        pngs = self._encode_steps(snapshot, stored)  # outside the write lock: encoding is the slow part
        try:
            with self._store.write() as db:
                updated = db.execute("UPDATE desks SET position = ?, dropped = ?, updated_at = ? WHERE owner = ? "
                                     "AND edit_id = ?", (snapshot.position, snapshot.dropped, _now(), owner,
                                                         snapshot.id)).rowcount
                if not updated:
                    known = db.execute("SELECT 1 FROM desks WHERE owner = ?", (owner,)).fetchone()
                    return False if known else None
                if self._sync_steps(db, owner, snapshot, experiment_ids or {}, pngs):
                    self._store.drop_unused_images(db)
        except DatabaseError as exc:
            raise self._store.failure(exc) from None
        return True

    def _encode_steps(self, snapshot: EditSnapshot, stored: set) -> dict:
        return {serial: (self._store.png(edited), self._store.png(mask)) for serial, edited, mask in snapshot.steps
                if serial not in stored}

    def _sync_steps(self, db, owner: str, snapshot: EditSnapshot, experiment_ids: dict, pngs: dict) -> int:
        """Returns how many stored states were deleted."""
        keep = [serial for serial, _, _ in snapshot.steps]
        marks = ", ".join("?" * len(keep)) or "NULL"
        deleted = db.execute(f"DELETE FROM desk_steps WHERE owner = ? AND serial NOT IN ({marks})",
                             (owner, *keep)).rowcount
        stored = {row[0] for row in db.execute("SELECT serial FROM desk_steps WHERE owner = ?", (owner,))}
        for serial, (edited_png, mask_png) in pngs.items():
            if serial not in stored:
                db.execute(tables.insert(tables.desk_steps), (owner, serial, self._store.put_image(db, edited_png),
                                                      self._store.put_image(db, mask_png), experiment_ids.get(serial)))
        for serial, experiment_id in experiment_ids.items():
            db.execute("UPDATE desk_steps SET experiment_id = ? WHERE owner = ? AND serial = ?",
                       (experiment_id, owner, serial))
        return deleted

    def get(self, owner: str) -> StoredDesk | None:
        """The visitor's current edit as stored, or None. A desk whose images no longer decode is None too."""
        with self._store.read() as db:
            row = db.execute("SELECT d.edit_id, d.source_key, d.chosen_key, d.image_name, d.max_side, d.position, "
                             "d.dropped, i.png, d.source_sha FROM desks d LEFT JOIN images i ON i.sha = d.source_sha "
                             "WHERE d.owner = ?", (owner,)).fetchone()
            if row is None:
                return None
            steps = db.execute("SELECT s.serial, e.png, m.png, s.experiment_id FROM desk_steps s "
                               "JOIN images e ON e.sha = s.edited_sha JOIN images m ON m.sha = s.mask_sha "
                               "WHERE s.owner = ? ORDER BY s.serial", (owner,)).fetchall()
        edit_id, source_key, chosen_key, name, max_side, position, dropped, source, source_sha = row
        if source_sha is not None and source is None:
            return None
        try:
            states = []
            for serial, edited_png, mask_png, _ in steps:
                edited = decode_image(edited_png)
                states.append((serial, edited, decode_mask(mask_png, edited.shape[:2])))
        except ICError:
            return None
        snapshot = EditSnapshot(edit_id, name, max_side, states, position, dropped)
        return StoredDesk(source_key, chosen_key, source, snapshot,
                          {serial: experiment_id for serial, _, _, experiment_id in steps if experiment_id})

    def forget(self, owner: str) -> None:
        try:
            with self._store.write() as db:
                if db.execute("DELETE FROM desks WHERE owner = ?", (owner,)).rowcount:
                    self._store.drop_unused_images(db)
        except DatabaseError as exc:
            raise self._store.failure(exc) from None

    # --- settings ---------------------------------------------------------------------------

    def settings(self, owner: str) -> dict:
        with self._store.read() as db:
            row = db.execute("SELECT settings FROM visitors WHERE owner = ?", (owner,)).fetchone()
        try:
            found = json.loads(row[0]) if row else {}
        except ValueError:
            return {}
        return found if isinstance(found, dict) else {}

    def remember_settings(self, owner: str, settings: dict) -> None:
        text = json.dumps(settings)
        if len(text) > MAX_SETTINGS_CHARS:
            raise ICError("These settings are too long to remember; they apply until you close the tab.")
        try:
            with self._store.write() as db:
                db.execute("INSERT INTO visitors (owner, settings, updated_at) VALUES (?, ?, ?) ON CONFLICT (owner) "
                           "DO UPDATE SET settings = excluded.settings, updated_at = excluded.updated_at",
                           (owner, text, _now()))
        except DatabaseError as exc:
            raise self._store.failure(exc) from None

    @staticmethod
    def prune_untouched(db, cutoff: str) -> int:
        """Desks and settings untouched since `cutoff` (the history's age limit)."""
        return (db.execute("DELETE FROM desks WHERE updated_at < ?", (cutoff,)).rowcount
                + db.execute("DELETE FROM visitors WHERE updated_at < ?", (cutoff,)).rowcount)
