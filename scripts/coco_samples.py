"""The six bundled samples' objects as a COCO instances dataset (not a test): each sample's main object and
camera.png's tripod, seven objects on six photos, as polygons (the cat as an RLE), for trying
`python -m ic sweep` on COCO without downloading COCO.

    python scripts/coco_samples.py FOLDER [--side 512]
    python -m ic sweep FOLDER --models tf_efficientnet_lite0 --inpainters telea
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from builders import build_coco  # noqa: E402  (the tests build their COCO datasets the same way)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", help="a new folder: images/ and annotations/instances.json go there")
    parser.add_argument("--side", type=int, default=512, help="the photos' longer side in pixels (default 512)")
    args = parser.parse_args()
    folder = Path(args.folder)
    if folder.exists():
        parser.error(f"{folder} exists; give a new folder")
    build_coco(folder, side=args.side, extras=False)
    print(f"wrote {folder}/images (6 photos) and {folder}/annotations/instances.json (7 objects)")


if __name__ == "__main__":
    main()
