"""Saving, and everything a History page does: list, look, annotate, share, revoke, delete, clear, import,
export, and the kept sweeps. A History holds the connection (opened once, tried again while out of reach) and
one part for each concern over it: `saving`, `reads`, `people` and `changes`.

Saving goes through the history's saver: each action applies its work and queues the save in one call that a
Streamlit rerun cannot split (pure Python, no Streamlit call in between), and the saver writes it off the page's
critical path, retrying a locked database. `saving.pending(owner)` says what still waits. Retention is applied after
every write. In team mode (the settings' history mode) a viewer sees everyone's experiments and changes only
their own; otherwise only their own.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

from ic import sweeps
from ic.errors import ICError, Unavailable
from ic.experiment import ExperimentRecord
from ic.history.experiments import Filter
from ic.history.saver import Saver
from ic.history.store import MAX_NOTE, HistoryStore, StoredExperiment, open_location

log = logging.getLogger(__name__)

SAVER_BUSY_TIMEOUT_S = 2.0  # one try at a locked database; the saver then backs off and tries again
REOPEN_S = 30.0  # how often a history database that was out of reach at start is tried again
WRITE_WAIT_S = 0.5  # how long an action (or a reload) waits for its own write: a few ms when the database is free
NO_HISTORY = "History is not kept on this server."

__all__ = ["MAX_NOTE", "Changes", "History", "People", "Reads", "Saved", "Saving", "StoredExperiment"]


@dataclass
class Saved:
    ids: list[str] = field(default_factory=list)
    problem: str | None = None


class History:
    """The history of one data folder or database, opened once; a database out of reach at start is tried
    again in the background every REOPEN_S."""

    def __init__(self, policy, data_folder: Path | None, database_url: str | None = None):
        self.policy = policy
        self._store: HistoryStore | None = None
        self._problem: str | None = None  # why new experiments cannot be kept, or None
        self._saver: Saver | None = None
        self._location = (data_folder, database_url)
        self._reopen_at: float | None = None  # when to try again a database that was out of reach
        self._reopening = threading.Lock()
        # one part for each concern, over this one connection
        self.saving, self.reads, self.people, self.changes = Saving(self), Reads(self), People(self), Changes(self)
        if data_folder is None and database_url is None:
            return
        self._open()

    def _open(self) -> None:
        data_folder, url = self._location
        try:
            store = HistoryStore(None if url else Path(data_folder), busy_timeout_s=SAVER_BUSY_TIMEOUT_S, url=url)
        except Unavailable as exc:  # a database server out of reach: tried again in the background, every REOPEN_S
            self._problem = f"{exc} This server tries again every {REOPEN_S:.0f} s."
            self._reopen_at = time.monotonic() + REOPEN_S
            return
        except ICError as exc:  # refused (a wrong URL or password, a folder that cannot be written): for good
            self._problem, self._reopen_at = str(exc), None
            return
        self._store, self._saver, self._problem, self._reopen_at = store, Saver(store), store.read_only, None
        if self._problem is None:
            log.info("History is kept in %s.", store.where)

    def _reopen_when_due(self) -> None:
        """A database that was out of reach when this server started is tried again, off the page's path."""
        due = self._reopen_at
        if due is None or time.monotonic() < due or not self._reopening.acquire(blocking=False):
            return
        self._reopen_at = time.monotonic() + REOPEN_S  # one try at a time

        def attempt() -> None:
            try:
                self._open()
            finally:
                self._reopening.release()

        threading.Thread(target=attempt, name="history-reopen", daemon=True).start()

    @property
    def store(self) -> HistoryStore | None:
        """The store itself, for the engine (the CLI's copy, tests); pages use the methods below."""
        self._reopen_when_due()
        return self._store

    @property
    def saver(self) -> Saver | None:
        self._reopen_when_due()
        return self._saver

    @property
    def kept(self) -> bool:
        """Whether this server has a history to read (it may still be read-only)."""
        return self.store is not None

    @property
    def problem(self) -> str | None:
        """Why new experiments cannot be kept here (one sentence), or None."""
        self._reopen_when_due()
        return self._problem

    @property
    def read_only(self) -> str | None:
        """Why this history changes for nobody (a read-only disk), or None."""
        store = self.store
        return store.read_only if store is not None else NO_HISTORY

    @property
    def shared(self) -> bool:
        """Team mode: everyone sees everyone's experiments."""
        return self.policy.history.shared

    def notice(self) -> tuple[int, str] | None:
        """(serial, sentence) of the latest thing that happened to the history's file while this server ran
        (deleted and made again, replaced), or None: a page says each once."""
        store = self._store
        return (store.notices, store.notice) if store is not None and store.notice else None

    def reading(self) -> HistoryStore:
        """The store, or ICError saying why there is none (for the parts below)."""
        store = self.store
        if store is None:
            raise ICError(self.problem or NO_HISTORY)
        return store


