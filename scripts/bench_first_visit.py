"""First-visit benchmark (not a test): how soon a visitor sees the first answer, beside a trivial page.

Three figures, in one run (this machine's speed drifts: compare only within a run):

- cold: a server started with an empty export cache, a visitor arriving at once; seconds from starting the
  server to the first row of the results table on screen;
- restart: the same with the cache folder of the cold run (the export made once is reused);
- warm: a new visitor (a new browser context) to a server that has served one already and is idle (its
  preparation done: /proc says it has stopped using the CPU); seconds from navigation
  to the first table row, median of --visitors, beside the same for scripts/floor_page.py, a trivial page with
  the same canvas and a table (the floor).

    python scripts/bench_first_visit.py [--visitors 5] [--baseline DIR]

With --baseline, another checkout (`git worktree add /tmp/base main`, say) is measured first in the same run, so
that before and after compare on the same machine at the same time.

The clock for a visitor runs in the page (navigation start to a MutationObserver seeing the row), not in
Python, whose polling would add its own steps.
"""

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from browser_support import CHROMIUM_FLAGS, ROOT, chromium_path, running_app  # noqa: E402

ROW = '[data-testid="stTable"] tbody tr td'
WATCH_JS = """
(selector) => {
  window.__icAnswered = new Promise((resolve) => {
    const look = () => { if (document.querySelector(selector)) { observer.disconnect(); resolve(performance.now()); } };
    const observer = new MutationObserver(look);
    observer.observe(document, { childList: true, subtree: true });
  });
}
"""


def visit(browser, url: str, timeout_s: float = 180) -> float:
    """Seconds from navigation to the first table row, in a new browser context (a new visitor)."""
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    page = context.new_page()
    page.add_init_script(f"({WATCH_JS})({ROW!r})")
    page.goto(url)
    page.wait_for_selector(ROW, timeout=timeout_s * 1000)
    seen = page.evaluate("async () => await window.__icAnswered")
    context.close()
    return seen / 1000


def server_idle(pid: int, quiet_s: float = 2.0, timeout_s: float = 120.0) -> None:
    """Wait until the server process has used under 5% of a core for `quiet_s` (its CPU time, from /proc)."""
    ticks = os.sysconf("SC_CLK_TCK")
    cpu = lambda: sum(int(v) for v in Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[11:13]) / ticks
    deadline, since, used = time.monotonic() + timeout_s, time.monotonic(), cpu()
    while time.monotonic() < deadline:
        time.sleep(0.25)
        if cpu() - used > 0.05 * (time.monotonic() - since):
            since, used = time.monotonic(), cpu()
        elif time.monotonic() - since >= quiet_s:
            return


def cold(browser, cache: str, data: str, root: Path) -> float:
    """Seconds from starting a server to its first visitor's first answer (the visitor arrives at once)."""
    started = time.perf_counter()
    with running_app({"IC_CACHE_DIR": cache, "IC_DATA_DIR": data}, root=root, poll_s=0.02, prepare=False) as url:
        context = browser.new_context(viewport={"width": 1440, "height": 900})
        page = context.new_page()
        page.goto(url)
        page.wait_for_selector(ROW, timeout=300_000)
        answered = time.perf_counter() - started
        context.close()
    return answered


def measure(browser, root: Path, visitors: int) -> tuple[float, float, list[float]]:
    """Cold start, restart and a warm server's new visitors, for the project at `root`."""
    folder = tempfile.mkdtemp(prefix="ic-first-visit-")
    first = cold(browser, f"{folder}/cache", f"{folder}/data", root)
    again = cold(browser, f"{folder}/cache", f"{folder}/data", root)
    with running_app({"IC_CACHE_DIR": f"{folder}/cache", "IC_DATA_DIR": f"{folder}/data"}, root=root,
                     expose_pid=True, prepare=False) as (url, pid):
        visit(browser, url)  # warm: it has served a visitor ...
        server_idle(pid)  # ... and finished preparing (the rates it measures for the estimates take seconds of CPU)
        warm = [visit(browser, url) for _ in range(visitors)]
    return first, again, warm


def main() -> None:
    from playwright.sync_api import sync_playwright

    parser = argparse.ArgumentParser()
    parser.add_argument("--visitors", type=int, default=5)
    parser.add_argument("--baseline", type=Path, help="another checkout (git worktree add /tmp/base REV) measured in "
                                                      "the same run, before this one")
    args = parser.parse_args()
    projects = ([("baseline", args.baseline.resolve())] if args.baseline else []) + [("this checkout", ROOT)]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_FLAGS)
        with running_app(script="scripts/floor_page.py", expose_pid=True) as (url, pid):
            visit(browser, url)  # the server's own first run
            server_idle(pid)
            visit_floor = [visit(browser, url) for _ in range(args.visitors)]
        floor = statistics.median(visit_floor)
        print(f"floor page: {floor:.2f} s (min {min(visit_floor):.2f}, max {max(visit_floor):.2f})", flush=True)
        for name, root in projects:
            first, again, warm = measure(browser, root, args.visitors)
            page = statistics.median(warm)
            print(f"{name}: cold start (empty cache) first answer {first:.1f} s after the server started; restart "
                  f"(cache kept) {again:.1f} s; new visitor on a warm server {page:.2f} s (min {min(warm):.2f}, max "
                  f"{max(warm):.2f}): floor + {page - floor:.2f} s", flush=True)
        browser.close()


if __name__ == "__main__":
    main()
