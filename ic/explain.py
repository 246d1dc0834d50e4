"""What the model looks at: class activation maps, inpainting occlusion maps, and how to compare them.

- CAMs come from the `grad-cam` package (Grad-CAM, Grad-CAM++, Score-CAM). The
  hooks go on a per-call copy of the model, never on the shared one, so two
  sessions' hooks cannot meet and nothing is left behind.
- The occlusion map removes each grid cell on its own with an inpainter
  ("what does the model need?", after FIDO, Chang et al. 2019) and reports the
  drop of the class's probability. Captum's FeatureAblation does the loop and
  the batching: the baseline image holds, in each cell, that cell's own infill.
- Maps are comparable with the user's removals (IoU with the model's top
  region of the same area) and by a deletion curve: the class's probability as
  the most important cells are removed in order, and its area.

Every map is an HxW float array in [0, 1] over the image it was computed on.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np

from ic.classifiers import Classifier
from ic.errors import Cancelled, ICError
from ic.inpaint import Inpainter

# Score-CAM draws a tqdm progress bar on stderr for every map; our own progress is the page's.
os.environ.setdefault("TQDM_DISABLE", "1")

CAM_METHODS = {"gradcam": "Grad-CAM", "gradcampp": "Grad-CAM++", "scorecam": "Score-CAM"}
METHODS = {**CAM_METHODS, "occlusion": "Occlusion by inpainting"}
GRID_RANGE = (4, 16)
DEFAULT_GRID = 8
DEFAULT_INFILL = "telea"
# The deletion curve removes growing regions; blur is the standard perturbation for it (Petsiuk et al. 2018):
# diffusion infills smear large holes into new shapes the classifier can read as evidence.
DELETION_INFILL = "blur"
EXPLAIN_SIDE = 384  # maps are computed on a copy at most this large: the classifier sees 224-260 px anyway
BATCH = 8  # a batch of 16 took 300 MB more peak memory in ONNX Runtime for no gain in speed

Progress = Callable[[float], None]


@dataclass
class Explanation:
    method: str
    class_index: int
    label: str
    heatmap: np.ndarray  # HxW in [0, 1], over the image passed in
    grid: np.ndarray | None = None  # NxN in [0, 1] for occlusion maps

    def cells(self, n: int) -> np.ndarray:
        """The map as an n x n grid of cell means (occlusion maps: the grid itself)."""
        if self.grid is not None and self.grid.shape == (n, n):
            return self.grid
        return cell_means(self.heatmap, n)

    def peak(self) -> tuple[int, int]:
        """(x, y) of the centre of the strongest cell, in the pixels of the image the map was computed on."""
        return cells_peak(map_cells(self), self.heatmap.shape)


# --- grid geometry ------------------------------------------------------------------------------

def cell_box(row: int, col: int, n: int, shape: tuple[int, int]) -> tuple[int, int, int, int]:
    height, width = shape
    return row * height // n, col * width // n, (row + 1) * height // n, (col + 1) * width // n


def cell_ids(shape: tuple[int, int], n: int) -> np.ndarray:
    """HxW array of cell numbers 0..n*n-1, row-major."""
    height, width = shape
    rows = np.minimum(np.arange(height) * n // height, n - 1)
    cols = np.minimum(np.arange(width) * n // width, n - 1)
    return rows[:, None] * n + cols[None, :]


def cell_means(heatmap: np.ndarray, n: int) -> np.ndarray:
    ids = cell_ids(heatmap.shape, n)
    sums = np.bincount(ids.ravel(), weights=heatmap.ravel(), minlength=n * n)
    counts = np.bincount(ids.ravel(), minlength=n * n)
    return (sums / np.maximum(counts, 1)).reshape(n, n)


def _check_grid(n: int) -> int:
    if not GRID_RANGE[0] <= n <= GRID_RANGE[1]:
        raise ICError(f"The grid must be {GRID_RANGE[0]} to {GRID_RANGE[1]} cells a side (got {n}).")
    return n


def explain_copy(image: np.ndarray) -> np.ndarray:
    """The image maps are computed on: the working copy scaled to at most EXPLAIN_SIDE."""
    from ic.images import working_copy

    return working_copy(image, EXPLAIN_SIDE)


# --- class activation maps --------------------------------------------------------------------

def _target_layer(model):
    """The last feature stage of a timm CNN, or the last block's norm of a ViT-like token model."""
    if hasattr(model, "blocks") and hasattr(model, "num_prefix_tokens") and hasattr(model.blocks[-1], "norm1"):
        return model.blocks[-1].norm1, _token_reshape(model.num_prefix_tokens)
    info = getattr(model, "feature_info", None)
    if info:
        last = info[-1]["module"] if isinstance(info, list) else info.module_name()[-1]
        return model.get_submodule(last), None
    raise ICError(f"No activation-map layer is known for {type(model).__name__}; use the occlusion map instead.")


