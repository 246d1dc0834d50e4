"""What the map methods (ic/explain/methods.py) share: an Explanation, a CAM run over a private copy of the model
in whatever layout its target layer has, the occlusion baseline, scales and drawing.

- CAMs hook a per-call copy of the model, never the shared one, so two sessions' hooks cannot meet. The
  target layer's activations are read in the layout the model really has: NCHW for CNNs, channels-last
  stages (Swin) permuted, and token models (ViT, DeiT) without their prefix tokens, on the model's own patch
  grid, square or not. A layout that fits none of these is refused with a sentence, never mapped wrongly.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np

from ic.errors import ICError
from ic.explain.grid import cell_ids, cell_means, cells_peak
from ic.explain.registry import MapMethod, map_method
from ic.inpaint import Inpainter
from ic.watch import UNWATCHED, Watch

# grad-cam's own Score-CAM draws a tqdm bar on stderr; ours does not, and nothing else should.
os.environ.setdefault("TQDM_DISABLE", "1")

BATCH = 8  # a batch of 16 took 300 MB more peak memory in ONNX Runtime for no gain in speed
SCORECAM_PUBLIC_CHANNELS = 1024  # public mode refuses Score-CAM on larger target layers (ResNet-50: 2048)
FAINT = 0.01  # below this probability a map explains a class the model does not see


@dataclass
class Explanation:
    method: str
    class_index: int
    label: str
    heatmap: np.ndarray  # HxW over the image passed in: CAMs in [0, 1]; signed maps the drop in [-1, 1]
    grid: np.ndarray | None = None  # NxN signed drops, for maps made cell by cell
    prob: float | None = None  # the class's probability on that image
    raw_range: tuple[float, float] | None = None  # a CAM's low and high before grad-cam scaled it to 0..1
    own_scale: tuple[float, float] | None = None  # a map kept scaled to its own range (History's format 1)

    @property
    def signed(self) -> bool:
        return map_method(self.method).signed

    def cells(self, n: int) -> np.ndarray:
        """The map as an n x n grid of cell means (occlusion maps: the grid itself)."""
        if self.grid is not None and self.grid.shape == (n, n):
            return self.grid
        return cell_means(self.heatmap, n)

    def peak(self) -> tuple[int, int]:
        """(x, y) of the centre of the strongest cell, in the pixels of the image the map was computed on."""
        return cells_peak(map_cells(self), self.heatmap.shape)

    def scale(self) -> tuple[float, float]:
        """The range its colours span: 0..1 for CAMs, symmetric about 0 for signed maps."""
        return self.own_scale or map_scale(self.method, self.heatmap)

    def strength(self) -> np.ndarray | None:
        """The map in its method's own units, comparable between two images of one class: a CAM unscaled (None
        where its range was not kept), a signed map as it is."""
        if self.own_scale is not None:
            return None
        if self.signed:
            return self.heatmap
        return None if self.raw_range is None else raw_cam(self.heatmap, self.raw_range)


def raw_cam(heatmap: np.ndarray, raw_range) -> np.ndarray:
    """A 0..1 CAM back in its own units: grad-cam scaled (raw - low) / (high - low); outside the classifier's
    crop (0 there) it stays 0."""
    low, high = raw_range
    return np.where(heatmap > 0, low + heatmap * (high - low), 0).astype(np.float32)


def shared_scale(maps: dict[str, Explanation]) -> dict[str, tuple[np.ndarray, tuple[float, float]]] | None:
    """Two or more maps of one method and class drawn on one scale, so that equal colours are equal values:
    {image: (values to draw, scale)}. Signed maps keep their values, symmetric about 0 by the largest drop of
    any; CAMs are divided by the strongest CAM of all (1 = the strongest of them). None where a map's own units
    are unknown (a CAM kept without them)."""
    found = {name: item.strength() for name, item in maps.items()}
    if not found or any(values is None for values in found.values()):
        return None
    first = next(iter(maps.values()))
    if first.signed:
        largest = max(max(float(np.abs(values).max()) if values.size else 0.0 for values in found.values()), 1e-3)
        return {name: (values, (-largest, largest)) for name, values in found.items()}
    strongest = max(float(values.max()) if values.size else 0.0 for values in found.values())
    if strongest <= 0:
        return None
    return {name: (values / strongest, (0.0, 1.0)) for name, values in found.items()}


def map_scale(method: str, values: np.ndarray) -> tuple[float, float]:
    return map_method(method).scale(values)


def map_cells(explanation: Explanation, limit: int = 64) -> np.ndarray:
    """The map as reported: the grid of a cell-wise map itself, or the CAM as cell means, at most `limit` a side."""
    if explanation.grid is not None:
        return explanation.grid
    return cell_means(explanation.heatmap, min(limit, *explanation.heatmap.shape))


# --- class activation maps --------------------------------------------------------------------

def target_layer(model) -> tuple[object, int]:
    """The layer a CAM reads and its channel count: the last block's norm of a token model, otherwise the
    last feature stage timm names."""
    if hasattr(model, "blocks") and hasattr(model, "patch_embed") and hasattr(model.blocks[-1], "norm1"):
        return model.blocks[-1].norm1, int(getattr(model, "embed_dim", None) or model.num_features)
    info = getattr(model, "feature_info", None)
    if info:
        last = info[-1] if isinstance(info, list) else {"module": info.module_name()[-1], "num_chs": info.channels()[-1]}
        return model.get_submodule(last["module"]), int(last["num_chs"])
    raise ICError(f"No activation-map layer is known for {type(model).__name__}; use the occlusion map instead.")


def _patch_grid(model, input_hw: tuple[int, int]) -> tuple[int, int] | None:
    embed = getattr(model, "patch_embed", None)
    if embed is None:
        return None
    if getattr(embed, "dynamic_img_size", False) and hasattr(embed, "dynamic_feat_size"):
        return tuple(int(v) for v in embed.dynamic_feat_size(input_hw))
    if getattr(embed, "grid_size", None) is not None:
        return tuple(int(v) for v in embed.grid_size)
    patch = getattr(embed, "patch_size", None)
    if patch is not None:
        patch = patch if isinstance(patch, (tuple, list)) else (patch, patch)
        return input_hw[0] // patch[0], input_hw[1] // patch[1]
    return None


def layout(model, channels: int, input_hw: tuple[int, int], name: str) -> Callable:
    """A reshape from the target layer's output to N x C x h x w, whatever the model's layout."""
    prefix = int(getattr(model, "num_prefix_tokens", 0) or 0)

    def reshape(tensor):
        if tensor.ndim == 4 and tensor.shape[1] == channels:
            return tensor
        if tensor.ndim == 4 and tensor.shape[-1] == channels:  # channels-last stages (Swin)
            return tensor.permute(0, 3, 1, 2)
        if tensor.ndim == 3 and tensor.shape[-1] == channels:  # tokens: prefix tokens first, then the patch grid
            grid = _patch_grid(model, input_hw)
            tokens = tensor[:, prefix:, :]
            if grid and grid[0] * grid[1] == tokens.shape[1]:
                return tokens.reshape(tensor.shape[0], grid[0], grid[1], channels).permute(0, 3, 1, 2)
        raise ICError(f"{name}'s activations have a layout this app cannot map ({tuple(tensor.shape)}, {channels} "
                      "channels); use the occlusion map, which works with any classifier.")

    return reshape


def cam(model, batch, class_index: int, method: MapMethod, *, name: str = "this classifier",
        watch: Watch = UNWATCHED, keep_range: list | None = None) -> np.ndarray:
    """A CAM over the model's input (h x w in [0, 1]) for one class; hooks go on a private copy of `model`.
    `keep_range`, a list, receives [low, high] of the CAM before it was scaled to 0..1 (after grad-cam's ReLU)."""
    import torch
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

    if not method.cam:
        raise ICError(f"{method.title} is no class activation map.")
    model = copy.deepcopy(model)  # hooks go on this copy; the shared model never sees one
    model.requires_grad_(False)  # gradients flow from the input instead: no weight gradients to hold
    layer, channels = target_layer(model)
    reshape = layout(model, channels, tuple(batch.shape[-2:]), name)
    batch = batch.detach().requires_grad_(method.gradients)
    maker = lambda: method.make(model, [layer], reshape, watch)
    with torch.enable_grad(), maker() as engine:
        raw = _keep_raw(engine)
        small = engine(input_tensor=batch, targets=[ClassifierOutputTarget(class_index)])[0]
    if keep_range is not None and raw:
        positive = np.nan_to_num(np.maximum(np.asarray(raw[0][0], np.float32), 0))
        keep_range[:] = [float(positive.min()), float(positive.max())]
    return np.nan_to_num(np.asarray(small, np.float32))


def _keep_raw(engine) -> list:
    """The CAM before grad-cam scales it to 0..1 (its `get_cam_image`, once per call), kept in the list returned:
    the map's own strength, so that two maps can be drawn on one scale."""
    kept, computed = [], engine.get_cam_image

    def recorded(*args, **kwargs):
        found = computed(*args, **kwargs)
        kept.append(found)
        return found

    engine.get_cam_image = recorded  # the instance's attribute: BaseCAM calls self.get_cam_image
    return kept


def to_image(small: np.ndarray, shape: tuple[int, int], box: tuple[int, int, int, int]) -> np.ndarray:
    """A map over the classifier's input placed back on the image: the crop box, zero outside."""
    top, left, bottom, right = box
    heatmap = np.zeros(shape, np.float32)
    heatmap[top:bottom, left:right] = cv2.resize(small.astype(np.float32), (right - left, bottom - top),
                                                 interpolation=cv2.INTER_LINEAR)
    return np.clip(heatmap, 0, 1)


# --- occlusion by inpainting ------------------------------------------------------------------

def occlusion_baseline(image: np.ndarray, n: int, infill: Inpainter, seed: int = 0) -> np.ndarray:
    """An image whose every cell holds what the infill puts there when that cell alone is removed."""
    baseline = image.copy()
    ids = cell_ids(image.shape[:2], n)
    for cell in range(n * n):
        mask = ids == cell
        baseline[mask] = infill(image, mask, seed=seed + cell)[mask]
    return baseline


# --- drawing ----------------------------------------------------------------------------------

def colours(values: np.ndarray, scale: tuple[float, float], signed: bool) -> np.ndarray:
    """RGB colours of map values, shape values.shape + (3,): CAMs in turbo (blue low, red high); signed maps
    diverging about 0 (blue where removing raises the class, white for no change, red where it lowers it)."""
    low, high = scale
    share = np.clip((np.asarray(values, np.float32) - low) / max(high - low, 1e-9), 0, 1)
    if signed:
        blue, white, red = (np.array(c, np.float32) for c in ((33, 102, 172), (247, 247, 247), (178, 24, 43)))
        below = share[..., None] < 0.5
        t = np.where(below, share[..., None] * 2, share[..., None] * 2 - 1)
        mixed = np.where(below, blue + (white - blue) * t, white + (red - white) * t)
        return mixed.round().astype(np.uint8)
    # OpenCV colours an image (a 1-D array comes back as a column of shape (n, 1, 3)): one row, then the shape back
    row = (share.reshape(1, -1) * 255).astype(np.uint8)
    return cv2.applyColorMap(row, cv2.COLORMAP_TURBO)[0, :, ::-1].reshape(*share.shape, 3)


def overlay_heatmap(image: np.ndarray, heatmap: np.ndarray, opacity: float = 0.5, *,
                    scale: tuple[float, float] = (0.0, 1.0), signed: bool = False) -> np.ndarray:
    """The image with the map drawn over it in colours that `legend` explains."""
    heat = cv2.resize(heatmap.astype(np.float32), (image.shape[1], image.shape[0]), interpolation=cv2.INTER_LINEAR)
    blended = image.astype(np.float32) * (1 - opacity) + colours(heat, scale, signed).astype(np.float32) * opacity
    return blended.round().astype(np.uint8)


def legend(scale: tuple[float, float], signed: bool, width: int = 256, height: int = 14) -> np.ndarray:
    """A colour bar for `overlay_heatmap`, low on the left."""
    values = np.linspace(scale[0], scale[1], width, dtype=np.float32)
    return np.repeat(colours(values, scale, signed)[None], height, axis=0)  # (height, width, 3): one bar


def heatmap_from_cells(cells, shape: tuple[int, int], smooth: bool) -> np.ndarray:
    """A stored n x n map back over an image of `shape`: blocky for occlusion grids, smooth for CAMs."""
    cells = np.asarray(cells, np.float32)
    interpolation = cv2.INTER_LINEAR if smooth else cv2.INTER_NEAREST
    return cv2.resize(cells, (shape[1], shape[0]), interpolation=interpolation)
