"""One pipeline: image + mask + inpainter + classifier -> an experiment record.

An `EditSession` holds one photo being edited. Removals chain: each starts from
the current edited image, the record's mask is the union of all removals so far,
and "before" is always the original photo. Undo and redo move through the
stack of edits; they never create or delete records.
"""

from __future__ import annotations

import hashlib
import itertools
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

import numpy as np

from ic.cache import ByteCache
from ic.classifiers import Classifier
from ic.errors import ICError, NothingToRemove
from ic.images import DEFAULT_WORKING_SIDE, check_mask, export_full_resolution, fit_mask, resize_mask, working_copy
from ic.inpaint import Inpainter
from ic.models import models


def _ms(start: float) -> float:
    return round((time.perf_counter() - start) * 1000, 1)


def _top_indices(probs: np.ndarray, k: int) -> list[int]:
    return [int(i) for i in np.argsort(-probs, kind="stable")[:k]]


def change_rows(before: np.ndarray, after: np.ndarray, labels: list[str], indices) -> list[dict]:
    return [{"index": i, "label": labels[i], "before": float(before[i]), "after": float(after[i]),
             "delta": float(after[i] - before[i])} for i in indices]


def changes_between(before: np.ndarray, after: np.ndarray, top_before: list[dict], top_after: list[dict],
                    labels: list[str]) -> list[dict]:
    """The probability change of every class in either top-k: the original's order first, then newcomers."""
    indices = dict.fromkeys([row["index"] for row in top_before] + [row["index"] for row in top_after])
    return change_rows(before, after, labels, indices)


def comparison_rows(before: np.ndarray, after: np.ndarray, labels: list[str], k: int,
                    order: str = "original", pinned=()) -> list[dict]:
    """The before/after table: the top-k of the original (or of the edited image), the top-1 of both (when the
    top-k leaves one out), then pinned classes.

    Each row says whether it is pinned; a class already in the table is not repeated.
    """
    if order not in ("original", "edited"):
        raise ValueError(f"order must be 'original' or 'edited', not {order!r}")
    top = _top_indices(before if order == "original" else after, k)
    firsts = [int(before.argmax()), int(after.argmax())]  # the top-1 notice names both: they are always rows
    indices = dict.fromkeys(top + firsts + [int(i) for i in pinned])
    pinned = set(int(i) for i in pinned)
    return [{**row, "pinned": row["index"] in pinned} for row in change_rows(before, after, labels, indices)]


@dataclass
class ExperimentRecord:
    image_name: str
    original: np.ndarray  # working copy, RGB uint8
    edited: np.ndarray
    mask: np.ndarray  # union of all removals so far
    step_mask: np.ndarray  # this removal alone
    model: str
    weights_hash: str
    preprocess: str
    inpainter: str
    seed: int
    top_k: int
    before: list[dict]
    after: list[dict]
    changes: list[dict]
    top1_changed: bool
    timings_ms: dict
    created_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))
    kind: str = "removal"  # "background": everything outside the region was replaced, to test object against context

    def summary(self) -> dict:
        """Everything but the pixels, ready for JSON."""
        return {
            "image": self.image_name,
            "model": self.model,
            "weights_hash": self.weights_hash,
            "preprocess": self.preprocess,
            "inpainter": self.inpainter,
            "seed": self.seed,
            "original": {"top": self.before},
            "edited": {"top": self.after},
            "changes": self.changes,
            "top1_changed": self.top1_changed,
            "timings_ms": self.timings_ms,
            "removed_fraction": round(float(self.mask.mean()), 4),
            "created_at": self.created_at,
            "kind": self.kind,
        }


def flip_lead(summary: dict) -> tuple[float, str] | None:
    """For an experiment whose top-1 changed: how far the new top-1 leads its runner-up (a share), and the
    runner-up's label; None when the top-1 held or the summary keeps fewer than two classes."""
    before, after = summary["original"]["top"], summary["edited"]["top"]
    if before[0]["index"] == after[0]["index"] or len(after) < 2:
        return None
    return float(after[0]["prob"] - after[1]["prob"]), str(after[1]["label"])


