"""Long work: one Task type (progress and cancel) for every long action, and the sweep worker.

A page gets a Task from `Jobs.task(owner, on_report)`, shows its progress, and its Cancel button calls
`Jobs.cancel(owner)`; the action reports into the task and stops at its next step once it is cancelled. A sweep
runs in a worker thread the workbench owns, so it goes on when the visitor leaves the page; its Task is what
the page reads when it comes back.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ic import sweeps
from ic.errors import Cancelled, ICError
from ic.watch import UNWATCHED, Watch

log = logging.getLogger(__name__)


@dataclass(eq=False)
class Task:
    """Progress and cancel of one piece of long work. `on_report(share, message)` hears every report (a
    page's progress bar); the work calls `report`, `count` or `bytes` with what it knows, and asks `cancelled`."""

    message: str = "starting"
    done: int = 0
    total: int = 0
    on_report: Callable[[float, str], None] | None = None
    _share: float = 0.0
    _event: threading.Event = field(default_factory=threading.Event, repr=False)

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def is_cancelled(self) -> bool:
        """`cancelled` as a callable, for the engine's Watch."""
        return self._event.is_set()

    def check(self) -> None:
        """Raise Cancelled once the task is cancelled."""
        if self.cancelled:
            raise Cancelled()

    def report(self, share: float, message: str | None = None) -> None:
        """How far the work is (0 to 1), and what it is doing."""
        self._share = min(1.0, max(0.0, share))
        if message is not None:
            self.message = message
        if self.on_report is not None:
            self.on_report(self._share, self.message)

    def count(self, done: int, total: int, message: str | None = None) -> None:
        """How far the work is, counted in its own units (a sweep's rows, a download's bytes)."""
        self.done, self.total = done, total
        self.report(done / total if total else 0.0, message)

    def part(self, index: int, parts: int) -> Callable[[float], None]:
        """A report(share) for part `index` of `parts` equal parts of the work."""
        return lambda share: self.report((index + share) / parts)

    def share(self) -> float:
        return self._share


def watching(task: Task | None, progress: Callable[..., None] | None = None) -> Watch:
    """A page's task as the engine's Watch: its reports (or `progress`, a part of them) and its Cancel; nothing
    watched without a task."""
    return UNWATCHED if task is None else Watch(progress or task.report, task.is_cancelled)


@dataclass(frozen=True)
class Source:
    """A page's dataset for a sweep: an uploaded ZIP's bytes, or a folder under the server's sweep root (team
    mode only), read as `fmt` with `options` (sweeps.ReadOptions); `name` is what History calls it."""

    name: str
    data: bytes | None = None
    folder: str | None = None
    fmt: str = "auto"
    options: sweeps.ReadOptions | None = None


@dataclass(eq=False)
class SweepJob(Task):
    """A sweep running (or finished) in the worker; the page reads it, the thread writes it."""

    id: str = ""
    owner: str = ""
    name: str = ""
    result: object = None  # ic.sweeps.SweepResult once finished
    problem: str | None = None
    thread: threading.Thread | None = None
    flipped: dict = field(default_factory=dict)  # (image, object, model, inpainter) -> the edit's thumbnail
    items: list = field(default_factory=list, repr=False)  # the dataset's objects: a row opens its own on Explore
    _files: dict = field(default_factory=dict)

    def item(self, row: dict):
        """The dataset's object a row was judged on (its photo and mask), or None."""
        uid = sweeps.row_uid(row)
        return next((item for item in self.items if item.uid == uid), None)

    @property
    def running(self) -> bool:
        return self.thread is not None and self.thread.is_alive()

    def files(self) -> dict:
        """{"csv", "parquet"}: the rows as downloads, made once."""
        if not self._files and self.result is not None:

            self._files = {"csv": sweeps.csv_bytes(self.result.rows), "parquet": sweeps.parquet_bytes(self.result.rows)}
        return self._files


MAX_FOLDER_CHARS = 1024


class Jobs:
    """Each visitor's current long action (to cancel it) and latest sweep on this server."""

    def __init__(self, policy, history):
        self._policy, self._history = policy, history
        self._tasks: dict[str, Task] = {}
        self._sweeps: dict[str, SweepJob] = {}
        self._lock = threading.Lock()
        self._reading: set[str] = set()  # visitors whose new sweep is being read (its thread not yet started)

    def task(self, owner: str, on_report: Callable[[float, str], None] | None = None, message: str = "") -> Task:
        """A fresh task for the owner's next long action; `cancel(owner)` cancels it."""
        task = self._tasks[owner] = Task(message=message, on_report=on_report)
        return task

    def cancel(self, owner: str) -> None:
        task = self._tasks.get(owner)
        if task is not None:
            task.cancel()

    # --- sweeps ------------------------------------------------------------------------------

    def sweep(self, dataset, plan, *, owner: str, name: str = "dataset", out=None,
              engine: sweeps.Engine = sweeps.Engine(), task: Task | None = None):
        """A dataset across classifiers and inpainters (ic.sweeps) under this deployment's rules (off in public
        mode, models through the allow-list), kept in the owner's history with its rows."""
        refused = self._policy.sweeps_refused()
        if refused:
            raise ICError(refused)
        _has_objects(dataset)
        result = sweeps.sweep(dataset, plan, out=out, engine=engine, watch=watching(task, task and task.count),
                              load_model=self._policy.classifier)
        result.id = self._history.saving.save_sweep(owner, name, plan, result)
        return result

    def start_sweep(self, owner: str, *, source: Source, models: list[str], inpainters: list[str],
                    context: bool = False, flip: bool = False, modes: tuple[str, ...] = ()) -> SweepJob:
        """A sweep of `source` in the worker thread: it goes on when the visitor leaves the page, which finds it
        again with `sweep_job(owner)`. One at a time per visitor. `modes`: the ways of seeing to judge with
        (another axis), by default the squashed whole image alone."""
        refused = self._policy.sweeps_refused()
        if refused:
            raise ICError(refused)
        with self._lock:  # decided at once: two tabs pressing Run together start one sweep, not two
            running = self.sweep_job(owner)
            if owner in self._reading or (running is not None and running.running):
                raise ICError("A sweep of yours is still running; wait for it, or cancel it first.")
            self._reading.add(owner)
        try:
            dataset = self._dataset(source)

            plan = sweeps.Plan(tuple(models), tuple(inpainters), context=context, flip=flip,
                               preprocess=(modes or ("squash",))[0], modes=tuple(modes) if len(modes) > 1 else ()).check()
            job = SweepJob(id=uuid.uuid4().hex, owner=owner, name=source.name,
                           total=len(dataset.items) * len(plan.tasks()) * len(plan.seen()), items=dataset.items)
            job.thread = threading.Thread(target=self._work, args=(job, dataset, plan), name=f"sweep-{owner[:8]}",
                                          daemon=True)
            self._sweeps[owner] = job
            job.thread.start()
            return job
        finally:
            with self._lock:
                self._reading.discard(owner)

    def _dataset(self, source: Source):
        """The dataset of an uploaded ZIP, or of a folder under the server's sweep root (team mode only)."""
        if source.data is not None:
            dataset = sweeps.load_zip(source.data, fmt=source.fmt, options=source.options)
        else:
            path, root = self._folder(source.folder)
            dataset = sweeps.load_folder(path, within=root, fmt=source.fmt, options=source.options)
        _has_objects(dataset)
        return dataset

    def _folder(self, folder: str | None) -> tuple[Path, Path]:
        root = self._policy.sweep_root()
        if root is None or not folder:
            raise ICError("Upload a ZIP of photos with their masks; this server reads no folders.")
        if "\0" in folder or len(folder) > MAX_FOLDER_CHARS or any(len(part) > 255 for part in Path(folder).parts):
            raise ICError(f"Give a folder under {root} by its name (no NUL, at most 255 characters a part); "
                          "that one cannot be a folder name.")
        try:
            path = (root / folder).resolve()
        except (OSError, RuntimeError, ValueError) as exc:
            raise ICError(f"The folder {folder[:80]!r} cannot be read ({exc}); give a folder under {root}.") from None
        if not path.is_relative_to(root.resolve()):
            raise ICError(f"Give a folder under {root}; {folder[:80]!r} is outside it.")
        return path, root.resolve()

    def _work(self, job: SweepJob, dataset, plan) -> None:

        try:
            result = self.sweep(dataset, plan, owner=job.owner, name=job.name, task=job)
            job.message = "showing the flipped images"
            job.flipped = sweeps.flipped_edits(dataset.items, result.rows, plan)
            job.result = result
        except Cancelled:
            job.problem = f"The sweep was cancelled after {job.done} of {job.total} rows; nothing was kept."
        except ICError as exc:
            job.problem = str(exc)
        except Exception as exc:  # the worker must say why it stopped, never just vanish
            log.exception("sweep failed")
            job.problem = f"The sweep stopped: {type(exc).__name__}: {str(exc)[:200]}"

    def sweep_job(self, owner: str) -> SweepJob | None:
        """The visitor's latest sweep started on this server (running or finished), or None."""
        return self._sweeps.get(owner)

    def cancel_sweep(self, owner: str) -> None:
        job = self._sweeps.get(owner)
        if job is not None:
            job.cancel()


def _has_objects(dataset) -> None:
    """A dataset with nothing to sweep is refused with its first reasons (a sweep of 0 images is no answer)."""
    if not dataset.items:
        raise ICError("None of the photos can be swept: " + "; ".join(
            f"{s['file']}: {s['reason']}" for s in dataset.skipped[:3]) + ("…" if len(dataset.skipped) > 3 else "")
            + ("" if dataset.skipped else "the dataset holds no photo with an object to remove"))
