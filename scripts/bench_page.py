"""Page benchmark (not a test): mouse-up on a painted stroke to the updated table, median of N strokes.

The clock stops when the caption under the table names the new removal: the page
draws it right after the table, in the same run.

    python scripts/bench_page.py [--strokes 20] [--inpainter patchmatch]
"""

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from browser_support import browser_page, paint, running_app, settled  # noqa: E402

# Each stroke at its own place (10 columns, 4 rows of camera.png): a stroke over one already removed and
# still shown on the canvas would remove nothing new.
STROKES = [[(60 + 40 * (i % 10), 110 + 90 * (i // 10)), (60 + 40 * (i % 10), 170 + 90 * (i // 10))] for i in range(40)]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--strokes", type=int, default=20)
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
            page.get_by_text(f"Last removal (#{i + 1}):").wait_for(timeout=60_000)
            times.append((time.perf_counter() - start) * 1000)
        print(f"mouse-up to updated table, {args.inpainter}, {len(times)} strokes: "
              f"median {statistics.median(times):.0f} ms, min {min(times):.0f} ms, max {max(times):.0f} ms")


if __name__ == "__main__":
    main()