@dataclass(frozen=True)
class Scoring:
    """How an edit is judged: what the classifier sees (one of ic.classifiers.PREPROCESS_MODES; a comparison may
    name several, each another axis), how many top classes a record keeps, and the seed of an inpainter that
    draws at random."""

    preprocess: str | tuple[str, ...] = "squash"
    top_k: int = 5
    seed: int = 0

    def modes(self) -> list[str]:
        """The ways of seeing asked for, each once, in their order."""
        return [self.preprocess] if isinstance(self.preprocess, str) else list(dict.fromkeys(self.preprocess))

    def seeing(self, mode: str) -> Scoring:
        return replace(self, preprocess=mode)


def make_record(name: str, images: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray], classifier: Classifier,
                probs: tuple[np.ndarray, np.ndarray], *, inpainter: str, scoring: Scoring,
                timings_ms: dict) -> ExperimentRecord:
    """An experiment record from its images (original, edited, mask, the step's mask) and both probability
    vectors (before, after), judged as `scoring` says (its one way of seeing)."""
    original, edited, mask, step_mask = images
    before, after = probs
    preprocess, top_k, seed = scoring.preprocess, scoring.top_k, scoring.seed
    top_before, top_after = classifier.top_k(before, top_k), classifier.top_k(after, top_k)
    return ExperimentRecord(
        image_name=name,
        original=original,
        edited=edited,
        mask=mask,
        step_mask=step_mask,
        model=classifier.name,
        weights_hash=classifier.weights_hash,
        preprocess=preprocess,
        inpainter=inpainter,
        seed=seed,
        top_k=top_k,
        before=top_before,
        after=top_after,
        changes=changes_between(before, after, top_before, top_after, classifier.labels),
        top1_changed=top_before[0]["index"] != top_after[0]["index"],
        timings_ms=timings_ms,
    )


def reclassify(name: str, original: np.ndarray, edited: np.ndarray, mask: np.ndarray, classifier: Classifier, *,
               inpainter: str, scoring: Scoring = Scoring()) -> ExperimentRecord:
    """The same edit judged by another classifier: a new record, no inpainting."""
    start = time.perf_counter()
    before, after = classifier.predict([original, edited], scoring.preprocess)
    return make_record(name, (original, edited, mask, mask), classifier, (before, after), inpainter=inpainter,
                       scoring=scoring, timings_ms={"inpaint": 0.0, "classify": _ms(start)})


@dataclass
class _State:
    edited: np.ndarray
    mask: np.ndarray
    probs: dict = field(default_factory=dict)  # (model, weights hash, preprocess) -> probabilities
    serial: int = 0  # stays with the state, so a stored copy of the stack knows which states it already has


@dataclass(frozen=True)
class EditSnapshot:
    """What it takes to rebuild an edit from its photo: the states after the original, where Undo stands, and
    how many older removals the stack has forgotten. The arrays are shared with the edit, never copied: a
    state does not change once made."""

    id: str
    name: str
    max_side: int
    steps: list  # (serial, edited, mask) per state after the original, oldest first
    position: int
    dropped: int


ORIGINALS_BYTES = 2 * 2**20  # originals' probabilities shared across visitors: 500 photo x model x way of seeing
KEEP_FULL_BYTES = 48 * 2**20  # a photo larger than this decoded (16 megapixels) is decoded again to export it
MAX_UNDO = 40  # removals Undo can step back through; older ones stay applied (each state holds two images)
# And at most this many bytes of states: 40 at 1024x1024 (4 MiB each), 10 at 2048x2048 (a finer working copy
# for zoom, DETAIL_SIDES), so one visitor's edit stays within the same memory whatever its detail.
UNDO_BYTES = 160 * 2**20