class _Part:
    """One concern of a History, over its connection."""

    def __init__(self, history: History):
        self._history = history


class Saving(_Part):
    """Writes, queued on the history's saver off the page's path: experiments (ids known at once), the visitor's desk
    and settings, maps and sweeps; and what still waits or failed."""

    def save(self, records: list[ExperimentRecord], owner: str, group: bool = False) -> Saved:
        """Queue records for the owner's history (one transaction, one group when `group`), with retention.

        The ids are chosen here, so they are known at once even while the write waits."""
        if not records or self._history.saver is None or self._history.problem:  # the history keeps nothing here; `problem` says why
            return Saved()
        ids = [uuid.uuid4().hex for _ in records]
        group_id = uuid.uuid4().hex if group else None
        settings = self._history.policy.history

        def write(store: HistoryStore) -> None:
            store.experiments.add_group(records, owner, group_id, ids=ids)
            store.prune(owner, settings.max_per_visitor, settings.max_age_days)

        try:
            job = self._history.saver.submit(owner, write, experiments=len(records))
        except ICError as exc:
            return Saved(problem=str(exc))
        # Waited for (tens of ms when the database is free): History then lists the row at once, and a write
        # a lock holds up is already "stalled" when the page asks, so the page says it is not saved yet.
        # Not waiting saved about 10 ms a removal and lost both.
        job.done.wait(WRITE_WAIT_S)
        return Saved(ids)

    def remember(self, owner: str | None, write: Callable[[HistoryStore], object], what: str) -> None:
        """Queue a write that is not an experiment (the visitor's desk or settings, a map, a sweep): behind
        the owner's experiments, never counted as one. Where the history keeps nothing, neither is kept (the
        sidebar already says why)."""
        if owner is None or self._history.saver is None or self._history.problem:
            return
        try:
            self._history.saver.submit(owner, write, experiments=0, what=what)
        except ICError:  # only experiments are bounded
            pass

    def save_maps(self, experiment_id: str, owner: str, items: list[dict]) -> None:
        """Maps kept with an experiment, written after it."""
        def write(store: HistoryStore) -> None:
            for item in items:
                store.experiments.add_explanation(experiment_id, owner, **item)

        self.remember(owner, write, "map")

    def save_sweep(self, owner: str, name: str, plan, result) -> str:
        """A finished sweep with its rows, kept for the owner; returns its id."""
        # the rows are kept whole beside the document, not again inside it
        document, plan_values = result.document(with_results=False), plan.as_dict()
        rows = sweeps.parquet_bytes(result.rows)
        sweep_id = uuid.uuid4().hex
        self.remember(owner, lambda store: store.sweeps.add(owner, sweep_id, name, plan_values, document, rows), "sweep")
        return sweep_id

    def pending(self, owner: str) -> int:
        """The owner's experiments applied but not written yet."""
        return self._history.saver.pending(owner) if self._history.saver else 0

    def waiting(self, owner: str) -> int:
        """The owner's experiments held up by a database that another program keeps locked (0 while writes
        go through in their usual milliseconds): what the page must say is not saved yet."""
        return self.pending(owner) if self._history.saver and self._history.saver.stalled() else 0

    def waiting_reason(self) -> str:
        """Why writes wait, for the page's notice: a database out of reach, or locked by another program."""
        if self._history.saver is not None and self._history.saver.unreachable:
            return "the history database cannot be reached"
        return "the history database is locked by another program"

    def failures(self, owner: str) -> list[str]:
        """Sentences of the owner's writes that failed for good since last asked (a full disk, say)."""
        return self._history.saver.failures(owner) if self._history.saver else []

    def flush(self, timeout_s: float | None = None) -> bool:
        """Wait until everything queued is written (the CLI and tests); False on time-out."""
        return self._history.saver.wait(timeout_s) if self._history.saver else True


