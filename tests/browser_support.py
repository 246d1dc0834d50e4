"""Start the app with `streamlit run` on a free port and drive it with Playwright in Debian's Chromium.

Used by the browser tests and by the scripts beside them (screenshot, page benchmark).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync"]
IMAGE_SIZE = 512  # camera.png


def chromium_path() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def require_chromium() -> None:
    """Skip where Chromium is missing on a developer's machine; fail in CI, which must install it."""
    import pytest

    if chromium_path() is None:
        message = "Chromium is not installed (apt-get install chromium)"
        if os.environ.get("CI"):
            pytest.fail(message + "; CI must install it.")
        pytest.skip(message)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def isolated_env(folder) -> dict:
    """The environment of a server with its own data, models, torch and cache folders under `folder`."""
    return {"IC_DATA_DIR": str(folder / "data"), "IC_MODELS_DIR": str(folder / "models"),
            "TORCH_HOME": str(folder / "torch"), "IC_CACHE_DIR": str(folder / "cache")}


@contextlib.contextmanager
def running_app(env: dict | None = None, script: str = "streamlit_app.py", expose_pid: bool = False,
                port: int | None = None, options: tuple[str, ...] = (), log: Path | None = None,
                poll_s: float = 0.3, root: Path = ROOT):
    """Yield the URL (and with expose_pid, its process id) of a fresh `streamlit run` server; stop it afterwards.
    `options`: more of streamlit's command-line options (--secrets.files PATH, say); `log`: a file for the server's
    output; `poll_s`: how often its health is asked for until it answers (as `streamlit run` opens the browser the
    moment it does); `root`: the project the server runs (another checkout, for a benchmark's baseline)."""
    port = port or free_port()
    environment = {**os.environ, "HF_HUB_OFFLINE": "1", **(env or {})}
    log = log or (Path(os.environ["IC_TEST_SERVER_LOG"]) if os.environ.get("IC_TEST_SERVER_LOG") else None)
    server = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", script, "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.headless", "true", "--browser.gatherUsageStats", "false",
         *options],
        cwd=root, env=environment, stderr=subprocess.STDOUT, stdout=open(log, "a") if log else subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).read() == b"ok":
                    break
            except OSError:
                time.sleep(poll_s)
        else:
            raise RuntimeError("the app did not start within 60 s")
        yield (url, server.pid) if expose_pid else url
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()