def _token_reshape(prefix: int):
    def reshape(tensor):
        tokens = tensor[:, prefix:, :]
        side = int(round(tokens.shape[1] ** 0.5))
        return tokens.reshape(tensor.shape[0], side, side, tokens.shape[2]).permute(0, 3, 1, 2)

    return reshape


def _to_image(small: np.ndarray, shape: tuple[int, int], box: tuple[int, int, int, int]) -> np.ndarray:
    """A map over the classifier's input placed back on the image: the crop box, zero outside."""
    top, left, bottom, right = box
    heatmap = np.zeros(shape, np.float32)
    heatmap[top:bottom, left:right] = cv2.resize(small.astype(np.float32), (right - left, bottom - top),
                                                 interpolation=cv2.INTER_LINEAR)
    return np.clip(heatmap, 0, 1)


def activation_map(classifier: Classifier, image: np.ndarray, class_index: int, method: str = "gradcam",
                   preprocess: str = "squash") -> Explanation:
    """A CAM for one class over `image`, computed on a private copy of the model."""
    import torch
    from pytorch_grad_cam import GradCAM, GradCAMPlusPlus, ScoreCAM
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

    cams = {"gradcam": GradCAM, "gradcampp": GradCAMPlusPlus, "scorecam": ScoreCAM}
    if method not in cams:
        raise ICError(f"Unknown map method {method!r}; choose one of {', '.join(METHODS)}.")
    from ic.compute import slot

    model = copy.deepcopy(classifier.model)  # hooks go on this copy; the shared model never sees one
    model.requires_grad_(False)  # gradients flow from the input instead: no weight gradients to hold
    layer, reshape = _target_layer(model)
    batch = classifier.input_tensor([image], preprocess).to(next(model.parameters()).device).requires_grad_(True)
    with slot(), torch.enable_grad(), cams[method](model=model, target_layers=[layer],
                                                   reshape_transform=reshape) as cam:
        if method == "scorecam":
            cam.batch_size = BATCH
        small = cam(input_tensor=batch, targets=[ClassifierOutputTarget(class_index)])[0]
    del model, cam
    heatmap = _to_image(small, image.shape[:2], classifier.crop_box(image.shape, preprocess))
    return Explanation(method, class_index, classifier.labels[class_index], heatmap)


# --- occlusion by inpainting ------------------------------------------------------------------

def occlusion_baseline(image: np.ndarray, n: int, infill: Inpainter, seed: int = 0) -> np.ndarray:
    """An image whose every cell holds what the infill puts there when that cell alone is removed."""
    baseline = image.copy()
    ids = cell_ids(image.shape[:2], n)
    for cell in range(n * n):
        mask = ids == cell
        baseline[mask] = infill(image, mask, seed=seed + cell)[mask]
    return baseline


