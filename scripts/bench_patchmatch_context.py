"""PatchMatch's context margin (not a test): time a stroke and how far the fill is from the true pixels.

Strokes like the page benchmark's (about 60 px long, 12-30 px wide, working size) at random places on every
bundled sample; each margin fills the same strokes with the same seed. The error is the mean absolute
difference, in the hole, between the fill and the photo's own pixels there: texture synthesis never matches
them, but a worse source of patches shows as a larger error.

    python scripts/bench_patchmatch_context.py [--margins 64,48,32] [--strokes 8]
"""

import argparse
import sys
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ic.images import decode_image, working_copy  # noqa: E402
from ic.inpaint.patchmatch import PatchMatch  # noqa: E402
from ic.samples import list_samples  # noqa: E402


def strokes(count: int) -> list[tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(0)
    cases = []
    for sample in list_samples():
        image = working_copy(decode_image(sample.path))
        height, width = image.shape[:2]
        for _ in range(count):
            mask = np.zeros((height, width), np.uint8)
            x, y = int(rng.integers(40, width - 40)), int(rng.integers(40, height - 160))
            cv2.line(mask, (x, y), (x + int(rng.integers(-20, 20)), y + 60), 1, int(rng.integers(12, 30)))
            cases.append((image, mask.astype(bool)))
    return cases


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--margins", default="64,48,32")
    parser.add_argument("--strokes", type=int, default=8, help="per sample")
    args = parser.parse_args()
    cases = strokes(args.strokes)
    for margin in (int(m) for m in args.margins.split(",")):
        method = PatchMatch()
        method.crop_margin = margin
        errors, start = [], time.perf_counter()
        for image, mask in cases:
            filled = method(image, mask, seed=0)
            errors.append(np.abs(filled[mask].astype(int) - image[mask].astype(int)).mean())
        print(f"margin {margin:3d}: {1000 * (time.perf_counter() - start) / len(cases):.0f} ms a stroke, "
              f"mean error in the hole {np.mean(errors):.2f} (median {np.median(errors):.2f}), {len(cases)} strokes",
              flush=True)


if __name__ == "__main__":
    main()
