"""Select an object by clicking, offline and without weights: a box (or a click) around it, GrabCut proposes its
mask, and clicks on the object or on the background correct it.

GrabCut models the object and the background with colour mixtures. A grey photo (camera.png) or an object the
colour of its surroundings gives it little to go on, so it runs on features rather than raw colour: lightness,
the main chroma direction, and local texture (the standard deviation of lightness around each pixel), which
tells a smooth tripod leg from grass. A corrective click marks the SLIC superpixel under it (scikit-image) as
surely object or surely background, so one click settles a whole region rather than a few pixels.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from ic.errors import ICError
from ic.images import resize_mask

ITERATIONS = 5
TEXTURE_SIDE = 5  # pixels a side of the window the texture feature is measured over
SUPERPIXELS = 300  # per image; a click settles one of them
CLICK_RADIUS = 6  # pixels always marked around a click, also where a superpixel is huge
SIDE = 512  # GrabCut runs on a copy at most this large (seconds grow with the pixels); the mask is scaled back


@dataclass
class Selection:
    """A proposed object mask and what it was made from, to correct or grow."""

    box: tuple[int, int, int, int]  # left, top, right, bottom (exclusive), working-image pixels
    mask: np.ndarray
    clicks: list = field(default_factory=list)  # (x, y, is_object)
    grown: int = 0  # pixels grown (negative: shrunk)

    @property
    def share(self) -> float:
        return float(self.mask.mean())


def _normalised(channel: np.ndarray) -> np.ndarray:
    low, high = float(channel.min()), float(channel.max())
    if high - low < 1e-6:
        return np.zeros(channel.shape, np.uint8)
    return ((channel - low) * (255.0 / (high - low))).astype(np.uint8)


def features(image: np.ndarray) -> np.ndarray:
    """An 8-bit three-channel image GrabCut can model: lightness, main chroma direction, local texture."""
    lab = cv2.cvtColor(image, cv2.COLOR_RGB2LAB).astype(np.float32)
    lightness = lab[..., 0]
    chroma = lab[..., 1:].reshape(-1, 2)
    chroma = chroma - chroma.mean(0)
    _, _, axes = np.linalg.svd(chroma[:: max(1, len(chroma) // 20000)], full_matrices=False)
    main_chroma = (chroma @ axes[0]).reshape(lightness.shape)
    mean = cv2.blur(lightness, (TEXTURE_SIDE, TEXTURE_SIDE))
    texture = np.sqrt(np.maximum(cv2.blur(lightness * lightness, (TEXTURE_SIDE, TEXTURE_SIDE)) - mean * mean, 0))
    return np.dstack([_normalised(lightness), _normalised(main_chroma), _normalised(texture)])


def _superpixels(image: np.ndarray) -> np.ndarray:
    from skimage.segmentation import slic

    return slic(image, n_segments=SUPERPIXELS, compactness=10, start_label=0, channel_axis=-1)


def _check_box(box, shape) -> tuple[int, int, int, int]:
    height, width = shape
    left, top, right, bottom = (int(v) for v in box)
    left, right = max(0, min(left, right)), min(width, max(left, right))
    top, bottom = max(0, min(top, bottom)), min(height, max(top, bottom))
    if right - left < 4 or bottom - top < 4:
        raise ICError("Drag a box around the object (a few pixels are not enough to tell it from its surroundings).")
    if (right - left) * (bottom - top) > 0.95 * width * height:
        raise ICError("The box covers the whole photo; drag one around the object alone.")
    return left, top, right, bottom


def propose(image: np.ndarray, box, clicks=(), seed: int = 0) -> Selection:
    """The object inside `box` (left, top, right, bottom), corrected by `clicks` [(x, y, is_object)]."""
    box = _check_box(box, image.shape[:2])
    scale = min(1.0, SIDE / max(image.shape[:2]))
    if scale < 1:

        small = cv2.resize(image, (round(image.shape[1] * scale), round(image.shape[0] * scale)),
                           interpolation=cv2.INTER_AREA)
        found = propose(small, [v * scale for v in box], [(x * scale, y * scale, o) for x, y, o in clicks], seed)
        return Selection(box, resize_mask(found.mask, image.shape[:2]), list(clicks))
    left, top, right, bottom = box
    cv2.setRNGSeed(seed)
    feature_image = features(image)
    labels = np.full(image.shape[:2], cv2.GC_BGD, np.uint8)
    labels[top:bottom, left:right] = cv2.GC_PR_FGD
    background, foreground = np.zeros((1, 65)), np.zeros((1, 65))
    cv2.grabCut(feature_image, labels, (left, top, right - left, bottom - top), background, foreground, ITERATIONS,
                cv2.GC_INIT_WITH_RECT)
    if clicks:
        segments = _superpixels(image)
        for x, y, is_object in clicks:
            x, y = int(np.clip(x, 0, image.shape[1] - 1)), int(np.clip(y, 0, image.shape[0] - 1))
            value = cv2.GC_FGD if is_object else cv2.GC_BGD
            labels[segments == segments[y, x]] = value
            cv2.circle(labels, (x, y), CLICK_RADIUS, int(value), -1)
        cv2.grabCut(feature_image, labels, None, background, foreground, ITERATIONS, cv2.GC_INIT_WITH_MASK)
    mask = (labels == cv2.GC_FGD) | (labels == cv2.GC_PR_FGD)
    return Selection(box, mask, list(clicks))


def grow(selection: Selection, pixels: int) -> Selection:
    """The selection grown by `pixels` (shrunk when negative): removals look better with a margin."""
    if pixels == 0:
        return selection
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * abs(pixels) + 1, 2 * abs(pixels) + 1))
    operation = cv2.dilate if pixels > 0 else cv2.erode
    mask = operation(selection.mask.astype(np.uint8), kernel).astype(bool)
    return Selection(selection.box, mask, selection.clicks, selection.grown + pixels)
