"""PatchMatch (Barnes et al. 2009) through `pypatchmatch`: good texture, no weights."""

import threading

import numpy as np

from ic.inpaint.base import Inpainter, register

PATCH_SIZE = 3


@register
class PatchMatch(Inpainter):
    name = "patchmatch"
    rank = 1
    title = "PatchMatch"
    description = ("Copies texture from around the hole (Barnes 2009): no weights; large holes are filled at "
                   "reduced resolution.")  # no time promised: 2.3-5.8 s were measured where it said "under a second"
    # Context around the hole (at least half the hole's long side, see Inpainter.crop_box). Measured by
    # scripts/bench_patchmatch_context.py, 48 strokes over the samples: mean error in the hole 15.4 with 64 px and
    # 15.1 with 32 px (medians 11.8 and 12.2), 126 against 101 ms a stroke: nearby texture is as good a source.
    crop_margin = 32
    # Its cost follows the hole's area (about 1 s for 26,000 pixels on one core); a larger hole is
    # filled at reduced resolution, which the 224-pixel classifier input cannot tell apart.
    max_hole_pixels = 16_000
    # The native library keeps one global seed: seed and run under one lock.
    _lock = threading.Lock()

    def available(self) -> tuple[bool, str]:
        try:
            from patchmatch import patchmatch_available
        except ImportError:
            return False, "PatchMatch needs the package pypatchmatch; run pip install -r requirements.txt."
        if not patchmatch_available:
            return False, "PatchMatch's native library failed to load on this machine; use telea instead."
        return True, "ready"

    def forward(self, image: np.ndarray, mask: np.ndarray, seed: int) -> np.ndarray:
        from patchmatch import inpaint, set_random_seed

        with self._lock:
            set_random_seed(seed)
            return inpaint(image, mask.astype(np.uint8) * 255, patch_size=PATCH_SIZE)
