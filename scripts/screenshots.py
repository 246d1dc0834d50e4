"""Screenshots of every page and state (tests/tour.py) at a desktop, a laptop and a phone size, for a person to
look at, with what axe-core finds in each state.

    python scripts/screenshots.py [--out out/screens] [--sizes desktop,laptop,phone] [--scheme light|dark]

Each state is shot twice: as the window shows it (NAME.png) and the whole page (NAME-full.png, the window made as
tall as the page). Prints each state's axe-core violations (rule, impact, nodes) and anything that must never be
on screen.
"""

import argparse
import sys
import tempfile
from pathlib import Path

sys.path[:0] = [str(Path(__file__).resolve().parent.parent), str(Path(__file__).resolve().parent.parent / "tests")]

from browser_support import browser_page, idle, running_app  # noqa: E402
from tour import SIZES, STEPS, axe_counts, problems_on_screen  # noqa: E402


def full_page(page, path: Path) -> None:
    """The whole page: Streamlit scrolls its main block, not the document, so the window is made as tall as it."""
    width, height = page.viewport_size["width"], page.viewport_size["height"]
    tall = page.evaluate("""() => Math.max(...[...document.querySelectorAll(
        '[data-testid=stMain], [data-testid=stMainBlockContainer], [data-testid=stSidebarContent]')].map(e => e.scrollHeight))""")
    page.set_viewport_size({"width": width, "height": min(12000, max(height, tall + 80))})
    idle(page)  # a taller window: the canvas says its new room, and the page is drawn again
    page.screenshot(path=str(path))
    page.set_viewport_size({"width": width, "height": height})
    idle(page)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", default="out/screens")
    parser.add_argument("--sizes", default=",".join(SIZES))
    parser.add_argument("--no-full", action="store_true", help="only what the window shows")
    parser.add_argument("--until", help="stop after this state (e.g. explore-maps)")
    parser.add_argument("--scheme", choices=("light", "dark"), default="light",
                        help="the system theme the browser reports (Streamlit follows it)")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    folder = tempfile.mkdtemp(prefix="ic-screens-")
    with running_app({"IC_DATA_DIR": f"{folder}/data"}) as url:
        for size in args.sizes.split(","):
            width, height = SIZES[size]
            with browser_page(url, width=width, height=height, color_scheme=args.scheme) as page:
                for name, step in STEPS:
                    step(page)  # each ends with the page idle
                    stem = f"{size}-{name}" + ("-dark" if args.scheme == "dark" else "")
                    page.screenshot(path=str(out / f"{stem}.png"))
                    if not args.no_full:
                        full_page(page, out / f"{stem}-full.png")
                    counts = axe_counts(page)
                    print(f"{size:8} {name:18} axe: " + (", ".join(f"{rule} {impact} {nodes}" for rule, (impact, nodes)
                                                                  in sorted(counts.items())) or "none"), flush=True)
                    for problem in problems_on_screen(page):
                        print(f"{'':27} ON SCREEN: {problem}", flush=True)
                    if name == args.until:
                        break
            print(f"wrote {out}/{size}-*.png", flush=True)


if __name__ == "__main__":
    main()
