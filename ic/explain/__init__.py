"""What the model looks at, and how far to trust it.

- methods.py: the registry of map methods, one small class each (name, title, signed, uses_infill,
  compute, seconds): everything that lists or draws maps reads it;
- maps.py: how the maps are made (Grad-CAM, Grad-CAM++, Score-CAM through `grad-cam`; occlusion by inpainting
  through Captum), read in each model's own activation layout;
- grid.py: the cell grid every map is compared on, tie-free orders and regions, IoU with its chance level;
- curves.py: deletion and insertion curves (RISE) and their AUCs;
- flip.py: the smallest removal that changes the answer;
- cost.py: what each of these will take here, said before it runs.

`explain_edit` is the one pipeline for the page and the CLI. Maps kept with an experiment carry
MAP_FORMAT; those of format 1 (before signed occlusion maps) still read correctly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ic.classifiers import Classifier
from ic.explain import methods as _methods  # noqa: F401 - every method registers itself where it is defined
from ic.explain.cost import Estimate, flip_estimate, maps_estimate, scorecam_cost
from ic.explain.curves import DEFINITIONS, Curve, deletion_curve, insertion_curve, rise_curves
from ic.explain.flip import BUDGET, FRAGILE_MARGIN, ORDERS, Flip, is_fragile, margin_of, search_adaptive, search_in_order
from ic.explain.grid import (
    DEFAULT_GRID,
    EXPLAIN_SIDE,
    GRID_RANGE,
    cell_box,
    cell_ids,
    cell_means,
    cells_mask,
    cells_peak,
    chance_iou,
    check_grid,
    explain_copy,
    iou_scores,
    mask_iou,
    ranked,
    top_region,
)
from ic.explain.maps import (
    FAINT,
    SCORECAM_PUBLIC_CHANNELS,
    Explanation,
    heatmap_from_cells,
    legend,
    map_cells,
    map_scale,
    overlay_heatmap,
    shared_scale,
    target_layer,
)
from ic.explain.registry import CAM_METHODS, METHODS, REGISTRY, MapMethod, cam_method, map_method
from ic.inpaint import Inpainter, get_inpainter
from ic.watch import UNWATCHED, Watch

__all__ = [
    "BUDGET", "CAM_METHODS", "DEFINITIONS", "rise_curves", "FRAGILE_MARGIN", "is_fragile", "margin_of",
    "DEFAULT_GRID", "DEFAULT_INFILL", "EXPLAIN_SIDE", "FAINT", "GRID_RANGE", "MAP_FORMAT",
    "Images", "METHODS", "REGISTRY", "MapMethod", "MapOptions", "cam_method", "map_method", "stored_maps",
    "ORDERS", "SCORECAM_PUBLIC_CHANNELS", "Curve", "Estimate", "Explanation", "Flip", "activation_map",
    "cell_box", "cell_ids", "cell_means", "cells_mask", "cells_peak", "chance_iou", "check_grid", "deletion_curve", "explain_copy",
    "explain_edit", "find_flip", "flip_estimate", "heatmap_from_cells", "importance_order", "insertion_curve",
    "iou_scores", "legend", "map_cells", "map_scale", "maps_estimate", "mask_iou", "occlusion_map", "overlay_heatmap",
    "ranked", "scorecam_cost", "shared_scale", "stored_pairs", "search_adaptive", "search_in_order", "target_layer", "top_region",
]

DEFAULT_INFILL = "telea"


def activation_map(classifier: Classifier, image: np.ndarray, class_index: int, method: str = "gradcam",
                   preprocess: str = "squash", watch: Watch = UNWATCHED) -> Explanation:
    """A class activation map (Grad-CAM, Grad-CAM++, Score-CAM) of one class over `image`."""
    return cam_method(method).compute(classifier, image, class_index, preprocess=preprocess, watch=watch)


def occlusion_map(classifier: Classifier, image: np.ndarray, class_index: int, *, grid: int = DEFAULT_GRID,
                  infill: Inpainter, preprocess: str = "squash", seed: int = 0,
                  watch: Watch = UNWATCHED) -> Explanation:
    """The occlusion map of one class over `image`: the signed drop of its probability as each cell is removed."""
    return map_method("occlusion").compute(classifier, image, class_index, grid=grid, infill=infill,
                                           preprocess=preprocess, seed=seed, watch=watch)
MAP_FORMAT = 2  # 2: occlusion cells are signed drops of the probability; 1: clipped at 0 and scaled to the maximum


@dataclass(frozen=True)
class MapOptions:
    """How maps are made: the grid and infill of cell-wise maps, how the classifier sees the image, whether to
    score the maps (curves, IoU) and with RISE's curves too."""

    grid: int = DEFAULT_GRID
    infill: str = DEFAULT_INFILL
    preprocess: str = "squash"
    scores: bool = True
    rise: bool = False