@contextlib.contextmanager
def browser_page(url: str, width: int = 1400, height: int = 1000, explore: bool = True):
    """A Chromium page at `url`; for the Explore page, wait until its canvas and table are shown."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_FLAGS)
        try:
            page = browser.new_page(viewport={"width": width, "height": height})
            page.goto(url)
            if explore:
                page.locator("canvas.upper-canvas").wait_for(timeout=90_000)
                page.wait_for_selector('[data-testid="stTable"]', timeout=90_000)
            yield page
        finally:
            browser.close()


def retire_canvas(page) -> None:
    """Mark the current canvas: undo, redo, reset and another photo replace it with a fresh one (a removal
    does not: the canvas keeps its strokes while one runs)."""
    page.locator("canvas.upper-canvas").evaluate_all("cs => cs.forEach(c => { c.dataset.icRetired = '1'; })")


def settled(page, timeout_s: float = 60, quiet_s: float = 0.25) -> None:
    """Wait until the page is ready for a stroke: no run in progress, one current canvas (after Undo or a new
    photo, a stale one lingers until the rerun ends) showing its photo, and no rerun within `quiet_s`."""
    deadline = time.time() + timeout_s
    ready_since = None
    while time.time() < deadline:
        if _ready_for_a_stroke(page):
            ready_since = ready_since or time.time()
            if time.time() - ready_since >= quiet_s:
                return
        else:
            ready_since = None
        time.sleep(0.05)
    raise TimeoutError("the page did not settle")


def _ready_for_a_stroke(page) -> bool:
    """Each look reads the whole set of canvases at once: during a rerun the old and the new one coexist."""
    if page.locator(RUN_ON_ITS_WAY).count() > 0:
        return False
    if page.evaluate(CANVAS_TAKES_STROKES_JS) is False:
        return False
    if not page.locator("canvas.upper-canvas").evaluate_all("cs => cs.length === 1 && !cs[0].dataset.icRetired"):
        return False
    return page.locator("canvas.dc-background-canvas").evaluate_all(f"cs => cs.length === 1 && ({PHOTO_DRAWN_JS})(cs[0])")


# A run in progress, or asked for and not started yet: a server busy with other visitors' work can take seconds
# to start the run a stroke asked for, and meanwhile the page says "rerunRequested", not "running".
RUN_ON_ITS_WAY = ", ".join(f'[data-test-script-state="{state}"]' for state in ("running", "rerunRequested", "stopRequested"))

# Does the canvas take a stroke now? Not from a pause (or a Remove click) until the run answering it is drawn,
# since that run may clear the canvas (ui/canvas.py); nor while a pause is about to be sent.
CANVAS_TAKES_STROKES_JS = "() => !['busy', 'armed'].includes(document.documentElement.dataset.icCanvas)"

# On the canvas's background layer: has the photo been drawn yet?
PHOTO_DRAWN_JS = "c => c.width > 0 && c.getContext('2d').getImageData(c.width >> 1, c.height >> 1, 1, 1).data[3] > 0"


def click(page, button: str) -> None:
    """Click a button that replaces the canvas (Undo, Redo, Reset, a sample)."""
    import re

    settled(page)
    retire_canvas(page)
    # Undo and Redo name their keyboard shortcut after the label ("Undo Shortcut Ctrl + Z"): match the label's start.
    page.get_by_role("button", name=re.compile("^" + re.escape(button) + r"(\s|$)")).first.click()
    settled(page)


def canvas_box(page) -> dict:
    settled(page)
    page.locator("canvas.upper-canvas").scroll_into_view_if_needed()  # a button below may have scrolled it away
    return page.locator("canvas.upper-canvas").bounding_box()


def paint(page, points: list[tuple[float, float]]) -> None:
    """A mouse stroke through `points`, given in camera.png's own pixels."""
    box = canvas_box(page)
    to_screen = lambda x, y: (box["x"] + x * box["width"] / IMAGE_SIZE, box["y"] + y * box["height"] / IMAGE_SIZE)
    page.mouse.move(*to_screen(*points[0]))
    page.mouse.down()
    for start, end in zip(points, points[1:]):
        for t in (0.25, 0.5, 0.75, 1.0):
            page.mouse.move(*to_screen(start[0] + (end[0] - start[0]) * t, start[1] + (end[1] - start[1]) * t))
    page.mouse.up()


def paint_quickly(page, strokes: list[list[tuple[float, float]]], pause_ms: int = 250) -> None:
    """Strokes one after another, `pause_ms` apart, without waiting for the page in between."""
    box = canvas_box(page)
    to_screen = lambda x, y: (box["x"] + x * box["width"] / IMAGE_SIZE, box["y"] + y * box["height"] / IMAGE_SIZE)
    for points in strokes:
        page.mouse.move(*to_screen(*points[0]))
        page.mouse.down()
        for x, y in points[1:]:
            page.mouse.move(*to_screen(x, y), steps=4)
        page.mouse.up()
        page.wait_for_timeout(pause_ms)


def quiet(page, quiet_s: float = 3.0, timeout_s: float = 120) -> None:
    """Wait until no run has started for `quiet_s`: every stroke sent, applied, and the canvas cleared."""
    deadline = time.time() + timeout_s
    quiet_since = None
    while time.time() < deadline:
        running = page.locator(RUN_ON_ITS_WAY).count() > 0 or page.evaluate(CANVAS_TAKES_STROKES_JS) is False
        quiet_since = None if running else (quiet_since or time.time())
        if quiet_since and time.time() - quiet_since >= quiet_s:
            return
        time.sleep(0.05)
    raise TimeoutError("the page kept running")


