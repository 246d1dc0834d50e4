"""The grid every map is compared on: cells, their order of importance, and the region a map rates highest.

Ties never decide: cells tied at one value (the zeros of a rectified CAM, say) are ordered by a seeded shuffle,
never by position, and a tie group that does not fit a region whole is left out of it rather than taken in
reading order.
"""

from __future__ import annotations

import numpy as np

from ic.errors import ICError
from ic.images import resize_mask, working_copy

GRID_RANGE = (4, 16)
DEFAULT_GRID = 8
EXPLAIN_SIDE = 384  # maps are computed on a copy at most this large: the classifier sees 224-260 px anyway


def check_grid(n: int) -> int:
    if not GRID_RANGE[0] <= n <= GRID_RANGE[1]:
        raise ICError(f"The grid must be {GRID_RANGE[0]} to {GRID_RANGE[1]} cells a side (got {n}).")
    return n


def explain_copy(image: np.ndarray) -> np.ndarray:
    """The image maps are computed on: the working copy scaled to at most EXPLAIN_SIDE."""
    return working_copy(image, EXPLAIN_SIDE)


def cell_box(row: int, col: int, n: int, shape: tuple[int, int]) -> tuple[int, int, int, int]:
    height, width = shape
    return row * height // n, col * width // n, (row + 1) * height // n, (col + 1) * width // n


def cell_ids(shape: tuple[int, int], n: int) -> np.ndarray:
    """HxW array of cell numbers 0..n*n-1, row-major."""
    height, width = shape
    rows = np.minimum(np.arange(height) * n // height, n - 1)
    cols = np.minimum(np.arange(width) * n // width, n - 1)
    return rows[:, None] * n + cols[None, :]


def cells_mask(cells, shape: tuple[int, int], n: int) -> np.ndarray:
    """The pixels of the given cell numbers, over an image of `shape` (any resolution: cells are relative)."""
    return np.isin(cell_ids(shape, n), list(cells))


def cell_means(heatmap: np.ndarray, n: int) -> np.ndarray:
    ids = cell_ids(heatmap.shape, n)
    sums = np.bincount(ids.ravel(), weights=heatmap.ravel(), minlength=n * n)
    counts = np.bincount(ids.ravel(), minlength=n * n)
    return (sums / np.maximum(counts, 1)).reshape(n, n)


def cells_peak(cells: np.ndarray, shape: tuple[int, int]) -> tuple[int, int]:
    """(x, y) centre of the strongest cell of an n x n map over an image of `shape`."""
    n = cells.shape[0]
    row, col = np.unravel_index(int(np.argmax(cells)), cells.shape)
    top, left, bottom, right = cell_box(row, col, n, shape)
    return int((left + right) // 2), int((top + bottom) // 2)


def ranked(values: np.ndarray, seed: int = 0) -> list[int]:
    """Indices from the highest value to the lowest; equal values in a seeded random order, not by position."""
    flat = np.asarray(values, float).ravel()
    shuffled = np.random.default_rng(seed).permutation(flat.size)
    return [int(i) for i in shuffled[np.argsort(-flat[shuffled], kind="stable")]]


def top_region(heatmap: np.ndarray, fraction: float) -> np.ndarray:
    """The pixels the map rates highest, at most `fraction` of them. Where the cut falls inside a group of
    pixels tied at one value, that whole group is left out: the region is then smaller, never filled by
    position."""
    flat = np.asarray(heatmap, float).ravel()
    count = int(round(np.clip(fraction, 0, 1) * flat.size))
    if count == 0:
        return np.zeros(heatmap.shape, bool)
    threshold = np.partition(flat, flat.size - count)[flat.size - count]  # the count-th highest value
    region = flat >= threshold if (flat >= threshold).sum() <= count else flat > threshold
    return region.reshape(heatmap.shape)


def chance_iou(share: float, other: float | None = None) -> float:
    """The expected IoU of two randomly scattered sets of pixels covering `share` and `other` (by default the
    same) of the image: ab / (a + b - ab), which is a / (2 - a) for equal areas. A region of a map's shape,
    placed at random, scores 12-18% more on average (`iou_scores` gives that mean and its p-value)."""
    a = float(np.clip(share, 0, 1))
    b = a if other is None else float(np.clip(other, 0, 1))
    return a * b / (a + b - a * b) if a and b else 0.0


def mask_iou(mask: np.ndarray, heatmap: np.ndarray) -> float:
    """IoU of the user's removed region with the model's most important region of (at most) the same area."""
    mask = resize_mask(np.asarray(mask, bool), heatmap.shape)
    if not mask.any():
        return 0.0
    region = top_region(heatmap, float(mask.mean()))
    return float((mask & region).sum() / (mask | region).sum())


def placement_ious(mask: np.ndarray, region: np.ndarray) -> np.ndarray:
    """IoU of `mask` with `region` moved by every shift (dy, dx), wrapping at the image's edges: all H x W
    placements at once, their intersections as a circular cross-correlation by FFT. Entry (0, 0) is the
    region where it is."""
    a, b = np.asarray(mask, float), np.asarray(region, float)
    intersections = np.rint(np.fft.ifft2(np.fft.fft2(a) * np.conj(np.fft.fft2(b))).real)
    unions = a.sum() + b.sum() - intersections
    return np.divide(intersections, unions, out=np.zeros_like(unions), where=unions > 0)


def iou_scores(mask: np.ndarray, heatmap: np.ndarray) -> dict:
    """The IoU of the user's region with the map's top region, and what chance gives:

    - `iou_chance`: two scattered random sets of the two regions' real areas (the top region is smaller than
      the mask when tied values are left out of it);
    - `iou_placements`, `iou_placement_mean`, `iou_p`: the map's own top region moved to every other place on
      the image (every shift, wrapping at the edges), the mean IoU there, and the share of placements that
      score at least the observed IoU (the observed one included, so p is never 0): a permutation test of
      "the map's region overlaps the removal no better than the same region anywhere else"."""
    mask = resize_mask(np.asarray(mask, bool), heatmap.shape)
    share = float(mask.mean())
    if not mask.any():
        return {"iou": 0.0, "iou_chance": 0.0, "iou_p": None, "iou_placements": 0, "iou_placement_mean": None,
                "region_share": 0.0, "mask_share": 0.0}
    region = top_region(heatmap, share)
    ious = placement_ious(mask, region)
    observed = float(ious[0, 0])
    return {"iou": observed, "iou_chance": chance_iou(share, float(region.mean())),
            "iou_p": float((ious >= observed - 1e-12).mean()), "iou_placements": int(ious.size),
            "iou_placement_mean": float(ious.mean()), "region_share": float(region.mean()), "mask_share": share}
