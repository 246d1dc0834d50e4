"""How faithful a map is to the model: deletion and insertion curves (RISE, Petsiuk et al. 2018).

Cells are taken in the map's order of importance (ties in a seeded random order, never by position).
Deletion replaces them, most important first, with the image's mean colour (RISE's constant); insertion
starts from a blurred copy and restores them in the same order. Each curve follows the class's probability;
its AUC is the mean probability over the share of the image removed (restored), so it lies in [0, 1]. A
faithful map has a low deletion AUC (the class drops fast) and a high insertion AUC (it comes back fast).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ic.classifiers import Classifier
from ic.explain.grid import cell_ids, check_grid

STEPS = 16


@dataclass
class Curve:
    kind: str  # "deletion" or "insertion"
    fractions: list[float]  # share of the image removed (restored)
    probs: list[float]  # the class's probability at each step
    auc: float


def blurred(image: np.ndarray) -> np.ndarray:
    """Insertion's start: detail gone, colours kept."""
    sigma = max(image.shape[:2]) / 32
    return cv2.GaussianBlur(image, (0, 0), sigmaX=sigma, sigmaY=sigma)


def _curve(classifier: Classifier, kind: str, start: np.ndarray, end: np.ndarray, class_index: int, order: list[int],
           grid: int, preprocess: str, steps: int) -> Curve:
    from ic.explain.maps import BATCH

    ids = cell_ids(start.shape[:2], check_grid(grid))
    cuts = [0] + sorted({round(len(order) * i / steps) for i in range(1, steps + 1)})
    images, fractions = [], []
    for cut in cuts:
        changed = np.isin(ids, order[:cut])
        images.append(np.where(changed[..., None], end, start))
        fractions.append(float(changed.mean()))
    probs = [float(p) for batch in range(0, len(images), BATCH)
             for p in classifier.predict(images[batch:batch + BATCH], preprocess)[:, class_index]]
    span = fractions[-1] - fractions[0]
    auc = float(np.trapezoid(probs, fractions) / span) if span > 0 else probs[0]
    return Curve(kind, fractions, probs, auc)


def deletion_curve(classifier: Classifier, image: np.ndarray, class_index: int, order: list[int], grid: int, *,
                   preprocess: str = "squash", steps: int = STEPS) -> Curve:
    """Cells in `order` replaced by the mean colour, a growing share at each step."""
    constant = np.broadcast_to(image.reshape(-1, 3).mean(0).round().astype(np.uint8), image.shape)
    return _curve(classifier, "deletion", image, constant, class_index, order, grid, preprocess, steps)


def insertion_curve(classifier: Classifier, image: np.ndarray, class_index: int, order: list[int], grid: int, *,
                    preprocess: str = "squash", steps: int = STEPS) -> Curve:
    """From the blurred image, cells in `order` restored, a growing share at each step."""
    return _curve(classifier, "insertion", blurred(image), image, class_index, order, grid, preprocess, steps)
