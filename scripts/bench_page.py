"""Page benchmark (not a test): mouse-up on a painted stroke to the updated table, median of N strokes.

    python scripts/bench_page.py [--strokes 10] [--inpainter patchmatch]
"""

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from browser_support import browser_page, paint, removals_shown, running_app, settled  # noqa: E402

STROKES = [[(60 + 40 * (i % 10), 300), (60 + 40 * (i % 10), 360)] for i in range(40)]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--strokes", type=int, default=10)
    parser.add_argument("--inpainter", default="patchmatch")
    args = parser.parse_args()
    with running_app() as url, browser_page(url) as page:
        if args.inpainter != "patchmatch":
            page.get_by_label("Inpainter").click()
            page.get_by_role("option", name=args.inpainter, exact=False).first.click()
        times = []
        for i in range(args.strokes):
            settled(page)
            paint(page, STROKES[i])
            start = time.perf_counter()
            removals_shown(page, i + 1)  # the run that shows the new count also draws the table
            times.append((time.perf_counter() - start) * 1000)
        print(f"mouse-up to updated table, {args.inpainter}, {len(times)} strokes: "
              f"median {statistics.median(times):.0f} ms, min {min(times):.0f} ms, max {max(times):.0f} ms")


if __name__ == "__main__":
    main()
