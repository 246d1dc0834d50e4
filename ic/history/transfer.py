"""Moving experiments between histories: a ZIP export and import (the format is archive.py's), and a copy of a
whole history into another (`python -m ic history --from … --to …`)."""

from __future__ import annotations

import hashlib
import threading
import uuid

from ic.errors import ICError
from ic.history import tables
from ic.history.archive import read_archive, write_archive
from ic.history.db import DatabaseError
from ic.history.experiments import MAX_NOTE, Entry

_imports = threading.Lock()  # one import decodes at a time in a process: each may hold a 2048 px photo's pixels


class Transfer:
    def __init__(self, store):
        self._store = store

    def export_zip(self, experiment_ids: list[str], viewer: str, *, shared: bool = False) -> bytes:
        """A ZIP with, per experiment, its JSON and its three images as PNG."""
        experiments = self._store.experiments

        def entries():
            for experiment_id in experiment_ids:
                experiment = experiments.get(experiment_id, viewer, shared=shared)
                meta = {key: value for key, value in experiment.row().items() if key != "owner"}
                meta["summary"] = experiment.summary
                meta["explanations"] = experiments.explanations(experiment_id, viewer, shared=shared)
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
        entries, experiments = read_archive(data), self._store.experiments
        if not _imports.acquire(blocking=False):
            if waiting is not None:
                waiting()
            _imports.acquire()
        added = []
        try:
            for entry in entries:
                meta = entry.meta
                with self._store.read() as db:
                    experiment_id = _imported_id(db, meta.get("id"), owner)
                if experiment_id is None:
                    continue  # already in the owner's history: a re-import changes nothing
                try:
                    images = entry.images()  # one experiment's pixels at a time, no lock held
                except ICError as exc:
                    kept = (f"{len(added)} experiment{'s' if len(added) != 1 else ''} came in before it; " if added
                            else "Nothing was imported; ")
                    raise ICError(f"{exc} {kept}import the ZIP again once it is whole: what is already here is "
                                  "skipped.") from None
                prepared = experiments.prepared(
                    Entry(experiment_id, owner, entry.created_at, meta["image_name"], meta["summary"],
                          starred=meta["starred"], note=meta["note"][:MAX_NOTE], group_id=meta.get("group_id")),
                    (images["original"], images["edited"], images["mask"]))
                del images
                with self._store.write() as db:
                    if _imported_id(db, meta.get("id"), owner) != experiment_id:
                        continue  # another import of the same ZIP landed meanwhile
                    experiments.write_prepared(db, *prepared)
                    for item in meta["explanations"]:
                        experiments.insert_explanation(db, experiment_id, item)
                added.append(experiment_id)
        except DatabaseError as exc:
            raise self._store.failure(exc) from None
        finally:
            _imports.release()
        return added

    def copy_from(self, source, progress=None) -> dict:
        """Copy every experiment of `source` (all owners: images, maps, note, star, group), its share links,
        its sweeps, and who signed in and which visitor links they claimed, into this history, oldest first, one
        transaction per experiment. Idempotent: what is already here (by id, or a link by token) is left as it
        is, so a second run copies nothing.
        `progress(done, total)` is called after each experiment. Returns what was copied and skipped."""
        with source.read() as db:
            ids = [row[0] for row in db.execute("SELECT id FROM experiments ORDER BY created_at, rowid")]
        copied = {"experiments": 0, "skipped": 0, "maps": 0, "links": 0, "sweeps": 0, "people": 0}
        for done, experiment_id in enumerate(ids, 1):
            with source.read() as db:
                row = db.execute(f"SELECT {tables.column_list(tables.experiments)} FROM experiments WHERE id = ?",
                                 (experiment_id,)).fetchone()
                if row is None:  # deleted meanwhile
                    continue
                shas = row[4:9]
                images = {sha: png for sha, png in db.execute(
                    f"SELECT sha, png FROM images WHERE sha IN ({', '.join('?' * len(shas))})", shas)}
                maps = db.execute(f"SELECT {tables.column_list(tables.explanations, without=('id',))} FROM explanations "
                                  "WHERE experiment_id = ? ORDER BY id",
                                  (experiment_id,)).fetchall()
            try:
                with self._store.write() as db:
                    if db.execute("SELECT 1 FROM experiments WHERE id = ?", (experiment_id,)).fetchone():
                        copied["skipped"] += 1
                    else:
                        for sha in shas:
                            self._store.put_image(db, images[sha], sha)
                        db.execute(tables.insert(tables.experiments), row)
                        for item in maps:
                            db.execute(tables.insert(tables.explanations, without=("id",)), item)
                        copied["experiments"] += 1
                        copied["maps"] += len(maps)
            except DatabaseError as exc:
                raise self._store.failure(exc) from None
            if progress:
                progress(done, len(ids))
        self._copy_links_and_the_rest(source, copied)
        return copied

    def _copy_links_and_the_rest(self, source, copied: dict) -> None:
        """After the experiments: their share links, the sweeps, the people and their claims (what is here
        already is left as it is)."""
        with source.read() as db:
            links = db.execute(f"SELECT {tables.column_list(tables.shares)} FROM shares "
                               "ORDER BY created_at, rowid").fetchall()
            sweeps = db.execute(f"SELECT {tables.column_list(tables.sweeps)} FROM sweeps "
                                "ORDER BY created_at, rowid").fetchall()
            people = db.execute(f"SELECT {tables.column_list(tables.people)} FROM people ORDER BY first_seen").fetchall()
            claims = db.execute(f"SELECT {tables.column_list(tables.claims)} FROM claims ORDER BY claimed_at").fetchall()
        try:
            with self._store.write() as db:
                for token, experiment_id, created_at in links:
                    if db.execute("SELECT 1 FROM experiments WHERE id = ?", (experiment_id,)).fetchone():
                        copied["links"] += db.execute(tables.insert(tables.shares, skip_existing=True),
                                                      (token, experiment_id, created_at)).rowcount
                for sweep in sweeps:
                    copied["sweeps"] += db.execute(tables.insert(tables.sweeps, skip_existing=True), sweep).rowcount
                for person in people:  # who signed in: team mode names them, the CLI's --as finds them
                    copied["people"] += db.execute(tables.insert(tables.people, skip_existing=True), person).rowcount
                for claim in claims:  # a visitor link claimed before the move stays claimed
                    db.execute(tables.insert(tables.claims, skip_existing=True), claim)
        except DatabaseError as exc:
            raise self._store.failure(exc) from None


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


