"""Saving off the page's critical path, so that no applied removal is lost without a word.

A removal is applied at once; writing it to the history happens in a worker thread the saver owns, so a
Streamlit rerun can never stop it half-way and another process's write lock never holds up the page. A
write that finds the database locked is retried with back-off; meanwhile it is *pending*, and
`pending(owner)` says how many experiments wait, so the page can say so until they are written. The queue
lives in memory and is bounded (a restart loses what waits in it, which the page says too). A history that
cannot be written at all (a full disk, a folder gone read-only) is not retried: the write's sentence is
kept for its owner (`failures`), as the page showed it before.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from ic.errors import ICError
from ic.history.store import HistoryBusy, HistoryStore

log = logging.getLogger(__name__)

MAX_PENDING = 50  # experiments waiting for a locked database; beyond it a new removal is not kept
BACKOFF_S = (0.25, 4.0)  # first and longest wait between tries on a locked database
STALLED_S = 0.4  # a write trying for longer than this waits for a lock (a free database takes milliseconds)


class QueueFull(ICError):
    """Too many experiments already wait for the database."""


@dataclass
class _Job:
    owner: str
    experiments: int  # how many experiments it writes (0 for maps kept with one)
    write: Callable[[HistoryStore], object]
    what: str
    done: threading.Event = field(default_factory=threading.Event)  # written, or failed for good


class Saver:
    """Writes jobs in order, one at a time, in a daemon thread started on first use."""

    def __init__(self, store: HistoryStore, max_pending: int = MAX_PENDING, backoff_s=BACKOFF_S):
        self.store = store
        self.max_pending = max_pending
        self.backoff_s = backoff_s
        self._jobs: deque[_Job] = deque()
        self._failures: dict[str, list[str]] = {}
        self._changed = threading.Condition()
        self._worker: threading.Thread | None = None
        self.waiting_since: float | None = None  # when the head of the queue first found the database locked
        self.unreachable = False  # whether what holds the queue up is a database out of reach, not a lock
        self._head_started: float | None = None  # when the write in progress began its first try

    def submit(self, owner: str, write: Callable[[HistoryStore], object], *, experiments: int = 1,
               what: str = "experiment") -> _Job:
        """Queue `write(store)`; it runs after everything queued before it. `job.done` is set once it is
        written (or failed for good)."""
        with self._changed:
            waiting = sum(job.experiments for job in self._jobs)
            if experiments and waiting + experiments > self.max_pending:
                raise QueueFull(f"{waiting} removals already wait for the history database, which another "
                                "program keeps locked; this one is applied but not kept. Export what matters "
                                "or free the database.")
            job = _Job(owner, experiments, write, what)
            self._jobs.append(job)
            if self._worker is None or not self._worker.is_alive():
                self._worker = threading.Thread(target=self._run, name="history-saver", daemon=True)
                self._worker.start()
            self._changed.notify_all()
        return job

    def pending(self, owner: str | None = None) -> int:
        """Experiments not written yet (all owners' when `owner` is None)."""
        with self._changed:
            return sum(job.experiments for job in self._jobs if owner is None or job.owner == owner)

    def stalled(self, after_s: float = STALLED_S) -> bool:
        """Whether the write in progress has been trying for longer than a free database ever needs."""
        started = self._head_started
        return started is not None and time.monotonic() - started > after_s

    def failures(self, owner: str) -> list[str]:
        """Sentences of writes that failed for good since last asked; each is returned once."""
        with self._changed:
            return self._failures.pop(owner, [])

    def wait(self, timeout_s: float | None = None) -> bool:
        """Until nothing is pending; False when `timeout_s` passed first."""
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        with self._changed:
            while self._jobs:
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return False
                self._changed.wait(left)
        return True

    def _run(self) -> None:
        delay = self.backoff_s[0]
        while True:
            with self._changed:
                if not self._jobs:
                    self._worker = None
                    return
                job = self._jobs[0]  # stays counted as pending until written
                self._head_started = self._head_started or time.monotonic()
            try:
                job.write(self.store)
            except HistoryBusy as exc:
                self.unreachable = exc.unreachable
                if self.waiting_since is None:
                    self.waiting_since = time.monotonic()
                    log.warning("History cannot be written now (%s); %d experiment(s) wait.", exc, self.pending())
                time.sleep(delay)
                delay = min(delay * 2, self.backoff_s[1])
                continue
            except ICError as exc:
                with self._changed:
                    self._failures.setdefault(job.owner, []).append(str(exc))
            except Exception:  # a programming error must not stop the queue behind it
                log.exception("Saving %s failed", job.what)
                with self._changed:
                    self._failures.setdefault(job.owner, []).append(
                        f"Saving the {job.what} failed because of an internal error; the server log has it.")
            delay, self.waiting_since = self.backoff_s[0], None
            with self._changed:
                self._jobs.popleft()
                self._head_started = None
                job.done.set()
                self._changed.notify_all()
