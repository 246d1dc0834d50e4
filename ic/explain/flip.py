"""The smallest removal that changes the answer: a counterfactual a person can read ("the model calls it a
tripod because of these 6%").

Cells of the grid are removed one more at a time, each step inpainted from the original with the chosen
inpainter, until the top-1 class changes or half the image is gone. Flipping is not monotonic in the number
of cells, so every prefix is tried in turn (no binary search). Two orders:

- the map's: its cells from most to least important (ties in a seeded random order, never by position);
- adaptive: after each removal the remaining cells are re-ranked by the drop of the original class each one
  causes now (each candidate drawn with a fast Telea infill of that cell, all of them classified in batches),
  which finds evidence that is redundant (three tripod legs: each alone matters little).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ic.classifiers import Classifier
from ic.explain.grid import cell_ids, check_grid
from ic.explain.maps import BATCH, occlusion_baseline
from ic.inpaint import Inpainter, get_inpainter
from ic.watch import UNWATCHED, Watch

BUDGET = 0.5  # at most this share of the image is removed (ic.explain.cost counts the same budget)
ORDERS = {"map": "the map's order", "adaptive": "adaptive order"}


@dataclass
class Flip:
    order: str  # "map" or "adaptive"
    grid: int
    cells: list[int]  # cell numbers, row-major, in the order removed
    share: float  # the removed cells' share of the image's pixels
    mask: np.ndarray  # over the image searched
    edited: np.ndarray
    to: dict  # the new top-1: index, label, prob
    tried: int  # classifications it took

    def rows_cols(self) -> list[list[int]]:
        return [[cell // self.grid, cell % self.grid] for cell in self.cells]


def _limit(ids: np.ndarray, n: int, budget: float) -> int:
    """How many cells fit in the budget (cells differ by a pixel row at most, so any k cells weigh alike)."""
    share = np.bincount(ids.ravel(), minlength=n * n).max() / ids.size
    return max(1, int(budget / share + 1e-9))


FRAGILE_MARGIN = 0.05  # a new top-1 that leads the runner-up by less than this (5 points) is a coin toss


def margin_of(probs: np.ndarray) -> tuple[float, int]:
    """How far the top-1 leads the runner-up (a share), and the runner-up's index."""
    first, second = np.argsort(-np.asarray(probs), kind="stable")[:2]
    return float(probs[first] - probs[second]), int(second)


def is_fragile(margin: float | None) -> bool:
    return margin is not None and margin < FRAGILE_MARGIN


def _found(classifier, order, grid, cells, mask, edited, probs, tried) -> Flip:
    to = int(probs.argmax())
    margin, runner_up = margin_of(probs)
    return Flip(order, grid, list(cells), float(mask.mean()), mask, edited,
                {"index": to, "label": classifier.labels[to], "prob": float(probs[to]), "margin": margin,
                 "runner_up": {"index": runner_up, "label": classifier.labels[runner_up],
                               "prob": float(probs[runner_up])}}, tried)


def search_in_order(classifier: Classifier, image: np.ndarray, order: list[int], grid: int, infill: Inpainter, *,
                    preprocess: str = "squash", budget: float = BUDGET, watch: Watch = UNWATCHED) -> Flip | None:
    """The shortest prefix of `order` whose removal changes the top-1, or None within the budget."""
    n = check_grid(grid)
    ids = cell_ids(image.shape[:2], n)
    top = int(classifier.predict([image], preprocess)[0].argmax())
    limit = min(len(order), _limit(ids, n, budget))
    infill.prepare()
    tried = 1
    for first in range(1, limit + 1, BATCH):
        watch.check()
        counts = range(first, min(limit, first + BATCH - 1) + 1)
        masks = [np.isin(ids, order[:count]) for count in counts]
        edits = [infill(image, mask, seed=0) for mask in masks]
        probs = classifier.predict(edits, preprocess)
        tried += len(edits)
        for count, mask, edited, row in zip(counts, masks, edits, probs):
            if int(row.argmax()) != top:
                return _found(classifier, "map", n, order[:count], mask, edited, row, tried)
        watch.report(counts[-1] / limit)
    return None


def search_adaptive(classifier: Classifier, image: np.ndarray, grid: int, infill: Inpainter, *,
                    preprocess: str = "squash", budget: float = BUDGET, watch: Watch = UNWATCHED) -> Flip | None:
    """Cells chosen one at a time by the drop they cause now; None when half the image never flips it."""

    n = check_grid(grid)
    ids = cell_ids(image.shape[:2], n)
    top = int(classifier.predict([image], preprocess)[0].argmax())
    limit = _limit(ids, n, budget)
    infill.prepare()
    candidates_from = occlusion_baseline(image, n, get_inpainter("telea"))  # each cell's own fast infill
    current, chosen, tried = image, [], 1
    while len(chosen) < limit:
        remaining = [cell for cell in range(n * n) if cell not in chosen]
        drops = []
        for start in range(0, len(remaining), BATCH):
            watch.check()
            part = remaining[start:start + BATCH]
            batch = [np.where((ids == cell)[..., None], candidates_from, current) for cell in part]
            drops.extend(classifier.predict(batch, preprocess)[:, top])
            tried += len(part)
        chosen.append(remaining[int(np.argmin(drops))])  # the lowest probability left for the original class
        mask = np.isin(ids, chosen)
        current = infill(image, mask, seed=0)
        probs = classifier.predict([current], preprocess)[0]
        tried += 1
        if int(probs.argmax()) != top:
            return _found(classifier, "adaptive", n, chosen, mask, current, probs, tried)
        watch.report(len(chosen) / limit)
    return None
