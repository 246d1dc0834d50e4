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
import urllib.error
import urllib.request
from pathlib import Path

from waiting import until

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


def isolated_env(folder, cache: bool = False) -> dict:
    """The environment of a server with its own data, models and torch folders under `folder`; with `cache`, its own
    export cache too (a server that must export, as on a first start). Without, it shares the test run's cache
    (conftest.py), where the default classifier is exported once for every server."""
    env = {"IC_DATA_DIR": str(folder / "data"), "IC_MODELS_DIR": str(folder / "models"), "TORCH_HOME": str(folder / "torch")}
    return {**env, "IC_CACHE_DIR": str(folder / "cache")} if cache else env


def _answers(url: str) -> bytes | None:
    try:
        return urllib.request.urlopen(url, timeout=2).read()
    except OSError:
        return None


def prepared(url: str, timeout_s: float = 300) -> dict:
    """Wait until the server at `url` has prepared (its /_ic/ready, streamlit_app.py): its default classifier,
    fast path, inpainter and rates, so that no test races that work. Returns what it said."""
    import json

    def ready():
        try:
            return json.loads(urllib.request.urlopen(f"{url}/_ic/ready", timeout=2).read())
        except urllib.error.HTTPError as exc:  # 503 while it prepares: {"prepared": false}, or why it failed
            said = json.loads(exc.read())
            return said if "problem" in said else None
        except OSError:
            return None

    return until(ready, timeout_s, f"the server at {url} preparing", every_s=0.1)


@contextlib.contextmanager
def running_app(env: dict | None = None, script: str = "streamlit_app.py", expose_pid: bool = False,
                port: int | None = None, options: tuple[str, ...] = (), log: Path | None = None,
                poll_s: float = 0.3, root: Path = ROOT, prepare: bool = True):
    """Yield the URL (and with expose_pid, its process id) of a fresh `streamlit run` server; stop it afterwards.
    `options`: more of streamlit's command-line options (--secrets.files PATH, say); `log`: a file for the server's
    output; `poll_s`: how often its health is asked for until it answers (as `streamlit run` opens the browser the
    moment it does); `root`: the project the server runs (another checkout, for a benchmark's baseline);
    `prepare`: yield once the server has prepared (`prepared`), not as soon as it answers (what the first-minute
    test and benchmark race)."""
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
        until(lambda: server.poll() is not None or _answers(f"{url}/_stcore/health") == b"ok", 60,
              "the app starting", every_s=poll_s)
        if server.poll() is not None:
            raise RuntimeError(f"the app exited with {server.returncode} before it answered")
        if prepare and script == "streamlit_app.py":
            prepared(url)
        yield (url, server.pid) if expose_pid else url
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()


@contextlib.contextmanager
def chromium():
    """Debian's Chromium under Playwright, closed afterwards: one per module; each test opens its own page in it."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_FLAGS)
        try:
            yield browser
        finally:
            browser.close()


def open_page(browser, url: str, width: int = 1400, height: int = 1000, explore: bool = True, **context):
    """A page at `url` in a context of its own (no cookie, storage or state from another test: a new visitor);
    waits until the page is idle, and for the Explore page until its canvas and table are shown. `context`: more
    of Playwright's context options (color_scheme, is_mobile, has_touch...)."""
    page = browser.new_context(viewport={"width": width, "height": height}, **context).new_page()
    page.goto(url)
    if explore:
        page.locator("canvas.upper-canvas").wait_for(timeout=120_000)
        page.wait_for_selector('[data-testid="stTable"]', timeout=120_000)
    idle(page)
    return page


@contextlib.contextmanager
def browser_page(url: str, width: int = 1400, height: int = 1000, explore: bool = True, **context):
    """A Chromium of its own with one page at `url` (open_page), closed afterwards."""
    with chromium() as browser:
        yield open_page(browser, url, width, height, explore, **context)


@contextlib.contextmanager
def fresh_page(browser, url: str, **options):
    """A page of its own for one test (open_page), its context closed afterwards."""
    page = open_page(browser, url, **options)
    try:
        yield page
    finally:
        page.context.close()


# --- the page's own word on being idle (ui/idle.py) ------------------------------------------------------------

# True once the page has been idle for three animation frames in a row: Streamlit runs nothing and has no run asked
# for, the app's last run left nothing pending (a rerun it starts itself, a write), the canvas takes strokes, and
# every image has loaded (an image that loads late changes the layout, and the canvas then reports a new size: a
# run the page starts after it looked idle, seen under load). Three frames, not one: a layout change at the end of
# a run reaches the canvas's size report one frame later.
IDLE_JS = """([after, ignoring]) => {
  const app = document.querySelector('[data-testid="stApp"]');
  const marks = document.querySelectorAll('[data-ic-idle]');
  const mark = marks.length === 1 ? marks[0] : null;
  const pending = mark ? mark.dataset.pending.split(' ').filter((r) => r && !ignoring.includes(r)) : ['no run'];
  const now = !!app && app.dataset.testScriptState === 'notRunning' && app.dataset.testConnectionState === 'CONNECTED'
    && !!mark && Number(mark.dataset.run) > after && pending.length === 0
    && !['busy', 'armed'].includes(document.documentElement.dataset.icCanvas)
    && [...document.images].every((image) => image.complete);
  window.__icIdleFrames = now ? (window.__icIdleFrames || 0) + 1 : 0;
  return window.__icIdleFrames >= 3;
}"""