def occlusion_map(classifier: Classifier, image: np.ndarray, class_index: int, *, grid: int = DEFAULT_GRID,
                  infill: Inpainter, preprocess: str = "squash", seed: int = 0, progress: Progress | None = None,
                  cancelled: Callable[[], bool] | None = None) -> Explanation:
    """The drop of the class's probability when each cell is removed alone, clipped at 0 and scaled to its max."""
    import torch
    from captum.attr import FeatureAblation

    n = _check_grid(grid)
    infill.prepare()
    baseline = occlusion_baseline(image, n, infill, seed)
    evaluations = {"done": 0, "total": n * n + 1}

    def forward(pixels: torch.Tensor) -> torch.Tensor:
        if cancelled and cancelled():
            raise Cancelled()
        images = [np.ascontiguousarray(p.permute(1, 2, 0).round().clamp(0, 255).byte().numpy()) for p in pixels]
        probs = classifier.predict(images, preprocess)
        evaluations["done"] += len(images)
        if progress:
            progress(min(1.0, evaluations["done"] / evaluations["total"]))
        return torch.from_numpy(probs)

    as_tensor = lambda array: torch.from_numpy(array).permute(2, 0, 1)[None].float()
    ids = cell_ids(image.shape[:2], n)
    feature_mask = torch.from_numpy(ids)[None, None]  # broadcast over the channels
    attribution = FeatureAblation(forward).attribute(
        as_tensor(image), baselines=as_tensor(baseline), target=class_index,
        feature_mask=feature_mask, perturbations_per_eval=BATCH)
    drops = cell_means(attribution[0, 0].numpy(), n)
    drops = np.clip(drops, 0, None)
    grid_map = drops / drops.max() if drops.max() > 0 else drops
    heatmap = grid_map.ravel()[ids].astype(np.float32)
    return Explanation("occlusion", class_index, classifier.labels[class_index], heatmap, grid_map)


def explain(classifier: Classifier, image: np.ndarray, class_index: int, method: str, **options) -> Explanation:
    if method == "occlusion":
        return occlusion_map(classifier, image, class_index, **options)
    return activation_map(classifier, image, class_index, method, options.get("preprocess", "squash"))


def overlay_heatmap(image: np.ndarray, heatmap: np.ndarray, opacity: float = 0.5) -> np.ndarray:
    """The image with the map drawn over it in a perceptual colour scale (blue low, red high)."""
    heat = cv2.resize(heatmap.astype(np.float32), (image.shape[1], image.shape[0]), interpolation=cv2.INTER_LINEAR)
    colours = cv2.applyColorMap((np.clip(heat, 0, 1) * 255).astype(np.uint8), cv2.COLORMAP_TURBO)[:, :, ::-1]
    blended = image.astype(np.float32) * (1 - opacity) + colours.astype(np.float32) * opacity
    return blended.round().astype(np.uint8)


def heatmap_from_cells(cells, shape: tuple[int, int], smooth: bool) -> np.ndarray:
    """A stored n x n map back over an image of `shape`: blocky for occlusion grids, smooth for CAMs."""
    cells = np.asarray(cells, np.float32)
    interpolation = cv2.INTER_LINEAR if smooth else cv2.INTER_NEAREST
    return np.clip(cv2.resize(cells, (shape[1], shape[0]), interpolation=interpolation), 0, 1)


def map_cells(explanation: Explanation, limit: int = 64) -> np.ndarray:
    """The map as reported: the occlusion grid itself, or the CAM as cell means, at most `limit` a side."""
    if explanation.grid is not None:
        return explanation.grid
    return cell_means(explanation.heatmap, min(limit, *explanation.heatmap.shape))


