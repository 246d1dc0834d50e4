"""Produce the README's screenshot with the browser tests' helpers: the tripod removed from camera.png.

    python scripts/screenshot.py [docs/screenshot.png]
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from browser_support import act, browser_page, paint, removals_shown, running_app, settled  # noqa: E402

TRIPOD = [(293, 215), (293, 330), (293, 480)]
LEFT_LEG = [(290, 330), (262, 420), (240, 500)]
RIGHT_LEG = [(296, 330), (350, 420), (400, 500)]


def main(target: str = "docs/screenshot.png") -> None:
    with running_app() as url, browser_page(url, width=1400, height=1350) as page:
        act(page, page.get_by_role("button", name="Got it").click)
        for count, stroke in enumerate([TRIPOD, LEFT_LEG, RIGHT_LEG], start=1):
            paint(page, stroke)
            removals_shown(page, count)
        act(page, page.get_by_text("Show removed region").click)
        settled(page)
        page.screenshot(path=target)
    print(f"wrote {target}")


if __name__ == "__main__":
    main(*sys.argv[1:])