class EditSession:
    """One photo being edited at working resolution, with an undo/redo stack of removals."""

    def __init__(self, image: np.ndarray, name: str = "image", max_side: int = DEFAULT_WORKING_SIDE,
                 reload: Callable[[], np.ndarray] | None = None):
        """`reload` decodes the photo again: given, a photo larger than KEEP_FULL_BYTES is not kept decoded
        beside its working copy (a 64-megapixel photo is 192 MB) but decoded again for a full-size export."""
        self.id = uuid.uuid4().hex
        self.name = name
        self.full_shape = image.shape[:2]
        self._reload = reload if reload is not None and image.nbytes > KEEP_FULL_BYTES else None
        self._full = None if self._reload else image
        self.max_side = max_side
        self.original = working_copy(image, max_side)
        self._states = [_State(self.original, np.zeros(self.original.shape[:2], bool))]
        self._digest: bytes | None = None  # the original's, for the probabilities shared across edits
        self._position = 0
        self._dropped = 0  # removals older than the undo stack
        self.origin: dict | None = None  # where the photo came from, as the workbench remembers the desk by
        self._serials = itertools.count(1)

    @property
    def shape(self) -> tuple[int, int]:
        return self.original.shape[:2]

    @property
    def full(self) -> np.ndarray:
        """The photo at its own resolution (decoded again where it is not kept)."""
        return self._full if self._full is not None else self._reload()

    @property
    def edited(self) -> np.ndarray:
        return self._states[self._position].edited

    @property
    def mask(self) -> np.ndarray:
        return self._states[self._position].mask

    @property
    def removals(self) -> int:
        return self._position + (self._dropped if self._position else 0)

    @property
    def can_undo(self) -> bool:
        return self._position > 0

    @property
    def can_redo(self) -> bool:
        return self._position < len(self._states) - 1

    def undo(self) -> None:
        if self.can_undo:
            self._position -= 1

    def redo(self) -> None:
        if self.can_redo:
            self._position += 1

    def reset(self) -> None:
        """Back to the original; the removals stay reachable with redo until a new one is applied."""
        self._position = 0

    @staticmethod
    def _probs(state: _State, classifier: Classifier, preprocess: str) -> np.ndarray:
        """A state's probabilities, computed once per model, weights and preprocessing."""
        key = (classifier.name, classifier.weights_hash, preprocess)
        if key not in state.probs:
            state.probs[key] = classifier.predict([state.edited], preprocess)[0]
        return state.probs[key]

    def original_probs(self, classifier: Classifier, preprocess: str = "squash") -> np.ndarray:
        """The original's probabilities, shared by every edit of the same photo in the process: each visitor of a
        server opens on the same samples, and a new visitor's first answer then costs no classification."""
        state, key = self._states[0], (classifier.name, classifier.weights_hash, preprocess)
        if key not in state.probs:
            if self._digest is None:
                self._digest = hashlib.sha1(self.original.tobytes()).digest()
            state.probs[key] = models().instance(("original probabilities",), lambda: ByteCache(ORIGINALS_BYTES)) \
                .get_or_make((self._digest, *key), lambda: classifier.predict([self.original], preprocess)[0])
        return state.probs[key]

    def current_probs(self, classifier: Classifier, preprocess: str = "squash") -> np.ndarray:
        return self._probs(self._states[self._position], classifier, preprocess)

    def apply(self, mask: np.ndarray, inpainter: Inpainter, classifier: Classifier, *,
              scoring: Scoring = Scoring(), background: bool = False) -> ExperimentRecord:
        """Remove the masked region from the current image, classify, and push the result. With `background`,
        the mask is what to keep: everything else is replaced (by a baseline such as blur or the mean colour;
        the 90% limit, there to stop meaningless inpainting, does not apply to these)."""
        if background:
            keep = fit_mask(mask, self.shape)
            if not keep.any():
                check_mask(keep)  # nothing selected: the same sentence as an empty stroke
            step = ~keep & ~self.mask
            if not step.any():
                raise NothingToRemove("Everything outside that region is already replaced.")
            union = self.mask | step
        else:
            step = check_mask(fit_mask(mask, self.shape))
            union = check_mask(self.mask | step)
        preprocess = scoring.preprocess
        inpainter.prepare()
        before = self.original_probs(classifier, preprocess)

        start = time.perf_counter()
        edited = inpainter(self.edited, step, seed=scoring.seed)
        inpaint_ms = _ms(start)
        start = time.perf_counter()
        after = classifier.predict([edited], preprocess)[0]
        classify_ms = _ms(start)

        del self._states[self._position + 1:]
        self._states.append(_State(edited, union, {(classifier.name, classifier.weights_hash, preprocess): after},
                                   next(self._serials)))
        self._position += 1
        # memory stays bounded: forget the oldest steps, keep the original and the newest
        while len(self._states) > 2 and (len(self._states) > MAX_UNDO + 1 or self._bytes() > UNDO_BYTES):
            del self._states[1]
            self._position -= 1
            self._dropped += 1
        record = make_record(self.name, (self.original, edited, union, step), classifier, (before, after),
                             inpainter=inpainter.name, scoring=scoring,
                             timings_ms={"inpaint": inpaint_ms, "classify": classify_ms})
        record.kind = "background" if background else "removal"
        return record

    def _bytes(self) -> int:
        return sum(state.edited.nbytes + state.mask.nbytes for state in self._states[1:])

    def refined(self, max_side: int) -> EditSession:
        """The same photo, started afresh at another working size (finer detail for zoom), refused once a
        removal is on screen: its pixels were made at this size."""
        if self.can_undo:
            raise ICError("Choose the detail before the first removal: press Reset to go back to the original "
                          "(your removals stay in History), then choose it.")
        refined = EditSession(self.full, self.name, max_side, reload=self._reload)
        refined.origin = self.origin
        return refined

    @classmethod
    def resume(cls, name: str, original: np.ndarray, edited: np.ndarray, mask: np.ndarray) -> EditSession:
        """Continue editing a stored experiment: its edited image is the current state, Undo goes to the original."""
        session = cls(original, name, max_side=max(original.shape[:2]))
        session._states.append(_State(edited, np.asarray(mask, bool), serial=next(session._serials)))
        session._position = 1
        return session

    @property
    def serial(self) -> int:
        """The serial of the state on screen (0: the original)."""
        return self._states[self._position].serial

    def snapshot(self) -> EditSnapshot:
        return EditSnapshot(self.id, self.name, self.max_side, [(s.serial, s.edited, s.mask) for s in self._states[1:]],
                            self._position, self._dropped)

    @classmethod
    def restore(cls, image: np.ndarray, snapshot: EditSnapshot, reload: Callable[[], np.ndarray] | None = None
                ) -> EditSession:
        """The edit a snapshot describes, over its photo; refused when the photo's working copy no longer
        matches the stored states (a photo changed on disk, or another working size)."""
        session = cls(image, snapshot.name, snapshot.max_side, reload=reload)
        for serial, edited, mask in snapshot.steps:
            if edited.shape != session.original.shape or mask.shape != session.shape:
                raise ValueError(f"a stored state is {edited.shape[1]}x{edited.shape[0]}, the photo's working copy "
                                 f"{session.shape[1]}x{session.shape[0]}")
            session._states.append(_State(edited, np.asarray(mask, bool), serial=serial))
        session.id = snapshot.id
        session._position = min(max(snapshot.position, 0), len(session._states) - 1)
        session._dropped = max(snapshot.dropped, 0)
        last = max((serial for serial, _, _ in snapshot.steps), default=0)
        session._serials = itertools.count(last + 1)
        return session

    def export(self) -> np.ndarray:
        """The edited image at the original file's full resolution."""
        return export_full_resolution(self.full, self.edited, self.mask)

    def export_mask(self) -> np.ndarray:
        """The union of removals at full resolution."""
        return resize_mask(self.mask, self.full_shape)
