"""Reading a sweep's ZIP (not a test): seconds for `ic.sweeps.load_zip` on 1,000 / 2,000 / 4,000 pairs of tiny
photos and masks, and for 5,001 pairs (refused: more than a sweep takes).

    python scripts/bench_load_zip.py [--pairs 1000,2000,4000,5001]

The photos are 8x8 PNGs, each different (so none is a duplicate), so the time is the ZIP's bookkeeping and the
decoding, not the pixels. Compare runs only within one session: this machine's speed drifts.
"""

import argparse
import io
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ic.errors import ICError  # noqa: E402
from ic.sweeps import load_zip  # noqa: E402


def png(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, "PNG")
    return buffer.getvalue()


def dataset(pairs: int) -> bytes:
    mask = np.zeros((8, 8), np.uint8)
    mask[2:6, 2:6] = 255  # a mask that removes part of the photo, as check_mask wants
    mask = png(mask)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        for n in range(pairs):
            pixels = np.full((8, 8, 3), 0, np.uint8)
            pixels.reshape(-1)[:3] = (n % 256, n // 256 % 256, n // 65536)
            archive.writestr(f"photos/p{n:05d}.png", png(pixels))
            archive.writestr(f"photos/p{n:05d}_mask.png", mask)
    return buffer.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pairs", default="1000,2000,4000,5001")
    args = parser.parse_args()
    for pairs in (int(n) for n in args.pairs.split(",")):
        data = dataset(pairs)
        start = time.perf_counter()
        try:
            found = f"{len(load_zip(data).items)} items"
        except ICError as exc:
            found = f"refused: {str(exc)[:60]}"
        print(f"{pairs:5d} pairs  {time.perf_counter() - start:7.2f} s  {found}", flush=True)


if __name__ == "__main__":
    main()
