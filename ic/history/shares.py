"""Share links: a random token that opens one experiment read-only, and nothing else of its owner's history."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

from ic.errors import ICError
from ic.history.db import DatabaseError
from ic.history.experiments import StoredExperiment


class Shares:
    def __init__(self, store):
        self._store = store

    def create(self, experiment_id: str, owner: str) -> str:
        """A new read-only link token to one of the owner's experiments (192 random bits, not the visitor key)."""
        token = secrets.token_urlsafe(24)
        try:
            with self._store.write() as db:
                if not db.execute("SELECT 1 FROM experiments WHERE id = ? AND owner = ?", (experiment_id, owner)).fetchone():
                    raise ICError("Only the author of an experiment can share it; choose one of your own.")
                db.execute("INSERT INTO shares (token, experiment_id, created_at) VALUES (?, ?, ?)",
                           (token, experiment_id, datetime.now(UTC).isoformat(timespec="seconds")))
        except DatabaseError as exc:
            raise self._store.failure(exc) from None
        return token

    def tokens(self, experiment_id: str, owner: str) -> list[str]:
        """The link tokens of one of the owner's experiments, oldest first."""
        with self._store.read() as db:
            return [row[0] for row in db.execute(
                "SELECT s.token FROM shares s JOIN experiments e ON e.id = s.experiment_id "
                "WHERE s.experiment_id = ? AND e.owner = ? ORDER BY s.created_at, s.rowid", (experiment_id, owner))]

    def revoke(self, token: str, owner: str) -> bool:
        """Withdraw a link; only the experiment's owner can."""
        try:
            with self._store.write() as db:
                return bool(db.execute("DELETE FROM shares WHERE token = ? AND experiment_id IN "
                                       "(SELECT id FROM experiments WHERE owner = ?)", (token, owner)).rowcount)
        except DatabaseError as exc:
            raise self._store.failure(exc) from None

    def open(self, token: str) -> tuple[StoredExperiment, list[dict]]:
        """The experiment a link shows, with its maps, and nothing else of its owner's history."""
        with self._store.read() as db:
            row = db.execute("SELECT s.experiment_id, e.owner FROM shares s JOIN experiments e "
                             "ON e.id = s.experiment_id WHERE s.token = ?", (str(token)[:64],)).fetchone()
        if row is None:
            raise ICError("This link does not open anything: it was revoked, or its experiment was deleted or "
                          "expired. Ask for a new link.")
        experiment_id, owner = row
        return self._store.experiments.get(experiment_id, owner), self._store.experiments.explanations(experiment_id, owner)