def cells_peak(cells: np.ndarray, shape: tuple[int, int]) -> tuple[int, int]:
    """(x, y) centre of the strongest cell of an n x n map over an image of `shape`."""
    n = cells.shape[0]
    row, col = np.unravel_index(int(np.argmax(cells)), cells.shape)
    top, left, bottom, right = cell_box(row, col, n, shape)
    return int((left + right) // 2), int((top + bottom) // 2)


# --- human versus model -------------------------------------------------------------------------

def top_region(heatmap: np.ndarray, fraction: float) -> np.ndarray:
    """The `fraction` of pixels the map rates highest (ties broken by position)."""
    count = int(round(np.clip(fraction, 0, 1) * heatmap.size))
    region = np.zeros(heatmap.size, bool)
    if count:
        region[np.argsort(-heatmap.ravel(), kind="stable")[:count]] = True
    return region.reshape(heatmap.shape)


def mask_iou(mask: np.ndarray, heatmap: np.ndarray) -> float:
    """IoU of the user's removed region with the model's most important region of the same area."""
    from ic.images import resize_mask

    mask = resize_mask(np.asarray(mask, bool), heatmap.shape)
    if not mask.any():
        return 0.0
    region = top_region(heatmap, float(mask.mean()))
    return float((mask & region).sum() / (mask | region).sum())


@dataclass
class DeletionCurve:
    fractions: list[float]  # share of the image removed
    probs: list[float]  # the class's probability at each step
    area: float  # mean probability over the curve (trapezoid): lower means a more faithful order


def deletion_curve(classifier: Classifier, image: np.ndarray, class_index: int, order: list[int], grid: int, *,
                   infill: Inpainter, preprocess: str = "squash", steps: int = 16, seed: int = 0) -> DeletionCurve:
    """Remove the cells in `order`, a growing share at each step, and follow the class's probability."""
    n = _check_grid(grid)
    ids = cell_ids(image.shape[:2], n)
    cuts = sorted({round(len(order) * i / steps) for i in range(1, steps + 1)})
    images, fractions = [image], [0.0]
    for cut in cuts:
        mask = np.isin(ids, order[:cut])
        images.append(infill(image, mask, seed=seed))
        fractions.append(float(mask.mean()))
    probs = [float(p) for batch in range(0, len(images), BATCH)
             for p in classifier.predict(images[batch:batch + BATCH], preprocess)[:, class_index]]
    area = float(np.trapezoid(probs, fractions) / (fractions[-1] - fractions[0]))
    return DeletionCurve(fractions, probs, area)


def importance_order(explanation: Explanation, grid: int) -> list[int]:
    """Cells from most to least important by the map."""
    return [int(i) for i in np.argsort(-explanation.cells(grid).ravel(), kind="stable")]


def explain_edit(classifier: Classifier, original: np.ndarray, class_index: int, methods: list[str], *,
                 edited: np.ndarray | None = None, removed: np.ndarray | None = None, grid: int = DEFAULT_GRID,
                 infill: Inpainter, preprocess: str = "squash", scores: bool = True,
                 progress: Callable[[float, str], None] | None = None,
                 cancelled: Callable[[], bool] | None = None) -> dict:
    """The one explain pipeline, for the page and the CLI: each method's map on the original (and on the
    edited image, for CAMs), and with `scores`, its deletion curve and the IoU with the `removed` region.

    Images are full working copies; maps are computed on copies at most EXPLAIN_SIDE a side. Returns
    {"maps": {method: {"original"|"edited": Explanation}}, "scores": {method: {"iou", "deletion_area"}},
    "curves": {title: DeletionCurve}}. Raises Cancelled between steps when `cancelled()` says so.
    """
    small = explain_copy(original)
    small_edited = explain_copy(edited) if edited is not None else None
    maps, found_scores, curves = {}, {}, {}
    deletion_infill = None
    for step, method in enumerate(methods):
        if method not in METHODS:
            raise ICError(f"There is no map called {method!r}; choose one of {', '.join(METHODS)}.")
        if cancelled and cancelled():
            raise Cancelled()
        report = (lambda done, step=step, method=method: progress(min(1.0, (step + done) / len(methods)),
                                                                  f"{METHODS[method]}…")) if progress else None
        if report:
            report(0)
        if method == "occlusion":
            maps[method] = {"original": occlusion_map(classifier, small, class_index, grid=grid, infill=infill,
                                                      preprocess=preprocess, cancelled=cancelled,
                                                      progress=(lambda done, r=report: r(done * 0.7)) if report else None)}
        else:
            maps[method] = {"original": activation_map(classifier, small, class_index, method, preprocess)}
            if small_edited is not None:
                maps[method]["edited"] = activation_map(classifier, small_edited, class_index, method, preprocess)
        if not scores:
            continue
        if report:
            report(0.8)
        from ic.inpaint import get_inpainter

        deletion_infill = deletion_infill or get_inpainter(DELETION_INFILL)
        first = maps[method]["original"]
        curve = deletion_curve(classifier, small, class_index, importance_order(first, grid), grid,
                               infill=deletion_infill, preprocess=preprocess)
        curves[METHODS[method]] = curve
        has_removal = removed is not None and np.asarray(removed).any()
        found_scores[method] = {"iou": mask_iou(removed, first.heatmap) if has_removal else None,
                                "deletion_area": curve.area}
    return {"maps": maps, "scores": found_scores, "curves": curves}
