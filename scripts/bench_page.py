"""Page benchmark (not a test): mouse-up on a painted stroke to the updated table, median of N strokes.

The clock runs in the page, from the mouse-up event to the moment the caption under
the table naming the new removal enters the DOM (the page draws it right after the
table, in the same run). `--floor` measures, in the same
session, a trivial page with the same canvas that only counts strokes
(scripts/floor_page.py): the part of the time that is Streamlit's and the canvas's.

    python scripts/bench_page.py [--strokes 20] [--runs 3] [--inpainter patchmatch] [--floor] [--baseline DIR]

With --baseline, another checkout (`git worktree add /tmp/base REV`) is measured too, in the same run and
alternating with this one run by run, so both see the same machine (its speed drifts).
"""

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from browser_support import ROOT, browser_page, choose_option, paint, running_app, settled  # noqa: E402

# Each stroke at its own place (10 columns, 4 rows of camera.png): a stroke over one already removed and
# still shown on the canvas would remove nothing new.
STROKES = [[(60 + 40 * (i % 10), 110 + 90 * (i // 10)), (60 + 40 * (i % 10), 170 + 90 * (i // 10))] for i in range(40)]


# Both ends of the clock are taken in the page: the mouse-up as the browser dispatches it, and the moment the
# text enters the DOM (a MutationObserver). Waiting from Python instead measured Playwright's polling, which
# backs off to every 500 ms: every time between about 0.3 and 0.8 s read as about 0.8 s.
ARM_JS = """
(text) => {
  window.__icUp = null;
  document.addEventListener("pointerup", () => { window.__icUp = performance.now(); }, { capture: true, once: true });
  const shown = () => [...document.querySelectorAll('[data-testid="stCaptionContainer"], [data-testid="stMarkdownContainer"]')]
    .some((element) => element.textContent.includes(text));
  window.__icSeen = new Promise((resolve) => {
    const observer = new MutationObserver(() => {
      if (window.__icUp !== null && shown()) { observer.disconnect(); resolve(performance.now()); }
    });
    observer.observe(document.body, { childList: true, subtree: true, characterData: true });
  });
}
"""


def measure(strokes: int, inpainter: str | None, root: Path = ROOT) -> list[float]:
    """One run on a fresh server of the project at `root`: the Explore page with `inpainter`, or the floor page
    when it is None."""
    folder = tempfile.mkdtemp(prefix="ic-bench-")
    env = {"IC_DATA_DIR": f"{folder}/data"}
    script = "scripts/floor_page.py" if inpainter is None else "streamlit_app.py"
    with running_app(env, script=script, root=root) as url, browser_page(url, explore=inpainter is not None) as page:
        if inpainter is None:
            page.locator("canvas.upper-canvas").wait_for(timeout=90_000)
        elif inpainter != "patchmatch":
            choose_option(page, "Inpainter", inpainter)
        times = []
        for i in range(strokes):
            settled(page)
            done = f"Strokes: {i + 1}" if inpainter is None else f"Last removal (#{i + 1}):"
            page.evaluate(ARM_JS, done)
            paint(page, STROKES[i])
            seen, up = page.evaluate("async () => [await window.__icSeen, window.__icUp]")
            times.append(seen - up)
    return times


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--strokes", type=int, default=20)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--inpainter", default="patchmatch", help="comma-separated: each is measured in turn")
    parser.add_argument("--floor", action="store_true", help="also measure the trivial canvas page, first")
    parser.add_argument("--baseline", type=Path, help="another checkout measured in the same run, alternating")
    args = parser.parse_args()
    subjects = ([None] if args.floor else []) + args.inpainter.split(",")
    projects = ([("baseline", args.baseline.resolve())] if args.baseline else []) + [("this checkout", ROOT)]
    for subject in subjects:
        medians = {name: [] for name, _ in projects}
        for _ in range(args.runs):
            for name, root in projects:
                if subject is None and name == "baseline":
                    continue  # the floor page is Streamlit's and the canvas's, the same in both
                times = measure(args.strokes, subject, root)
                medians[name].append(statistics.median(times))
                print(f"{subject or 'floor page':12} {name:13} {len(times)} strokes: median {medians[name][-1]:.0f} ms, "
                      f"min {min(times):.0f} ms, max {max(times):.0f} ms", flush=True)
        for name, found in medians.items():
            if found:
                print(f"{subject or 'floor page':12} {name:13} median of {len(found)} run medians: "
                      f"{statistics.median(found):.0f} ms", flush=True)


if __name__ == "__main__":
    main()
