"""How faithful a map is to the model: deletion and insertion curves (Petsiuk et al. 2018, "RISE"), by two
definitions that are named wherever an AUC is shown:

- `cells` (this app's, fast, the default): the map's grid cells in its order of importance (ties in a seeded
  random order, never by position), one cell a step (grid x grid + 1 points). Deletion replaces them, most
  important first, with the image's own mean colour; insertion starts from a copy blurred with sigma =
  side / 32 and restores them. On the map's copy (at most 384 px a side), classified as the page classifies.
- `rise` (RISE's evaluation code, `CausalMetric` in github.com/eclique/RISE, evaluation.py): pixels of the model
  input (the photo squashed to the input size) ranked by the map upsampled to it (np.argsort, descending),
  224 pixels a step (224 steps at 224 x 224: 225 points); deletion sets them to zero in the normalised input
  (the normalisation mean colour), insertion starts from the input blurred by an 11 x 11 Gaussian kernel of
  sigma 5 (zero padding in the normalised input) and restores them; AUC by RISE's trapezoid over equal steps.
  Every frame stays in those normalised floats, classified by the PyTorch model, as RISE's code does.
  Numbers compare with published ones; the fills account for most of the difference from `cells`.

Each curve follows the class's probability; its AUC is the mean probability over the share of the image
removed (restored), so it lies in [0, 1]. A faithful map has a low deletion AUC (the class drops fast) and a
high insertion AUC (it comes back fast).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image

from ic.classifiers import Classifier
from ic.explain.grid import cell_ids, check_grid
from ic.explain.maps import BATCH

DEFINITIONS = {"cells": "this app's: grid cells one a step, the image's mean colour, a sigma side/32 blur",
               "rise": "RISE's evaluation code: input pixels 224 a step, the normalisation mean, an 11x11 sigma-5 blur"}
RISE_STEP = 224  # pixels a step, as RISE's CausalMetric(step=224)
RISE_KERNEL, RISE_SIGMA = 11, 5


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


def _curve(classifier: Classifier, kind: str, ends: tuple[np.ndarray, np.ndarray], class_index: int,
           order: list[int], grid: int, preprocess: str, steps: int | None) -> Curve:
    """The class's probability as cells in `order` go from the first image of `ends` to the second."""
    start, end = ends
    ids = cell_ids(start.shape[:2], check_grid(grid))
    steps = steps or len(order)  # one cell a step
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
                   preprocess: str = "squash", steps: int | None = None) -> Curve:
    """Cells in `order` replaced by the mean colour, a growing share at each step."""
    constant = np.broadcast_to(image.reshape(-1, 3).mean(0).round().astype(np.uint8), image.shape)
    return _curve(classifier, "deletion", (image, constant), class_index, order, grid, preprocess, steps)


def insertion_curve(classifier: Classifier, image: np.ndarray, class_index: int, order: list[int], grid: int, *,
                    preprocess: str = "squash", steps: int | None = None) -> Curve:
    """From the blurred image, cells in `order` restored, a growing share at each step."""
    return _curve(classifier, "insertion", (blurred(image), image), class_index, order, grid, preprocess, steps)


def rise_kernel(size: int = RISE_KERNEL, sigma: float = RISE_SIGMA) -> np.ndarray:
    """RISE's `gkern`: a unit impulse filtered by scipy's Gaussian of `sigma` (its default truncation and
    reflection), as its evaluation code builds it."""
    from scipy.ndimage import gaussian_filter  # a fifth of a second to import: only for RISE's curves

    impulse = np.zeros((size, size))
    impulse[size // 2, size // 2] = 1
    return gaussian_filter(impulse, sigma)


def rise_curves(classifier: Classifier, image: np.ndarray, class_index: int, heatmap: np.ndarray, *,
                step: int = RISE_STEP) -> dict[str, Curve]:
    """Deletion and insertion as RISE's evaluation code defines them (see the module's docstring), on the photo
    squashed to the classifier's input size. Every frame is made and classified in the normalised floats RISE uses
    (Classifier.predict_normalised): rounded to 8-bit pixels, the blurred start moved insertion AUCs by up to 0.03."""
    _, height, width = classifier.data_config["input_size"]
    mean = np.asarray(classifier.data_config["mean"], np.float32)
    std = np.asarray(classifier.data_config["std"], np.float32)

    resample = {"bilinear": Image.BILINEAR, "nearest": Image.NEAREST}.get(classifier.data_config.get("interpolation"),
                                                                          Image.BICUBIC)
    x = np.asarray(Image.fromarray(image).resize((width, height), resample))  # squashed as timm resizes
    normalised = ((x / np.float32(255.0) - mean) / std).astype(np.float32)
    blurred_input = np.stack([cv2.filter2D(normalised[..., c], -1, rise_kernel().astype(np.float32),
                                           borderType=cv2.BORDER_CONSTANT) for c in range(3)], axis=-1)
    saliency = cv2.resize(np.asarray(heatmap, np.float32), (width, height), interpolation=cv2.INTER_LINEAR)
    order = np.flip(np.argsort(saliency.reshape(-1)))  # RISE: np.flip(np.argsort(explanation), axis=-1)
    pixels = height * width
    n_steps = (pixels + step - 1) // step
    curves = {}
    for kind, start, finish in (("deletion", normalised, np.zeros_like(normalised)),  # the mean: 0 once normalised
                                ("insertion", blurred_input, normalised)):
        current, finish, probs, frames = start.reshape(-1, 3).copy(), finish.reshape(-1, 3), [], []
        for i in range(n_steps + 1):
            frames.append(current.reshape(height, width, 3).copy())
            if i < n_steps:
                coords = order[step * i:step * (i + 1)]
                current[coords] = finish[coords]
            if len(frames) == BATCH or i == n_steps:  # classified a batch at a time: 225 frames are 135 MB
                probs.append(classifier.predict_normalised(np.stack(frames))[:, class_index])
                frames = []
        probs = np.concatenate(probs).astype(float)
        auc = float((probs.sum() - probs[0] / 2 - probs[-1] / 2) / (len(probs) - 1))  # RISE's auc()
        fractions = [min(1.0, step * i / pixels) for i in range(n_steps + 1)]
        curves[kind] = Curve(kind, fractions, probs.tolist(), auc)
    return curves