def stored_maps(result: dict, grid: int, infill: str) -> list[dict]:
    """The maps of an `explain_edit` result as the history keeps them (cells, scores, the grid and infill of
    a method that uses them)."""
    items = []
    for method, by_image in result["maps"].items():
        uses_infill = map_method(method).uses_infill
        for image_name, item in by_image.items():
            details = {**result["scores"].get(method, {}), "format": MAP_FORMAT, "prob": item.prob,
                       "grid": grid if uses_infill else None, "infill": infill if uses_infill else None}
            if item.raw_range is not None:  # a CAM's own units, so that History draws a pair on one scale too
                details["raw_range"] = [round(value, 6) for value in item.raw_range]
            items.append(dict(image=image_name, method=method, class_index=item.class_index, label=item.label,
                              cells=map_cells(item), details=details))
    return items


def stored_pairs(items: list[dict], shapes: dict[str, tuple[int, int]]) -> list[tuple[dict, dict]]:
    """Maps as the history keeps them (`stored_maps`), back as Explanations over images of `shapes`, a method's
    maps of one class together: [({image: Explanation}, {image: details})], in the order kept. A map's own units
    come back where they were kept (a CAM's `raw_range`); maps of format 1 keep their own 0..1 scale."""
    groups: dict[tuple, tuple[dict, dict]] = {}
    for item in items:
        details = item.get("details") or {}
        method = REGISTRY.get(item["method"])
        shape = shapes[item["image"]]
        cells = np.asarray(item["cells"], np.float32)
        heat = heatmap_from_cells(cells, shape, smooth=method is None or method.smooth)
        raw = details.get("raw_range")
        raw = tuple(float(v) for v in raw) if (isinstance(raw, list) and len(raw) == 2 and
                                               all(isinstance(v, (int, float)) for v in raw)) else None
        own = None  # signed drops of format 2 are in their own units; CAMs in 0..1, with raw_range when kept
        if method is None or not method.signed or details.get("format", 1) < 2:
            heat = np.clip(heat, 0, 1)
            if method is None or method.signed:
                own = (0.0, 1.0)  # format 1 kept occlusion maps scaled to their own 0..1
        explanation = Explanation(item["method"], int(item["class_index"]), str(item["label"]), heat,
                                  grid=cells if method is not None and method.uses_infill else None,
                                  prob=details.get("prob"), raw_range=raw, own_scale=own)
        maps, kept = groups.setdefault((item["method"], item["class_index"]), ({}, {}))
        maps[item["image"]], kept[item["image"]] = explanation, details
    return list(groups.values())


def importance_order(explanation: Explanation, grid: int) -> list[int]:
    """Cells from most to least important by the map; tied cells in a seeded random order."""
    return ranked(explanation.cells(grid))