class Reads(_Part):
    """What a History page reads: the experiments a viewer may see, their maps, share links and kept sweeps."""

    def list(self, viewer: str, only: Filter = Filter()) -> list[StoredExperiment]:
        """The experiments the viewer may see, newest first, `only` those the filter lets through."""
        return self._history.reading().experiments.list(viewer, only, shared=self._history.shared)

    def count(self, viewer: str) -> int:
        """The viewer's own experiments."""
        return self._history.reading().experiments.count(viewer)

    def thumbnails(self, experiment_ids: list[str]) -> dict[str, tuple[bytes, bytes]]:
        return self._history.reading().experiments.thumbnails(experiment_ids)

    def get(self, experiment_id: str, viewer: str) -> StoredExperiment:
        return self._history.reading().experiments.get(experiment_id, viewer, shared=self._history.shared)

    def maps(self, experiment_id: str, viewer: str) -> list[dict]:
        """The maps kept with an experiment the viewer may see."""
        return self._history.reading().experiments.explanations(experiment_id, viewer, shared=self._history.shared)

    def may_change(self, experiment: StoredExperiment, viewer: str) -> bool:
        """Whether the viewer may annotate, share or delete it: their own, in a history that can be written."""
        return experiment.owner == viewer and not self._history.read_only

    def shared_link(self, token: str) -> tuple[StoredExperiment, list[dict]]:
        """What a share link shows: one experiment and its maps."""
        return self._history.reading().shares.open(token)

    def links(self, experiment_id: str, owner: str) -> list[str]:
        """The share tokens of one of the owner's experiments."""
        return self._history.reading().shares.tokens(experiment_id, owner)

    def export_zip(self, experiment_ids: list[str], viewer: str) -> bytes:
        return self._history.reading().transfer.export_zip(experiment_ids, viewer, shared=self._history.shared)

    def sweeps(self, owner: str) -> list:
        return self._history.reading().sweeps.list(owner)

    def sweep(self, sweep_id: str, owner: str):
        """One kept sweep with its rows, or None."""
        return self._history.reading().sweeps.get(sweep_id, owner)

    def sweep_rows(self, sweep_id: str, owner: str) -> tuple[list[dict], list[dict]]:
        """A kept sweep's rows and its slices (made from the rows for a sweep kept before slices were), or
        ([], []) when it is gone."""
        kept = self.sweep(sweep_id, owner)
        if kept is None or not kept.rows:
            return [], []
        rows = sweeps.rows_from_parquet(kept.rows)
        if "slices" in kept.document:
            return rows, kept.document["slices"]
        plan = sweeps.Plan.from_dict(kept.plan)
        return rows, [entry for mode in plan.seen() for entry in sweeps.slices(rows, replace(plan, preprocess=mode))]