# What the page last said, for a failure's message: Streamlit's run and connection state, the app's word on being
# idle, whether the canvas takes strokes, and how many canvases there are.
STATE_JS = """() => JSON.stringify({
  run: document.querySelector('[data-test-script-state]')?.dataset.testScriptState,
  connection: document.querySelector('[data-test-connection-state]')?.dataset.testConnectionState,
  idle: [...document.querySelectorAll('[data-ic-idle]')].map((m) => ({...m.dataset})),
  canvas: document.documentElement.dataset.icCanvas,
  canvases: [document, ...[...document.querySelectorAll('*')].map((e) => e.shadowRoot).filter(Boolean)]
    .reduce((n, root) => n + root.querySelectorAll('canvas.upper-canvas').length, 0),
})"""

# A list opens by keyboard only once its box has the focus (react-aria marks it data-focused); then it is expanded.
FOCUSED_JS = "e => e.dataset.focused === 'true'"
EXPANDED_JS = "e => e.getAttribute('aria-expanded') === 'true'"


def run_number(page) -> int:
    """The number of the page's last finished run (0 before the first)."""
    return page.evaluate("() => Number((document.querySelector('[data-ic-idle]') || {dataset: {run: 0}}).dataset.run)")


def idle(page, after: int | None = None, ignoring: tuple[str, ...] = (), timeout_s: float = 120) -> int:
    """Wait until the page says it is idle (ui/idle.py), after a run later than `after` (a run number read before
    an action that starts one: the action's own run, not the one before it); `ignoring`: pending reasons that do
    not count (a write that waits for a stopped database). Returns the run number."""
    try:
        page.wait_for_function(IDLE_JS, arg=[-1 if after is None else after, list(ignoring)], polling="raf",
                               timeout=timeout_s * 1000)
    except Exception as exc:  # say what the page said instead
        raise TimeoutError(f"the page was not idle within {timeout_s:.0f} s: {page.evaluate(STATE_JS)}") from exc
    return run_number(page)


def act(page, action, ignoring: tuple[str, ...] = (), timeout_s: float = 120):
    """Do `action()` (a click, a key) that starts a run, and wait until the page is idle after it. Returns what
    `action` returned."""
    before = idle(page, ignoring=ignoring, timeout_s=timeout_s)
    done = action()
    idle(page, after=before, ignoring=ignoring, timeout_s=timeout_s)
    return done


def open_list(page, box: str) -> None:
    """Open the list of the select box labelled `box` as a keyboard does: the focus on it, then the down arrow (a
    first click only focused it). The arrow waits until the box has taken the focus (react-aria marks it
    data-focused: pressed before, it was ignored), and the list is awaited."""
    combobox = page.get_by_role("combobox", name=box, exact=True)
    combobox.focus()
    page.wait_for_function(FOCUSED_JS, arg=combobox.element_handle(), timeout=30_000)
    page.keyboard.press("ArrowDown")
    page.wait_for_function(EXPANDED_JS, arg=combobox.element_handle(), timeout=30_000)


def choose_option(page, box: str, option: str) -> None:
    """Choose `option` in the select box labelled `box` (open_list), and wait for the run it starts."""
    idle(page)
    open_list(page, box)
    act(page, page.get_by_role("option", name=option).first.click)


def retire_canvas(page) -> None:
    """Mark the current canvas: undo, redo, reset and another photo replace it with a fresh one (a removal
    does not: the canvas keeps its strokes while one runs)."""
    page.locator("canvas.upper-canvas").evaluate_all("cs => cs.forEach(c => { c.dataset.icRetired = '1'; })")


def settled(page, timeout_s: float = 120) -> None:
    """Wait until the page is ready for a stroke: idle, with one current canvas (after Undo or a new photo, a
    stale one lingers until the rerun ends) showing its photo."""
    idle(page, timeout_s=timeout_s)
    page.wait_for_function(ONE_CANVAS_JS, polling="raf", timeout=timeout_s * 1000)
    idle(page, timeout_s=timeout_s)


# One current canvas (not marked retired) over one background layer showing its photo. The canvas lives in its
# component's shadow root, so every root is searched.
ONE_CANVAS_JS = """() => {
  const roots = [document, ...[...document.querySelectorAll('*')].map((e) => e.shadowRoot).filter(Boolean)];
  const all = (selector) => roots.flatMap((root) => [...root.querySelectorAll(selector)]);
  const upper = all('canvas.upper-canvas'), background = all('canvas.dc-background-canvas');
  const photo = (c) => c.width > 0 && c.getContext('2d').getImageData(c.width >> 1, c.height >> 1, 1, 1).data[3] > 0;
  return upper.length === 1 && !upper[0].dataset.icRetired && background.length === 1 && photo(background[0]);
}"""


def click(page, button: str) -> None:
    """Click a button that replaces the canvas (Undo, Redo, Reset, a sample), and wait for the new canvas."""
    import re

    settled(page)
    retire_canvas(page)
    before = run_number(page)
    # Undo and Redo name their keyboard shortcut after the label ("Undo Shortcut Ctrl + Z"): match the label's start.
    page.get_by_role("button", name=re.compile("^" + re.escape(button) + r"(\s|$)")).first.click()
    idle(page, after=before)
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
        page.wait_for_timeout(pause_ms)  # a person's pace between strokes: what the test is about, not a wait


def quiet(page, timeout_s: float = 120) -> None:
    """Wait until every stroke painted has been sent, applied, and cleared from the canvas: the page idle."""
    idle(page, timeout_s=timeout_s)


def removals_count(page) -> int:
    import re

    text = page.get_by_text(re.compile(r"^Edited · \d+ removals?$")).last.inner_text()
    return int(re.search(r"(\d+) removal", text).group(1))


def download(page, button: str) -> bytes:
    """The file a download button gives."""
    idle(page)
    with page.expect_download(timeout=60_000) as event:
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
    changed = re.search(r"Top-1 changed:\s*(.+?) \([^)]*%\) → (.+?) \([^)]*%\)", text)
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