def find_flip(classifier: Classifier, small: np.ndarray, order: str, grid: int, infill: Inpainter, *,
              preprocess: str = "squash", map_method: str = "gradcam", watch: Watch = UNWATCHED):
    """The smallest removal of `grid` cells that changes the top-1 of `small` (a map-sized copy), in the order
    of `map_method`'s map ("map") or chosen one cell at a time ("adaptive"); None within the budget."""
    if order == "map":
        top = int(classifier.predict([small], preprocess)[0].argmax())
        ranked_by = explain_edit(classifier, Images(small), top, [map_method], watch=watch.with_progress(None),
                                 options=MapOptions(grid=grid, preprocess=preprocess, scores=False))
        cells = importance_order(ranked_by["maps"][map_method]["original"], grid)
        return search_in_order(classifier, small, cells, grid, infill, preprocess=preprocess, watch=watch)
    return search_adaptive(classifier, small, grid, infill, preprocess=preprocess, watch=watch)


@dataclass(frozen=True)
class Images:
    """What maps are made of: the photo, and where there is an edit, the edited image (mapped too) and the
    region removed (which a map's top region is compared with); either may be given without the other."""

    original: np.ndarray
    edited: np.ndarray | None = None
    removed: np.ndarray | None = None


def explain_edit(classifier: Classifier, pictures: Images, class_index: int, methods: list[str], *,
                 options: MapOptions = MapOptions(), watch: Watch = UNWATCHED) -> dict:
    """Each method's map on the original (and on the edited image, when given), and with `options.scores`,
    its deletion and insertion curves and the IoU of its top region with the removed region beside chance.
    `options` also names the grid and the infill (an inpainter's name) of cell-wise maps, how the classifier
    sees the image, and whether RISE's curves are scored too.

    Images are full working copies; maps are computed on copies at most EXPLAIN_SIDE a side. Returns
    {"maps": {method: {"original"|"edited": Explanation}}, "scores": {method: {"iou", "iou_chance",
    "deletion_auc", "insertion_auc", "auc_definition": "cells"}}, "curves": {method: {"deletion": Curve,
    "insertion": Curve}}}; with `options.rise`, also "rise_deletion_auc" and "rise_insertion_auc" (RISE's own
    definition, ic/explain/curves.py).
    `watch` hears (share, message) reports; Cancelled is raised between steps once it says to stop.
    """
    grid, preprocess, scores, rise = options.grid, options.preprocess, options.scores, options.rise
    original, edited, removed = pictures.original, pictures.edited, pictures.removed
    infill = get_inpainter(options.infill)
    images = {"original": explain_copy(original)}
    if edited is not None:
        images["edited"] = explain_copy(edited)
    maps, found_scores, curves = {}, {}, {}
    parts = len(methods) * len(images)
    for step, method in enumerate(methods):
        maker = map_method(method)
        maps[method] = {}
        for part, (image_name, image) in enumerate(images.items()):
            watch.check()
            done = step * len(images) + part
            report = lambda share, done=done, title=maker.title: watch.report(
                min(1.0, (done + share * (0.8 if scores else 1)) / parts), f"{title}…")
            report(0)
            maps[method][image_name] = maker.compute(classifier, image, class_index, grid=grid, infill=infill,
                                                     preprocess=preprocess, watch=watch.with_progress(report))
        if not scores:
            continue
        first = maps[method]["original"]
        order = importance_order(first, grid)
        small = images["original"]
        curves[method] = {"deletion": deletion_curve(classifier, small, class_index, order, grid, preprocess=preprocess),
                          "insertion": insertion_curve(classifier, small, class_index, order, grid, preprocess=preprocess)}
        has_removal = removed is not None and np.asarray(removed).any()
        found_scores[method] = {**(iou_scores(removed, first.heatmap) if has_removal else {"iou": None, "iou_chance": None}),
                                "deletion_auc": curves[method]["deletion"].auc,
                                "insertion_auc": curves[method]["insertion"].auc, "auc_definition": "cells"}
        if rise:
            published = rise_curves(classifier, original, class_index, first.heatmap)
            found_scores[method].update(rise_deletion_auc=published["deletion"].auc,
                                        rise_insertion_auc=published["insertion"].auc)
    return {"maps": maps, "scores": found_scores, "curves": curves}