class People(_Part):
    """Signed-in people (where sign-in is configured): who they are, signing out everywhere, and claiming a visitor
    link of before."""

    def person_seen(self, person) -> None:
        """A signed-in person (ic.auth.Person) recorded, so team mode can name them and the CLI act as them."""
        self._history.reading().people.seen(person)

    def sign_out(self, owner: str) -> str:
        """Record a person's sign-out now (returns the time): every other session of theirs ends at its next run."""
        at = datetime.now(UTC).isoformat(timespec="microseconds")
        self._history.reading().people.signed_out(owner, at)
        return at

    def signed_out_since(self, owner: str, since: str) -> bool:
        """Whether the person signed out after `since` (when a session saw them signed in), anywhere."""
        store = self._history.store
        at = store.people.signed_out_at(owner) if store is not None else None
        return at is not None and at > since

    def authors(self, owners: list[str]) -> dict[str, str]:
        """{owner: name} of the owners who are people."""
        store = self._history.store
        return store.people.names(owners) if store is not None else {}

    def person_by_email(self, email: str) -> str:
        """The owner id of the person who signed in with `email`, for the CLI's --as; ICError otherwise."""
        found = self._history.reading().people.by_email(email)
        if not found:
            raise ICError(f"No one has signed in to this app as {email[:320]}; sign in once on the app with that "
                          "account, then run this again.")
        return found[0]

    def claimable(self, visitor: str, owner: str) -> dict | None:
        """What a visitor link holds for a signed-in person to claim: {"experiments", "sweeps"}, or
        {"claimed_at", "by_you"} when it was claimed already, or None when it holds nothing."""
        store = self._history.reading()
        if visitor == owner or store.people.is_person(visitor):  # a person's id is no visitor link: never offered
            return None
        claim = store.people.claim_of(visitor)
        if claim is not None:
            return {"claimed_at": claim.claimed_at, "by_you": claim.owner == owner}
        experiments, sweep_count = store.people.holdings(visitor)
        return {"experiments": experiments, "sweeps": sweep_count} if experiments or sweep_count else None

    def claim(self, visitor: str, owner: str) -> dict:
        """Move a visitor link's experiments and sweeps to the signed-in owner, once; ICError when it was
        claimed already."""
        if self._history.read_only:
            raise ICError(self._history.problem or NO_HISTORY)
        people = self._history.reading().people
        if people.is_person(visitor):
            raise ICError("That address holds a signed-in person's id, not a visitor link of before: only the links "
                          "kept before signing in can be moved to an account.")
        moved = people.claim(visitor, owner)
        if moved is None:
            raise ICError("That visitor link was claimed already; its history is with whoever claimed it.")
        return {"experiments": moved.experiments, "sweeps": moved.sweeps}


class Changes(_Part):
    """What a History page changes: notes and stars, share links, deletions, clearing, importing a ZIP."""

    def annotate(self, experiment_id: str, owner: str, *, starred: bool | None = None, note: str | None = None) -> bool:
        return self._history.reading().experiments.annotate(experiment_id, owner, starred=starred,
                                        note=None if note is None else note[:MAX_NOTE])

    def share(self, experiment_id: str, owner: str) -> str:
        """A new read-only link token to one of the owner's experiments."""
        return self._history.reading().shares.create(experiment_id, owner)

    def revoke(self, token: str, owner: str) -> bool:
        return self._history.reading().shares.revoke(token, owner)

    def delete(self, experiment_id: str, owner: str) -> bool:
        return self._history.reading().experiments.delete(experiment_id, owner)

    def clear(self, owner: str) -> int:
        """Every experiment and sweep of the owner, and their current edit, deleted."""
        return self._history.reading().clear(owner)

    def delete_sweep(self, sweep_id: str, owner: str) -> bool:
        return self._history.reading().sweeps.delete(sweep_id, owner)

    def import_zip(self, data: bytes, owner: str, waiting=None) -> list[str]:
        """Add an exported ZIP's experiments to the owner's history (checked whole before anything is written),
        then apply retention; `waiting()` is called when it must wait for another import on this server."""
        if self._history.store is None or self._history.problem:
            raise ICError(self._history.problem or NO_HISTORY)
        added = self._history.store.transfer.import_zip(data, owner, waiting=waiting)
        settings = self._history.policy.history
        self._history.store.prune(owner, settings.max_per_visitor, settings.max_age_days)
        return added


def copy_history(source: str, target: str, progress=None) -> dict:
    """Every experiment, map, share link and sweep of the history at `source` (a folder or a database URL)
    copied into the one at `target` (`python -m ic history --from … --to …`)."""
    source_store = open_location(source, must_exist=True)
    target_store = open_location(target)
    if source_store.where == target_store.where:
        raise ICError("--from and --to name the same history; name another one to copy to.")
    copied = target_store.transfer.copy_from(source_store, progress=progress)
    return {"from": source_store.where, "to": target_store.where, **copied}
