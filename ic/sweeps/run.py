"""What a sweep computes for one image, the same wherever it runs (this process or a Ray actor).

For each model the original is classified once; then for each inpainter the masked object is removed
("object" rows), and with `context` everything but the object is replaced by a baseline ("context" rows:
object against context). With `flip`, each object row also gets the smallest share of 8x8 cells whose
removal with that inpainter changes the top-1 (Grad-CAM's order, or the adaptive one).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np

from ic import explain
from ic.classifiers.registry import PREPROCESS_MODES
from ic.errors import ICError
from ic.images import DEFAULT_WORKING_SIDE, check_mask, decode_image, decode_mask, working_copy
from ic.inpaint import baselines, get_inpainter
from ic.select import propose
from ic.sweeps.dataset import Item
from ic.sweeps.formats import box_mask

CONTEXT_FILLS = baselines()  # what may replace a whole background
FLIP_ORDERS = ("map", "adaptive")
FLIP_GRID = 8
KEY = ("image_sha", "object", "model", "inpainter", "mode", "preprocess", "seed")


MAX_SEED = 2**63 - 1  # rows keep the seed as Parquet int64


@dataclass(frozen=True)
class Plan:
    """What to ask of every image. Plain values only: it travels to Ray actors."""
    models: tuple[str, ...]
    inpainters: tuple[str, ...]
    context: bool = False
    context_fill: str = "blur"
    flip: bool = False
    flip_order: str = "map"
    preprocess: str = "squash"
    modes: tuple[str, ...] = ()  # every way of seeing to judge with, as another axis; empty: `preprocess` alone
    seed: int = 0
    max_side: int = DEFAULT_WORKING_SIDE

    def check(self) -> Plan:
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or not 0 <= self.seed <= MAX_SEED:
            raise ICError(f"The seed must be a whole number from 0 to 2**63 - 1 (it is stored as a 64-bit "
                          f"integer); {str(self.seed)[:40]} is not.")

        unknown = [mode for mode in (self.preprocess, *self.modes) if mode not in PREPROCESS_MODES]
        if unknown:
            raise ICError(f"What the classifier sees is one of {', '.join(PREPROCESS_MODES)}, not {unknown[0]!r}.")
        if not self.models or not self.inpainters:
            raise ICError("Choose at least one model and one inpainter for the sweep.")
        if self.context_fill not in CONTEXT_FILLS:
            raise ICError(f"The context is replaced by {' or '.join(CONTEXT_FILLS)}, not {self.context_fill!r}.")
        if self.flip_order not in FLIP_ORDERS:
            raise ICError(f"The flip search goes in the map's order or adaptively ({', '.join(FLIP_ORDERS)}).")
        return self

    def tasks(self) -> list[tuple[str, str, str]]:
        """(model, inpainter, mode) for every row an image gets."""
        found = [(model, inpainter, "object") for model in self.models for inpainter in self.inpainters]
        if self.context:
            found += [(model, self.context_fill, "context") for model in self.models]
        return found

    def key(self, uid: tuple[str, str], model: str, inpainter: str, mode: str) -> tuple:
        """A row's key: the object (its image's hash and which object), the task, and how it was judged."""
        return (*uid, model, inpainter, mode, self.preprocess, int(self.seed))

    def seen(self) -> tuple[str, ...]:
        """The ways of seeing this plan judges with, in order."""
        return tuple(dict.fromkeys(self.modes)) or (self.preprocess,)

    def as_dict(self) -> dict:
        return {**asdict(self), "models": list(self.models), "inpainters": list(self.inpainters),
                "modes": list(self.modes)}

    @classmethod
    def from_dict(cls, values: dict) -> Plan:
        return cls(**{**values, "models": tuple(values["models"]), "inpainters": tuple(values["inpainters"]),
                      "modes": tuple(values.get("modes", ()))})


def _expected(classifier, label: str | None) -> int | None:
    if not label:
        return None
    try:
        return classifier.class_index(label)
    except ICError:
        return None


def _flip_share(classifier, image: np.ndarray, infill, plan: Plan) -> tuple[float | None, float | None]:
    """(the smallest removal's share, the new top-1's lead over the runner-up there), or Nones."""
    small = explain.explain_copy(image)
    found = explain.find_flip(classifier, small, plan.flip_order, FLIP_GRID, infill, preprocess=plan.preprocess)
    return (None, None) if found is None else (round(found.share, 6), round(found.to["margin"], 6))


def _image_and_mask(item: Item, plan: Plan) -> tuple[np.ndarray, np.ndarray]:
    """The working copy and the object's mask over it: the item's mask, or its box (as it is, or GrabCut's
    object in it, the same proposal Explore's "Select an object" makes)."""
    image = working_copy(decode_image(item.image, what=item.name), plan.max_side)
    return image, object_mask(item, image, plan.seed)


def object_mask(item: Item, image: np.ndarray, seed: int = 0) -> np.ndarray:
    """The item's object over `image` (its photo at any working size), checked as every removal's mask is."""
    if item.mask is not None:
        return check_mask(decode_mask(item.mask, image.shape[:2]))
    mask = box_mask(item.box, image.shape[:2])
    if item.mask_from == "grabcut":
        height, width = image.shape[:2]
        left, top, right, bottom = item.box
        mask = propose(image, (left * width, top * height, right * width, bottom * height), seed=seed).mask
    return check_mask(mask)


def _edit(image: np.ndarray, mask: np.ndarray, inpainter, mode: str, plan: Plan) -> np.ndarray:
    """An "object" row's edit removes the object; a "context" row's keeps only it."""
    return inpainter(image, mask if mode == "object" else ~mask, seed=plan.seed)


def remake(item: Item, plan: Plan, inpainter_name: str, mode: str) -> np.ndarray:
    """The edited image a row was judged on, made again the same way (the same pixels: every inpainter is
    deterministic for a seed), for showing it."""
    image, mask = _image_and_mask(item, plan)
    infill = get_inpainter(inpainter_name)
    infill.prepare()
    return _edit(image, mask, infill, mode, plan)


def judge(item: Item, plan: Plan, load: Callable, skip: set | frozenset = frozenset()) -> list[dict]:
    """Rows for one image (those whose key is in `skip` are left out). Raises ICError when the image or
    its mask cannot take part; the caller lists the file as skipped."""
    wanted = [task for task in plan.tasks() if plan.key(item.uid, *task) not in skip]
    if not wanted:
        return []
    image, mask = _image_and_mask(item, plan)
    share = round(float(mask.mean()), 6)
    edits: dict[tuple[str, str], np.ndarray] = {}  # (inpainter, mode): made once, judged by every model

    def edit(inpainter, mode: str) -> np.ndarray:
        if (inpainter.name, mode) not in edits:
            edits[inpainter.name, mode] = _edit(image, mask, inpainter, mode, plan)
        return edits[inpainter.name, mode]

    rows = []
    for model in dict.fromkeys(task[0] for task in wanted):
        classifier = load(model)
        start = time.perf_counter()
        before = classifier.predict([image], plan.preprocess)[0]
        before_s = time.perf_counter() - start
        top = classifier.top_k(before, 1)[0]
        expected = _expected(classifier, item.label)
        for _, inpainter_name, mode in (task for task in wanted if task[0] == model):
            start = time.perf_counter()
            infill = get_inpainter(inpainter_name)
            infill.prepare()
            after = classifier.predict([edit(infill, mode)], plan.preprocess)[0]
            flip, margin = _flip_share(classifier, image, infill, plan) if plan.flip and mode == "object" else (None, None)
            now = classifier.top_k(after, 1)[0]
            rows.append({
                "image": item.name, "image_sha": item.sha, "object": item.object, "category": item.category,
                "object_share": share, "mask_from": item.mask_from, "crowd": item.crowd, "model": model,
                "inpainter": inpainter_name, "mode": mode,
                "preprocess": plan.preprocess, "seed": int(plan.seed),
                "top1_before_index": top["index"], "top1_before_label": top["label"], "top1_before_prob": top["prob"],
                "top1_after_index": now["index"], "top1_after_label": now["label"], "top1_after_prob": now["prob"],
                "changed": now["index"] != top["index"],
                "drop": float(before[top["index"]] - after[top["index"]]),
                "expected_label": item.label, "expected_index": expected,
                "match_before": None if expected is None else top["index"] == expected,
                "match_after": None if expected is None else now["index"] == expected,
                "flip_share": flip,
                "flip_margin": margin,
                "seconds": round(before_s / max(1, len(wanted)) + time.perf_counter() - start, 4),
            })
    return rows
