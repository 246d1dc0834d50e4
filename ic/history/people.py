"""People who signed in, and the visitor links they claimed: a repository of HistoryStore.

A person's row says how to name them in team mode (their name, else their address) and lets the command line
act as them (`--as EMAIL`). A claim moves a visitor link's experiments and sweeps to a person, once: the
claim is kept, so the same link cannot be claimed again, by them or by anyone else who holds it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from ic.auth import Person
from ic.history import tables
from ic.history.db import DatabaseError


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass(frozen=True)
class Claim:
    visitor: str
    owner: str
    experiments: int
    sweeps: int
    claimed_at: str


class People:
    def __init__(self, store):
        self._store = store

    def seen(self, person: Person) -> None:
        """Record (or refresh) a signed-in person: their name and address as the provider gives them now."""
        now = _now()
        try:
            with self._store.write() as db:
                updated = db.execute("UPDATE people SET email = ?, name = ?, last_seen = ? WHERE owner = ?",
                                     (person.email[:320], person.name[:200], now, person.owner)).rowcount
                if not updated:
                    db.execute(tables.insert(tables.people), (person.owner, person.issuer[:500], person.subject[:500],
                                                              person.email[:320], person.name[:200], now, now))
        except DatabaseError as exc:
            raise self._store.failure(exc) from None

    def names(self, owners: list[str]) -> dict[str, str]:
        """{owner: how to name them} for the owners who are people (visitor links are not)."""
        wanted = sorted(set(owners))
        if not wanted:
            return {}
        with self._store.read(immutable=bool(self._store.read_only)) as db:
            found = db.execute(f"SELECT owner, name, email FROM people WHERE owner IN ({', '.join('?' * len(wanted))})",
                               tuple(wanted)).fetchall()
        return {owner: name or email for owner, name, email in found}

    def by_email(self, email: str) -> list[str]:
        """The owners who signed in with this address, most recent first (one address, one person, usually)."""
        with self._store.read(immutable=bool(self._store.read_only)) as db:
            found = db.execute("SELECT owner FROM people WHERE lower(email) = ? ORDER BY last_seen DESC",
                               (email.strip().lower(),)).fetchall()
        return [owner for (owner,) in found]

    def signed_out(self, owner: str, at: str) -> None:
        """Record that `owner` signed out at `at` (an ISO time): their other sessions end at their next run."""
        try:
            with self._store.write() as db:
                db.execute("INSERT INTO signouts (owner, at) VALUES (?, ?) ON CONFLICT (owner) DO UPDATE SET at = "
                           "excluded.at", (owner, at))
        except DatabaseError as exc:
            raise self._store.failure(exc) from None

    def signed_out_at(self, owner: str) -> str | None:
        with self._store.read(immutable=bool(self._store.read_only)) as db:
            row = db.execute("SELECT at FROM signouts WHERE owner = ?", (owner,)).fetchone()
        return row[0] if row else None

    def is_person(self, owner: str) -> bool:
        """Whether `owner` is a signed-in person's id (never a visitor link of before, so never to be claimed)."""
        with self._store.read(immutable=bool(self._store.read_only)) as db:
            return db.execute("SELECT 1 FROM people WHERE owner = ?", (owner,)).fetchone() is not None

    def claim_of(self, visitor: str) -> Claim | None:
        with self._store.read(immutable=bool(self._store.read_only)) as db:
            row = db.execute("SELECT visitor, owner, experiments, sweeps, claimed_at FROM claims WHERE visitor = ?",
                             (visitor,)).fetchone()
        return Claim(*row) if row else None

    def holdings(self, visitor: str) -> tuple[int, int]:
        """(experiments, sweeps) a visitor link holds."""
        with self._store.read(immutable=bool(self._store.read_only)) as db:
            experiments = db.execute("SELECT count(*) FROM experiments WHERE owner = ?", (visitor,)).fetchone()[0]
            sweeps = db.execute("SELECT count(*) FROM sweeps WHERE owner = ?", (visitor,)).fetchone()[0]
        return int(experiments), int(sweeps)

    def claim(self, visitor: str, owner: str) -> Claim | None:
        """Move the visitor link's experiments and sweeps to `owner`, in one transaction, and keep the claim;
        None when the link was claimed already, or is a person's own id (nothing moves). Its current edit and
        settings stay behind."""
        try:
            with self._store.write() as db:
                if db.execute("SELECT 1 FROM claims WHERE visitor = ?", (visitor,)).fetchone():
                    return None
                if db.execute("SELECT 1 FROM people WHERE owner = ?", (visitor,)).fetchone():
                    return None
                experiments = db.execute("UPDATE experiments SET owner = ? WHERE owner = ?", (owner, visitor)).rowcount
                sweeps = db.execute("UPDATE sweeps SET owner = ? WHERE owner = ?", (owner, visitor)).rowcount
                claim = Claim(visitor, owner, experiments, sweeps, _now())
                db.execute(tables.insert(tables.claims), (claim.visitor, claim.owner, claim.experiments, claim.sweeps,
                                                          claim.claimed_at))
                return claim
        except DatabaseError as exc:
            raise self._store.failure(exc) from None
