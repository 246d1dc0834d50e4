"""The workbench: every action a user takes, for every page and the command line.

A page reads its widgets, calls one method here and draws the answer; the CLI does the same. The pipeline
(inpaint, classify, save) and the deployment policy live here and nowhere else:

- public mode: only allow-listed classifiers, no LaMa download, history bounded, and the busy limit
  (when more removals already wait for the CPU than the limit, new work is turned away with a sentence);
- retention, applied after every write;
- saving through the history's saver: each method applies its work and queues the save in one call that a
  Streamlit rerun cannot split (pure Python, no Streamlit call in between), and the saver writes it off the
  page's critical path, retrying a locked database. `pending(owner)` says what still waits.

Long work takes a `CancelToken` that the workbench hands out, so Cancel works wherever the work runs.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ic import compute
from ic.classifiers import (
    Classifier,
    ModelChoice,
    get_classifier,
    is_loaded,
    list_choices,
    loading_step,
    resolve_choice,
)
from ic.errors import Cancelled, ICError, Unavailable
from ic.experiment import EditSession, ExperimentRecord, reclassify
from ic.history.saver import Saver
from ic.history.store import HistoryStore
from ic.images import DEFAULT_WORKING_SIDE, DETAIL_SIDES, check_paintable, decode_image
from ic.inpaint import Inpainter, get_inpainter, list_inpainters, resolve_inpainter
from ic.settings import HistorySettings, PublicSettings, history_settings, public_settings

log = logging.getLogger(__name__)

SAVER_BUSY_TIMEOUT_S = 2.0  # one try at a locked database; the saver then backs off and tries again
REOPEN_S = 30.0  # how often a history database that was out of reach at start is tried again
WRITE_WAIT_S = 0.5  # how long an action (or a reload) waits for its own write: a few ms when the database is free
BACKGROUND_FILLS = ("blur", "mean")
BUSY = "The server is busy with other visitors' removals; paint again in a moment."


class Busy(ICError):
    """Public mode's busy limit: more work already waits for the CPU than the limit allows."""


class CancelToken:
    """Set by Cancel, checked by long work between its steps."""

    def __init__(self):
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()


@dataclass
class Removal:
    """What one removal did: the record, its number on the edit stack, and where it was kept."""

    record: ExperimentRecord
    number: int
    experiment_id: str | None  # None when the history cannot keep it (the reason is in `problem`)
    problem: str | None = None


@dataclass
class Resumed:
    """A visitor's current edit brought back from the store (after a reload or a server restart)."""

    edit: EditSession
    source_key: str
    chosen_key: str | None
    experiment_ids: dict  # removal number -> experiment id


@dataclass
class Saved:
    ids: list[str] = field(default_factory=list)
    problem: str | None = None


@dataclass
class SweepJob:
    """A sweep running (or finished) in the workbench's worker; the page reads it, the thread writes it."""
    id: str
    owner: str
    name: str
    total: int = 0
    done: int = 0
    message: str = "starting"
    result: object = None  # ic.sweeps.SweepResult once finished
    problem: str | None = None
    thread: threading.Thread | None = None
    token: CancelToken = field(default_factory=CancelToken)
    flipped: dict = field(default_factory=dict)  # (image, model, inpainter) -> the edited image's thumbnail
    _files: dict = field(default_factory=dict)

    @property
    def running(self) -> bool:
        return self.thread is not None and self.thread.is_alive()

    def share(self) -> float:
        return min(1.0, self.done / self.total) if self.total else 0.0

    def files(self) -> dict:
        """{"csv", "parquet"}: the rows as downloads, made once."""
        if not self._files and self.result is not None:
            from ic import sweeps

            self._files = {"csv": sweeps.csv_bytes(self.result.rows), "parquet": sweeps.parquet_bytes(self.result.rows)}
        return self._files


