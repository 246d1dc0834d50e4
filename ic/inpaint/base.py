"""The base class every inpainting method subclasses.

`__call__` owns the shared work: checking inputs, cropping around the mask so
that cost follows the mask rather than the image, padding to a multiple, and
pasting only the masked pixels back, so that every pixel outside the mask is
bit-identical to the input whatever the method does. A method is a short
`forward`. A method whose cost grows with the hole (PatchMatch) can cap it:
a hole larger than `max_hole_pixels` is filled on a scaled-down crop and the
fill scaled back up, as IOPaint's "resize" strategy does for large images.

What a method can do is said on its class, so that nothing outside it names a
method: `baseline` (it may replace a whole background: a perturbation baseline,
not an invention), `weights_mb` (it needs weights of about that size, which
`download()` fetches) and `slow`.
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np

from ic.errors import ICError, Unavailable
from ic.images import mask_bbox
from ic.registry import Registry

Progress = Callable[[int, int], None]

REGISTRY = Registry("inpainter")  # name -> method class, put in the page's order (rank) by ic.inpaint
register = REGISTRY.register  # @register on each method's class, where it is defined


class Inpainter:
    name: str = ""
    title: str = ""
    description: str = ""
    slow: bool = False
    # Context kept around the mask's bounding box; None inpaints the whole image.
    crop_margin: int | None = 32
    pad_multiple: int = 1
    # Holes larger than this many pixels are filled at a lower resolution; None never scales.
    max_hole_pixels: int | None = None
    # It may replace a whole background ("keep only the region"): a baseline, not an invention.
    baseline: bool = False
    # The size of the weights it needs, in MB, when they may have to be downloaded; None when it needs none.
    weights_mb: int | None = None
    rank: int = 100  # its place in the page's list: the most faithful first

    def available(self) -> tuple[bool, str]:
        """Whether the method can run now, and if not, one sentence saying why."""
        return True, "ready"

    def prepare(self, progress: Progress | None = None) -> None:
        """Make the method ready to run (fetch weights, say) or raise Unavailable saying why."""
        ok, reason = self.available()
        if not ok:
            raise Unavailable(reason)

    def download(self, progress: Progress | None = None) -> None:
        """Fetch the weights (progress: bytes done, bytes in all) and get ready, or raise an ICError saying why."""
        if self.weights_mb is None:
            raise ICError(f"{self.title} needs no weights; there is nothing to download.")
        self.prepare(progress=progress)

    def forward(self, image: np.ndarray, mask: np.ndarray, seed: int) -> np.ndarray:
        raise NotImplementedError

    def crop_box(self, mask: np.ndarray) -> tuple[int, int, int, int]:
        """The window the method sees: the mask's box with `crop_margin` of context on every side. At a border
        the window shifts inward rather than shrinking, so a hole near the edge keeps its full context."""
        height, width = mask.shape
        if self.crop_margin is None:
            return 0, 0, height, width
        top, left, bottom, right = mask_bbox(mask)
        margin = max(self.crop_margin, (max(bottom - top, right - left) + 1) // 2)
        top, bottom = _window(top, bottom, margin, height)
        left, right = _window(left, right, margin, width)
        return top, left, bottom, right

    def __call__(self, image: np.ndarray, mask: np.ndarray, seed: int = 0) -> np.ndarray:
        """RGB uint8 HxWx3 and a boolean HxW mask to RGB uint8 HxWx3 of the same size."""
        if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
            raise ValueError(f"expected RGB uint8 HxWx3, got {image.dtype} {image.shape}")
        mask = np.asarray(mask, dtype=bool)
        if mask.shape != image.shape[:2]:
            raise ValueError(f"mask {mask.shape} does not match image {image.shape[:2]}")
        result = image.copy()
        if not mask.any():
            return result
        top, left, bottom, right = self.crop_box(mask)
        crop = np.ascontiguousarray(image[top:bottom, left:right])
        crop_mask = np.ascontiguousarray(mask[top:bottom, left:right])
        filled = self._fill(crop, crop_mask, seed)
        region = result[top:bottom, left:right]
        region[crop_mask] = filled[crop_mask]
        return result

    def _fill(self, crop: np.ndarray, crop_mask: np.ndarray, seed: int) -> np.ndarray:
        """`forward` on the crop, scaled down first when the hole is over budget."""
        height, width = crop_mask.shape
        hole = int(crop_mask.sum())
        scale = 1.0 if self.max_hole_pixels is None else min(1.0, (self.max_hole_pixels / hole) ** 0.5)
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        if size != (width, height):
            # A small pixel is part of the hole if any pixel under it is, so no removed colour survives.
            small = cv2.resize(crop, size, interpolation=cv2.INTER_AREA)
            small_mask = cv2.resize(crop_mask.astype(np.uint8), size, interpolation=cv2.INTER_AREA) > 0
            filled = cv2.resize(self._forward_padded(small, small_mask, seed), (width, height),
                                interpolation=cv2.INTER_CUBIC)
        else:
            filled = self._forward_padded(crop, crop_mask, seed)
        if filled.shape != crop.shape or filled.dtype != np.uint8:
            raise RuntimeError(f"{self.name} returned {filled.dtype} {filled.shape} for {crop.shape}")
        return filled

    def _forward_padded(self, image: np.ndarray, mask: np.ndarray, seed: int) -> np.ndarray:
        padded, padded_mask = _pad(image, mask, self.pad_multiple)
        filled = self.forward(padded, padded_mask, seed)
        return filled[: image.shape[0], : image.shape[1]]


def _window(start: int, stop: int, margin: int, size: int) -> tuple[int, int]:
    """[start - margin, stop + margin) moved inside [0, size) without losing length (unless it is longer)."""
    length = min(size, stop - start + 2 * margin)
    first = max(0, min(start - margin, size - length))
    return first, first + length


def _pad(image: np.ndarray, mask: np.ndarray, multiple: int) -> tuple[np.ndarray, np.ndarray]:
    if multiple <= 1:
        return image, mask
    height, width = mask.shape
    pad_h, pad_w = -height % multiple, -width % multiple
    if not pad_h and not pad_w:
        return image, mask
    image = np.pad(image, ((0, pad_h), (0, pad_w), (0, 0)), mode="symmetric")
    mask = np.pad(mask, ((0, pad_h), (0, pad_w)), mode="symmetric")
    return image, mask