def removals_count(page) -> int:
    import re

    text = page.get_by_text(re.compile(r"^Edited · \d+ removals?$")).last.inner_text()
    return int(re.search(r"(\d+) removal", text).group(1))


def download(page, button: str) -> bytes:
    """The file a download button gives."""
    with page.expect_download() as event:
        page.get_by_role("button", name=button).click()
    return Path(event.value.path()).read_bytes()


def visitor_of(page) -> str:
    from urllib.parse import parse_qs, urlparse

    return parse_qs(urlparse(page.url).query)["visitor"][0]


def background_pixels(page):
    """The canvas background (the edited image as shown) as an RGB array."""
    import base64
    import io

    import numpy as np
    from PIL import Image

    settled(page)
    url = page.locator("canvas.dc-background-canvas").evaluate("c => c.toDataURL('image/png')")
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))).convert("RGB"))


def table_text(page) -> str:
    return page.locator('[data-testid="stTable"]').first.inner_text()


def table_rows(page) -> list[dict]:
    """The results table as dicts keyed by its header cells."""
    header, *rows = page.locator('[data-testid="stTable"]').first.evaluate(
        "t => [...t.querySelectorAll('tr')].map(r => [...r.querySelectorAll('th,td')].map(c => c.innerText.trim()))")
    return [dict(zip(header, row)) for row in rows]


def removals_shown(page, count: int, timeout_ms: int = 60_000) -> None:
    word = "removal" if count == 1 else "removals"
    page.get_by_text(f"Edited · {count} {word}", exact=True).wait_for(timeout=timeout_ms)
    settled(page, timeout_ms / 1000)


def wait_for_table_change(page, old: str, timeout_ms: int = 60_000) -> str:
    page.wait_for_function(
        "old => { const t = document.querySelector('[data-testid=\"stTable\"]'); return t && t.innerText !== old; }",
        arg=old, timeout=timeout_ms)
    return table_text(page)


def errors_shown(page) -> list[str]:
    shown = page.locator('[data-testid="stException"]').all_inner_texts()
    shown += [t for t in page.locator('[data-testid="stAlert"]').all_inner_texts() if "went wrong" in t]
    return shown


def grid_rows(page) -> list[dict]:
    """The rows of the first st.dataframe, read from the grid's accessible table, keyed by column header."""
    page.wait_for_function("() => document.querySelectorAll('[data-testid=stDataFrame] [role=row]').length > 1",
                           timeout=60_000)
    header, *rows = page.evaluate("""() => [...document.querySelectorAll('[data-testid=stDataFrame] [role=row]')]
        .map(r => [...r.querySelectorAll('[role=columnheader],[role=gridcell]')].map(c => c.innerText.trim()))""")
    return [dict(zip(header, row)) for row in rows]


def top1_notice(page) -> tuple[str, str]:
    """(before, after) top-1 labels from the Explore page's notice."""
    import re

    text = page.locator('[data-testid="stAlert"]').filter(has_text="Top-1").first.inner_text()
    changed = re.search(r"Top-1 changed:\s*(.+?) \(\d+%\) → (.+?) \(\d+%\)", text)
    if changed:
        return changed.group(1), changed.group(2)
    same = re.search(r"Top-1 unchanged:\s*(.+?) \(", text)
    return same.group(1), same.group(1)


def near_stroke(shape, points, radius):
    """Pixels of an image of `shape` within `radius` of a stroke through `points` (camera.png pixels)."""
    import numpy as np

    height, width = shape
    ys, xs = np.mgrid[0:height, 0:width]
    scale = width / 512
    near = np.zeros(shape, bool)
    for (x0, y0), (x1, y1) in zip(points, points[1:]):
        x0, y0, x1, y1 = x0 * scale, y0 * scale, x1 * scale, y1 * scale
        length = max(np.hypot(x1 - x0, y1 - y0), 1e-6)
        t = np.clip(((xs - x0) * (x1 - x0) + (ys - y0) * (y1 - y0)) / length**2, 0, 1)
        near |= np.hypot(xs - (x0 + t * (x1 - x0)), ys - (y0 + t * (y1 - y0))) <= radius
    return near