class Workbench:
    """One per process (and per data folder): safe to share between visitors' sessions."""

    def __init__(self, data_folder: Path | None, database_url: str | None = None):
        self._store: HistoryStore | None = None
        self._problem: str | None = None  # why new experiments cannot be kept, or None
        self._saver: Saver | None = None
        self._tokens: dict[str, CancelToken] = {}
        self._sweeps: dict[str, SweepJob] = {}  # each visitor's latest sweep on this server
        self._sweep_lock = threading.Lock()
        self._reading: set[str] = set()  # visitors whose new sweep is being read (its thread not yet started)
        self._location = (data_folder, database_url)
        self._reopen_at: float | None = None  # when to try again a database that was out of reach
        self._reopening = threading.Lock()
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
        self._reopen_when_due()
        return self._store

    @property
    def saver(self) -> Saver | None:
        self._reopen_when_due()
        return self._saver

    def history_notice(self) -> tuple[int, str] | None:
        """(serial, sentence) of the latest thing that happened to the history's file while this server ran
        (deleted and made again, replaced), or None: a page says each once."""
        store = self._store
        return (store.notices, store.notice) if store is not None and store.notice else None

    @property
    def problem(self) -> str | None:
        """Why new experiments cannot be kept here (one sentence), or None."""
        self._reopen_when_due()
        return self._problem

    # --- policy ------------------------------------------------------------------------------

    @staticmethod
    def public() -> PublicSettings:
        return public_settings()

    @staticmethod
    def history_settings() -> HistorySettings:
        return history_settings()

    def model_choices(self) -> list[ModelChoice]:
        """The classifiers this deployment offers: every one, or in public mode the allow-list."""
        public = self.public()
        return [choice for choice in list_choices() if not public.enabled or choice.name in public.models]

    def free_model_names(self) -> bool:
        """Whether a visitor may name any timm model (not in public mode: that could mean gigabytes)."""
        return not self.public().enabled

    def classifier(self, name: str, on_step: Callable[[str], None] | None = None) -> Classifier:
        """A classifier this deployment allows, from the one process-wide cache; `on_step` hears what its load
        does, when this call loads it."""
        public = self.public()
        if public.enabled and name not in public.models:
            raise ICError(f"This public demo offers only {', '.join(public.models)}; {name!r} is not one of them. "
                          "Run the app yourself to try any timm model.")
        if is_loaded(name):
            return get_classifier(name)
        resolve_choice(name)  # an unknown name is refused with the list of valid ones
        return get_classifier(name, on_step)

    @staticmethod
    def classifier_ready(name: str) -> bool:
        """Whether `name` is loaded and answers at once."""
        return is_loaded(name)

    @staticmethod
    def classifier_loading(name: str) -> str | None:
        """What a load of `name` in progress (in any thread) is doing, or None."""
        return loading_step(name)

    def inpainter_choices(self) -> list[dict]:
        return list_inpainters()

    def inpainter(self, name: str) -> tuple[Inpainter, str | None]:
        """The method to use for `name` (a fallback where it cannot run now, never a download) and why."""
        return resolve_inpainter(name)

    def may_download_lama(self) -> bool:
        return not self.public().enabled

    def download_lama(self, progress: Callable[[int, int], None] | None = None) -> None:
        if not self.may_download_lama():
            raise ICError("This public demo does not download LaMa; run the app yourself to use it.")
        get_inpainter("lama").prepare(progress=progress)

    def admit(self) -> None:
        """The busy limit of public mode, checked before any heavy work."""
        public = self.public()
        if public.enabled and compute.queued() >= public.max_queue:
            raise Busy(BUSY)

    def cancel_token(self, owner: str) -> CancelToken:
        """A fresh token for the owner's next long piece of work; `cancel(owner)` sets it."""
        token = self._tokens[owner] = CancelToken()
        return token

    def cancel(self, owner: str) -> None:
        token = self._tokens.get(owner)
        if token is not None:
            token.cancel()

    # --- saving ------------------------------------------------------------------------------

    def keep(self, records: list[ExperimentRecord], owner: str, group: bool = False) -> Saved:
        """Queue records for the owner's history (one transaction, one group when `group`), with retention.

        The ids are chosen here, so they are known at once even while the write waits."""
        if not records:
            return Saved()
        if self.saver is None or self.problem:  # the history keeps nothing here; `problem` says why, once
            return Saved()
        ids = [uuid.uuid4().hex for _ in records]
        group_id = uuid.uuid4().hex if group else None
        settings = self.history_settings()

        def write(store: HistoryStore) -> None:
            store.add_group(records, owner, group_id, ids=ids)
            store.prune(owner, settings.max_per_visitor, settings.max_age_days)

        try:
            job = self.saver.submit(owner, write, experiments=len(records))
        except ICError as exc:
            return Saved(problem=str(exc))
        # Waited for (tens of ms when the database is free): History then lists the row at once, and a write
        # a lock holds up is already "stalled" when the page asks, so the page says it is not saved yet.
        # Not waiting saved about 10 ms a removal and lost both.
        job.done.wait(WRITE_WAIT_S)
        return Saved(ids)

    def pending(self, owner: str) -> int:
        """The owner's experiments applied but not written yet."""
        return self.saver.pending(owner) if self.saver else 0

    def waiting(self, owner: str) -> int:
        """The owner's experiments held up by a database that another program keeps locked (0 while writes
        go through in their usual milliseconds): what the page must say is not saved yet."""
        return self.pending(owner) if self.saver and self.saver.stalled() else 0

    def waiting_reason(self) -> str:
        """Why writes wait, for the page's notice: a database out of reach, or locked by another program."""
        if self.saver is not None and self.saver.unreachable:
            return "the history database cannot be reached"
        return "the history database is locked by another program"

    def failures(self, owner: str) -> list[str]:
        """Sentences of the owner's writes that failed for good since last asked (a full disk, say)."""
        return self.saver.failures(owner) if self.saver else []

    def flush(self, timeout_s: float | None = None) -> bool:
        """Wait until everything queued is written (the CLI and tests); False on time-out."""
        return self.saver.wait(timeout_s) if self.saver else True

    # --- what a reload brings back ------------------------------------------------------------

    def _remember(self, owner: str | None, write: Callable[[HistoryStore], object], what: str) -> None:
        """Queue a write of the visitor's desk or settings: behind their experiments, never counted as one.
        Where the history keeps nothing, neither is kept (the sidebar already says why)."""
        if owner is None or self.saver is None or self.problem:
            return
        try:
            self.saver.submit(owner, write, experiments=0, what=what)
        except ICError:  # only experiments are bounded; kept for symmetry with keep()
            pass

    def begin_edit(self, owner: str | None, image: np.ndarray, name: str, *, source_key: str,
                   data: bytes | None = None, max_side: int = DEFAULT_WORKING_SIDE) -> EditSession:
        """A new edit of a photo, remembered as the visitor's current one. `data` is the photo's file, kept so
        that a reload can bring the edit back (None for a bundled sample, which `source_key` names)."""
        reload = None if data is None else (lambda: decode_image(data))
        edit = EditSession(check_paintable(image), name, max_side, reload=reload)
        edit.origin = {"source_key": source_key, "chosen_key": source_key, "source": data}
        snapshot = edit.snapshot()
        self._remember(owner, lambda store: store.begin_desk(owner, snapshot, **edit.origin), "current edit")
        return edit

    def continue_experiment(self, owner: str | None, experiment, *, mine: bool, chosen_key: str | None) -> EditSession:
        """A stored experiment's edit, continued: its edited image is the current state, Undo goes to its
        original. `chosen_key` is the sidebar's photo, which stays chosen while this edit is on screen."""
        images = experiment.images
        edit = EditSession.resume(experiment.image_name, images["original"], images["edited"], images["mask"])
        snapshot, ids = edit.snapshot(), ({edit.serial: experiment.id} if mine else {})
        edit.origin = {"source_key": f"history:{experiment.id}", "chosen_key": chosen_key, "source_of": experiment.id}
        self._remember(owner, lambda store: store.begin_desk(owner, snapshot, **edit.origin, experiment_ids=ids),
                       "current edit")
        return edit

    def refine(self, edit: EditSession, max_side: int, *, owner: str | None) -> EditSession:
        """The edit's photo started afresh at working size `max_side` (one of DETAIL_SIDES, at most the photo's
        own), remembered for a reload with the same photo; refused once a removal is on screen."""
        if max_side not in DETAIL_SIDES:
            raise ICError(f"The detail is one of {', '.join(map(str, DETAIL_SIDES))} pixels.")
        refined = edit.refined(max_side)
        snapshot = refined.snapshot()
        self._remember(owner, lambda store: store.restart_desk(owner, snapshot), "current edit")
        return refined

    def move(self, edit: EditSession, how: str, *, owner: str | None) -> None:
        """Undo, Redo or Reset, remembered for a reload."""
        {"undo": edit.undo, "redo": edit.redo, "reset": edit.reset}[how]()
        self._sync_desk(edit, owner)

    def _sync_desk(self, edit: EditSession, owner: str | None, experiment_ids: dict | None = None) -> None:
        snapshot, origin = edit.snapshot(), edit.origin

        def write(store: HistoryStore) -> None:
            if store.sync_desk(owner, snapshot, experiment_ids) is None and origin is not None:
                store.begin_desk(owner, snapshot, **origin)  # no desk at all: the history's file was made anew

        self._remember(owner, write, "current edit")

    def resume_edit(self, owner: str) -> Resumed | None:
        """The visitor's current edit as last remembered, or None (none kept, or its photo is gone)."""
        if self.store is None:
            return None
        self.flush(WRITE_WAIT_S)  # a write from the page before the reload may still be on its way
        try:
            stored = self.store.desk(owner)
        except ICError:  # the database is out of reach: the page starts afresh rather than not at all
            return None
        if stored is None:
            return None
        data = stored.source
        if data is None and stored.source_key.startswith("sample:"):
            from ic.samples import list_samples

            found = [s for s in list_samples() if f"sample:{s.name}" == stored.source_key]
            data = found[0].path.read_bytes() if found else None
        if data is None:
            return None
        try:
            edit = EditSession.restore(decode_image(data), stored.snapshot, reload=lambda: decode_image(data))
        except (ICError, ValueError):
            return None  # the photo changed under the stored states: start afresh rather than show a wrong edit
        numbers = {serial: index + 1 + stored.snapshot.dropped for index, (serial, _, _) in
                   enumerate(stored.snapshot.steps)}
        ids = {numbers[serial]: experiment_id for serial, experiment_id in stored.experiment_ids.items() if serial in numbers}
        return Resumed(edit, stored.source_key, stored.chosen_key, ids)

    def settings(self, owner: str) -> dict:
        """The visitor's remembered settings ({} where none are kept)."""
        if self.store is None:
            return {}
        try:
            return self.store.settings(owner)
        except ICError:  # the database is out of reach: the defaults, until it is back
            return {}

    def keep_settings(self, owner: str, settings: dict) -> None:
        values = dict(settings)
        self._remember(owner, lambda store: store.keep_settings(owner, values), "setting")

    # --- actions -----------------------------------------------------------------------------

    def remove(self, edit: EditSession, mask: np.ndarray, *, owner: str, model: str, inpainter: str,
               preprocess: str = "squash", top_k: int = 5, seed: int = 0, background: bool = False) -> Removal:
        """Remove the masked region from the edit, classify, and queue it for the history (and the edit for a
        reload), in one call. With `background`, keep only the masked region: everything else is replaced by
        a baseline ("blur" or "mean"), which is what makes that question meaningful."""
        if background and inpainter not in BACKGROUND_FILLS:
            raise ICError(f"Only {' or '.join(BACKGROUND_FILLS)} can replace a whole background; inpainting most of "
                          "a photo would invent a new one.")
        self.admit()
        classifier = self.classifier(model)
        method, _ = self.inpainter(inpainter)
        record = edit.apply(mask, method, classifier, preprocess=preprocess, top_k=top_k, seed=seed,
                            background=background)
        saved = self.keep([record], owner)
        self._sync_desk(edit, owner, {edit.serial: saved.ids[0]} if saved.ids else None)
        return Removal(record, edit.removals, saved.ids[0] if saved.ids else None, saved.problem)

    def read_mask(self, data: bytes, edit: EditSession) -> np.ndarray:
        """A mask file (white, or opaque, where to remove) over the edit's working copy, refused as any removal's
        mask would be (empty, over 90%, another shape), with a sentence."""
        from ic.images import check_mask, decode_mask

        return check_mask(decode_mask(data, edit.shape))

    def select(self, image: np.ndarray, box, clicks=()):
        """A proposed mask of the object in `box`, corrected by `clicks` (see ic.select)."""
        from ic import select
        from ic.compute import slot

        self.admit()
        with slot():  # seconds of CPU: queued with the rest of the heavy work
            return select.propose(image, box, clicks)

    def rerun(self, experiment, model: str, *, owner: str) -> tuple[ExperimentRecord, Saved]:
        """A stored experiment's edit judged by another classifier, kept as a new row."""
        self.admit()
        summary, images = experiment.summary, experiment.images
        record = reclassify(experiment.image_name, images["original"], images["edited"], images["mask"],
                            self.classifier(model), inpainter=summary["inpainter"],
                            preprocess=summary.get("preprocess", "squash"), top_k=len(summary["original"]["top"]))
        return record, self.keep([record], owner)

    def compare(self, name: str, original: np.ndarray, mask: np.ndarray, models: list[str], inpainters: list[str],
                *, owner: str, preprocess: str | list[str] = "squash", top_k: int = 5, progress=None,
                cancel: CancelToken | None = None):
        """One edit across classifiers and inpainters (and modes of seeing, when `preprocess` lists several),
        kept as one group. Models this deployment does not
        allow get rows that say why, as unavailable ones do."""
        from ic.compare import compare

        self.admit()
        result = compare(name, original, mask, models, inpainters, preprocess=preprocess, top_k=top_k,
                         progress=progress, load=self.classifier,
                         cancelled=(lambda: cancel.cancelled) if cancel else None)
        return result, self.keep(result.records, owner, group=True)

    def explain(self, classifier: Classifier, original: np.ndarray, class_index: int, methods: list[str], *,
                edited: np.ndarray | None = None, removed: np.ndarray | None = None, grid: int = 8,
                infill: str = "telea", preprocess: str = "squash", scores: bool = True, rise: bool = False,
                progress=None, cancel: CancelToken | None = None, keep_with: tuple[str, str] | None = None):
        """Maps of what the classifier relies on, with their scores; kept with the experiment `keep_with`
        ((experiment id, owner)) when given."""
        from ic import explain

        explain.check_grid(grid)  # before anything is allocated: a grid of 100000 asked for 74.5 GiB
        self.admit()
        if "scorecam" in methods:
            self.check_scorecam(classifier)
        result = explain.explain_edit(classifier, original, class_index, methods, edited=edited, removed=removed,
                                      grid=grid, infill=get_inpainter(infill), preprocess=preprocess, scores=scores,
                                      rise=rise, progress=progress, cancelled=(lambda: cancel.cancelled) if cancel else None)
        result["problem"] = self._keep_maps(result, keep_with, grid, infill) if keep_with else None
        return result

    def estimate_maps(self, classifier: Classifier, methods: list[str], grid: int, infill: str, images: int = 1, *,
                      wait: bool = True, rise: bool = False):
        """What `explain` will take here with these maps on `images` images (ic.explain.cost.Estimate); without
        `wait`, None while a rate it needs is still being measured (in the background)."""
        from ic.explain import cost

        estimate = lambda: cost.maps_estimate(classifier, methods, grid, get_inpainter(infill), images, rise=rise)
        return estimate() if wait else cost.at_once(estimate)

    def estimate_flip(self, classifier: Classifier, grid: int, infill: str, order: str, map_method: str = "gradcam",
                      *, wait: bool = True):
        """What a search for the smallest removal takes here: a step, and its whole budget (ic.explain.cost);
        without `wait`, None while a rate it needs is still being measured."""
        from ic.explain import cost

        estimate = lambda: cost.flip_estimate(classifier, grid, get_inpainter(infill), order, map_method)
        return estimate() if wait else cost.at_once(estimate)

    def check_scorecam(self, classifier: Classifier):
        """Score-CAM's cost (one forward pass per channel), refused in public mode past the channel limit."""
        from ic import explain

        cost = explain.scorecam_cost(classifier)
        if self.public().enabled and cost.channels > explain.SCORECAM_PUBLIC_CHANNELS:
            raise ICError(f"{cost.sentence()} This public demo runs Score-CAM only up to "
                          f"{explain.SCORECAM_PUBLIC_CHANNELS} channels; use Grad-CAM, or run the app yourself.")
        return cost

    def _keep_maps(self, result: dict, keep_with: tuple[str, str], grid: int, infill: str) -> str | None:
        from ic import explain

        experiment_id, owner = keep_with
        if self.saver is None or self.problem:  # as in keep(): the sidebar says why, once
            return None
        items = []
        for method, by_image in result["maps"].items():
            for image_name, item in by_image.items():
                details = {**result["scores"].get(method, {}), "format": explain.MAP_FORMAT, "prob": item.prob,
                           "grid": grid if method == "occlusion" else None,
                           "infill": infill if method == "occlusion" else None}
                items.append(dict(image=image_name, method=method, class_index=item.class_index, label=item.label,
                                  cells=explain.map_cells(item), details=details))

        def write(store: HistoryStore) -> None:
            for item in items:
                store.add_explanation(experiment_id, owner, **item)

        self.saver.submit(owner, write, experiments=0, what="map")  # after the experiment it belongs to
        return None

    def flip(self, classifier: Classifier, edit_original: np.ndarray, name: str, *, order: str, grid: int = 8,
             infill: str = "telea", preprocess: str = "squash", map_method: str = "gradcam", owner: str | None = None,
             top_k: int = 5, progress=None, cancel: CancelToken | None = None) -> dict:
        """The smallest removal that changes the top-1: searched on the map-sized copy in the map's order
        (`map_method`), adaptively, or both ("both"); the smaller one found is then made at working resolution
        with `infill` and kept as an experiment. Returns {"flips": {order: Flip | None}, "best", "record",
        "saved"}; "record" is None when no removal within the budget changes the answer."""
        from ic import explain

        self.admit()
        small = explain.explain_copy(edit_original)
        method, _ = self.inpainter(infill)
        cancelled = (lambda: cancel.cancelled) if cancel else None
        orders = ["map", "adaptive"] if order == "both" else [order]
        flips = {}
        for step, chosen in enumerate(orders):
            report = (lambda share, step=step: progress((step + share) / len(orders))) if progress else None
            flips[chosen] = explain.find_flip(classifier, small, chosen, grid, method, preprocess=preprocess,
                                              map_method=map_method, progress=report, cancelled=cancelled)
        found = [flip for flip in flips.values() if flip is not None]
        best = min(found, key=lambda flip: (flip.share, flip.order != "map")) if found else None
        record, saved = None, Saved()
        if best is not None:
            from ic.experiment import make_record

            mask = explain.cells_mask(best.cells, edit_original.shape[:2], grid)
            edited = method(edit_original, mask, seed=0)
            before, after = classifier.predict([edit_original, edited], preprocess)
            record = make_record(name, edit_original, edited, mask, mask, classifier, before, after,
                                 inpainter=method.name, preprocess=preprocess, top_k=top_k, seed=0,
                                 timings_ms={"inpaint": 0.0, "classify": 0.0})
            saved = self.keep([record], owner) if owner else Saved()
        return {"flips": flips, "best": best, "record": record, "saved": saved}

    # --- sweeps ------------------------------------------------------------------------------

    def sweeps_refused(self) -> str | None:
        """Why sweeps are off here (a public demo), or None."""
        if self.public().enabled:
            return ("Sweeps are off on this public demo: one takes minutes of the CPU that every visitor shares. "
                    "Run the app yourself (see the README), or `python -m ic sweep` on your machine.")
        return None

    def sweep_root(self) -> Path | None:
        """The server folder sweeps may read datasets from: only in team mode, and only when one is configured
        ([sweeps] root, IC_SWEEP_ROOT)."""
        from ic.settings import sweep_root

        return sweep_root() if self.history_settings().shared else None

    def sweep(self, dataset, plan, *, owner: str, name: str = "dataset", out=None, engine: str = "local",
              ray_address: str | None = None, workers: int | None = None, progress=None,
              cancel: CancelToken | None = None):
        """A dataset across classifiers and inpainters (ic.sweeps) under this deployment's rules (off in public
        mode, models through the allow-list), kept in the owner's history with its rows."""
        from ic import sweeps

        refused = self.sweeps_refused()
        if refused:
            raise ICError(refused)
        result = sweeps.sweep(dataset, plan, out=out, engine=engine, ray_address=ray_address, workers=workers,
                              progress=progress, cancelled=(lambda: cancel.cancelled) if cancel else None,
                              load_model=self.classifier)
        document, plan_values, rows = result.document(), plan.as_dict(), sweeps.parquet_bytes(result.rows)
        sweep_id = uuid.uuid4().hex
        self._remember(owner, lambda store: store.add_sweep(owner, sweep_id, name, plan_values, document, rows), "sweep")
        result.id = sweep_id
        return result

    def start_sweep(self, owner: str, *, name: str, data: bytes | None = None, folder: str | None = None,
                    models: list[str], inpainters: list[str], context: bool = False, flip: bool = False,
                    modes: tuple[str, ...] = ()) -> SweepJob:
        """A sweep in the workbench's worker thread: it goes on when the visitor leaves the page, which finds it
        again with `sweep_job(owner)`. One at a time per visitor. `modes`: the ways of seeing to judge with
        (another axis), by default the squashed whole image alone."""

        refused = self.sweeps_refused()
        if refused:
            raise ICError(refused)
        with self._sweep_lock:  # decided at once: two tabs pressing Run together start one sweep, not two
            running = self.sweep_job(owner)
            if owner in self._reading or (running is not None and running.running):
                raise ICError("A sweep of yours is still running; wait for it, or cancel it first.")
            self._reading.add(owner)
        try:
            return self._start_sweep(owner, name=name, data=data, folder=folder, models=models,
                                     inpainters=inpainters, context=context, flip=flip, modes=modes)
        finally:
            with self._sweep_lock:
                self._reading.discard(owner)

    def _start_sweep(self, owner: str, *, name: str, data: bytes | None, folder: str | None, models: list[str],
                     inpainters: list[str], context: bool, flip: bool, modes: tuple[str, ...] = ()) -> SweepJob:
        from ic import sweeps

        if data is not None:
            dataset = sweeps.load_zip(data)
        else:
            root = self.sweep_root()
            if root is None or not folder:
                raise ICError("Upload a ZIP of photos with their masks; this server reads no folders.")
            if "\0" in folder or len(folder) > 1024 or any(len(part) > 255 for part in Path(folder).parts):
                raise ICError(f"Give a folder under {root} by its name (no NUL, at most 255 characters a part); "
                              "that one cannot be a folder name.")
            try:
                path = (root / folder).resolve()
            except (OSError, RuntimeError, ValueError) as exc:
                raise ICError(f"The folder {folder[:80]!r} cannot be read ({exc}); give a folder under {root}.") from None
            if not path.is_relative_to(root.resolve()):
                raise ICError(f"Give a folder under {root}; {folder[:80]!r} is outside it.")
            dataset = sweeps.load_folder(path, within=root.resolve())
        if not dataset.items:
            raise ICError("None of the photos can be swept: " + "; ".join(
                f"{s['file']}: {s['reason']}" for s in dataset.skipped[:3]) + ("…" if len(dataset.skipped) > 3 else ""))
        plan = sweeps.Plan(tuple(models), tuple(inpainters), context=context, flip=flip,
                           preprocess=(modes or ("squash",))[0], modes=tuple(modes) if len(modes) > 1 else ()).check()
        job = SweepJob(uuid.uuid4().hex, owner, name, total=len(dataset.items) * len(plan.tasks()) * len(plan.seen()))
        token = job.token

        def progress(done: int, total: int, what: str) -> None:
            job.done, job.total, job.message = done, total, what

        def work() -> None:
            try:
                result = self.sweep(dataset, plan, owner=owner, name=name, progress=progress, cancel=token)
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

        job.thread = threading.Thread(target=work, name=f"sweep-{owner[:8]}", daemon=True)
        self._sweeps[owner] = job
        job.thread.start()
        return job

    def sweep_job(self, owner: str) -> SweepJob | None:
        """The visitor's latest sweep started on this server (running or finished), or None."""
        return self._sweeps.get(owner)

    def cancel_sweep(self, owner: str) -> None:
        job = self._sweeps.get(owner)
        if job is not None:
            job.token.cancel()

    def import_zip(self, data: bytes, owner: str, waiting=None) -> list[str]:
        """Add an exported ZIP's experiments to the owner's history (checked whole before anything is written),
        then apply retention; `waiting()` is called when it must wait for another import on this server."""
        if self.store is None or self.problem:
            raise ICError(self.problem or "History is not kept on this server.")
        added = self.store.import_zip(data, owner, waiting=waiting)
        settings = self.history_settings()
        self.store.prune(owner, settings.max_per_visitor, settings.max_age_days)
        return added


_benches: dict[str, Workbench] = {}
_benches_lock = threading.Lock()


def get_workbench(data_folder: Path | None = None, database_url: str | None = None) -> Workbench:
    """The process's workbench for a history: the PostgreSQL database at `database_url` (by default
    IC_DATABASE_URL or the settings file's), else SQLite in a data folder (by default IC_DATA_DIR or the
    per-user data folder)."""
    from ic.paths import data_dir
    from ic.settings import database_url as configured_url

    url = database_url or configured_url()
    key = url or str(Path(data_folder or data_dir()).resolve())
    with _benches_lock:
        if key not in _benches:
            _benches[key] = Workbench(None if url else Path(key), database_url=url)
        return _benches[key]
