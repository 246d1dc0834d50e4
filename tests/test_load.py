"""Many visitors at once: 8 headless pages paint removals with Telea for 60 seconds against one server, or split
across two servers (replicas) on one PostgreSQL database.

Bounded in count and time, loopback only. Two of the visitors upload a 64-megapixel photo (192 MB decoded) rather
than pick a sample. Checks: nothing lost (every stroke's pixels are in the page's final mask, and History keeps
exactly the removals the page shows), no errors, no cross-talk (each page keeps its own image, results and
history), a responsive server (compute is serialised, not 8 models fighting over 2 cores), and memory within the
budget of a free host (under 2 GB resident). Prints strokes painted and applied, removals shown and rows saved,
the slowest response and the servers' memory.
"""

import asyncio
import contextlib
import re
import time
import weakref
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest

from ic.history import HistoryStore

from browser_support import (
    CHROMIUM_FLAGS,
    EXPANDED_JS,
    FOCUSED_JS,
    IDLE_JS,
    ONE_CANVAS_JS,
    STATE_JS,
    chromium_path,
    isolated_env,
    require_chromium,
    running_app,
)

pytestmark = [pytest.mark.load, pytest.mark.browser]

PAGES = 8
DURATION_S = 60
SAMPLES = ["camera", "coffee", "rocket", "chelsea", "astronaut", "grace_hopper"]
LARGE = {0: "large-a", 5: "large-b"}  # visitors who upload a 64-megapixel photo instead of picking a sample
MEMORY_BUDGET_MB = 2048


def large_photo(folder: Path, name: str, seed: int) -> Path:
    """A 8000x8000 JPEG (64 megapixels, the most the app takes): a sample enlarged, a different one per name."""
    from PIL import Image

    from conftest import SAMPLES as SAMPLE_FOLDER

    path = folder / f"{name}.jpg"
    if not path.exists():
        source = ["chelsea.png", "coffee.png"][seed % 2]
        Image.open(SAMPLE_FOLDER / source).convert("RGB").resize((8000, 8000)).save(path, quality=85)
    return path
# Where each visitor's strokes go, as shares of the canvas: every stroke at its own place, so the final mask
# tells which strokes were applied.
STROKE_PLACES = [(0.08 + 0.084 * (i % 10), 0.1 + 0.22 * (i // 10)) for i in range(40)]
STROKE_LENGTH = 0.08


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def idle(page, after: int = -1, timeout_s: float = 180) -> int:
    """browser_support.idle, for the asynchronous API: the page's own word (ui/idle.py) that no run is on its way,
    none pending, nothing unsaved and the canvas takes strokes; after a run later than `after`."""
    try:
        await page.wait_for_function(IDLE_JS, arg=[after, []], polling="raf", timeout=timeout_s * 1000)
    except Exception as exc:
        raise TimeoutError(f"not idle within {timeout_s:.0f} s at {page.url}; {await described(page)}") from exc
    return await page.evaluate("() => Number(document.querySelector('[data-ic-idle]').dataset.run)")


CRASHED = weakref.WeakSet()  # pages whose renderer crashed (Playwright's "crash" event)


async def described(page) -> str:
    """What the page says of itself and shows, for a failure's message: each look bounded, since a page that has
    crashed or hangs answers nothing (the failure it explains must not turn into a wait of its own)."""
    looks = {"the page said": page.evaluate(STATE_JS),
             "on screen": page.evaluate("() => document.body ? document.body.innerText.slice(0, 600) : '(no body)'")}
    told = []
    for what, look in looks.items():
        try:
            told.append(f"{what}: {' '.join(str(await asyncio.wait_for(look, 10)).split())}")
        except Exception as exc:  # noqa: BLE001 - any failure to look is itself the news
            told.append(f"{what}: (no answer: {type(exc).__name__})")
    if page in CRASHED:
        told.append("Chromium's renderer for this page had crashed")
    return "; ".join(told)


async def act(page, action) -> None:
    """`await action()`, a click that starts a run, once the page is idle; then idle after that run."""
    before = await idle(page)
    await action()
    await idle(page, after=before)


async def canvas_box(page) -> dict:
    """The canvas, once the page is ready for a stroke (see browser_support.settled): idle, with one canvas showing
    its photo. A canvas replaced between that look and its measure (a run under this load) is looked for again."""
    for _ in range(10):
        await idle(page)
        await page.wait_for_function(ONE_CANVAS_JS, polling="raf", timeout=180_000)
        box = await page.locator("canvas.upper-canvas").bounding_box()
        if box:
            return box
    raise TimeoutError(f"the canvas kept being replaced at {page.url}; the page said {await page.evaluate(STATE_JS)}")


async def removals_shown(page) -> int:
    # the newest, where a rerun briefly shows two
    text = await page.get_by_text(re.compile(r"^Edited · \d+ removals?$")).last.inner_text(timeout=120_000)
    return int(re.search(r"(\d+) removal", text).group(1))


async def visitor(browser, url: str, store: HistoryStore, folder: Path, index: int, start: dict, results: list):
    page = await browser.new_page(viewport={"width": 1400, "height": 1000})
    page.on("crash", CRASHED.add)
    sample = LARGE.get(index) or SAMPLES[index % len(SAMPLES)]
    async with start["one_at_a_time"]:  # pages open one after another; then all of them paint at once
        await page.goto(url)
        await page.locator("canvas.upper-canvas").wait_for(timeout=120_000)
        await page.locator('[data-testid="stTable"]').wait_for(timeout=120_000)
        await idle(page)  # no run of the page's own to close the menu
        combobox = page.get_by_role("combobox", name="Inpainter", exact=True)  # browser_support.open_list
        await combobox.focus()
        await page.wait_for_function(FOCUSED_JS, arg=await combobox.element_handle())
        await page.keyboard.press("ArrowDown")
        await page.wait_for_function(EXPANDED_JS, arg=await combobox.element_handle())
        await act(page, page.get_by_role("option", name="OpenCV Telea").click)
        if index in LARGE:
            await act(page, page.locator('[data-testid="stSidebar"]').get_by_text("Upload", exact=True).click)
            await act(page, lambda: page.locator('[data-testid="stSidebar"] input[type="file"]').set_input_files(
                large_photo(folder, sample, index)))
        else:
            await act(page, page.get_by_role("button", name=sample, exact=True).click)
        await page.get_by_text(re.compile(rf"^Original · {sample}\.")).first.wait_for(timeout=180_000)
        await idle(page)
        start["opened"] += 1
        if start["opened"] == PAGES:
            start["all_open"].set()
    await start["painting"].wait()
    deadline = start["deadline"]
    strokes, slowest, errors, late, missed = [], 0.0, [], 0, 0
    while time.monotonic() < deadline and len(strokes) < len(STROKE_PLACES):
        box = await canvas_box(page)
        shown = await removals_shown(page)
        fx, fy = STROKE_PLACES[len(strokes)]
        x, y = box["x"] + box["width"] * fx, box["y"] + box["height"] * fy
        began = time.monotonic()
        await page.mouse.move(x, y)
        await page.mouse.down()
        await page.mouse.move(x, y + box["height"] * STROKE_LENGTH, steps=4)
        await page.mouse.up()
        # The page marks a stroke that ended on the canvas at once ("armed"). Under this load a pointer can miss
        # the canvas while the page redraws: the user sees nothing painted, and it is not a stroke to count.
        if not await page.evaluate("['armed', 'busy'].includes(document.documentElement.dataset.icCanvas)"):
            missed += 1
            continue
        strokes.append((fx, fy))
        try:
            await page.get_by_text(re.compile(rf"^Edited · {shown + 1} removals?$")).first.wait_for(timeout=30_000)
        except Exception:  # slow: counted; the stroke stays on the canvas and is checked in the final mask
            late += 1
            continue
        slowest = max(slowest, time.monotonic() - began)
        errors += await page.locator('[data-testid="stException"]').all_inner_texts()
    await idle(page)  # every stroke sent, applied, drawn and saved
    visitor_id = parse_qs(urlparse(page.url).query)["visitor"][0]
    served = await removals_shown(page)
    errors += await page.locator('[data-testid="stException"]').all_inner_texts()  # the last runs' too
    header = await page.get_by_text(re.compile(r"^Original · ")).last.inner_text()
    results.append({"index": index, "sample": sample, "served": served, "strokes": strokes, "slowest_s": slowest,
                    "errors": errors, "late": late, "missed": missed, "header": header, "visitor": visitor_id})
    await page.close()


def applied(store: HistoryStore, visitor: str, strokes: list[tuple[float, float]]) -> tuple[int, int]:
    """(strokes whose pixels are in the visitor's final mask, strokes painted). The newest experiment's mask
    is the union of every removal, as kept in History."""
    rows = store.experiments.list(visitor)
    if not rows:
        return 0, len(strokes)
    mask = store.experiments.get(rows[0].id, visitor).images["mask"]
    height, width = mask.shape
    hits = sum(bool(mask[int(height * (fy + STROKE_LENGTH / 2)), int(width * fx)]) for fx, fy in strokes)
    return hits, len(strokes)


async def run_load(servers: list[tuple[str, int]], store: HistoryStore, folder: Path):
    """The visitors, spread over `servers` ((url, pid) each); returns their results and each server's memory."""
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_FLAGS)
        results, memory, opened_at = [], {pid: [] for _, pid in servers}, {}
        start = {"one_at_a_time": asyncio.Lock(), "opened": 0, "all_open": asyncio.Event(), "painting": asyncio.Event()}
        ended = asyncio.Event()

        async def sample_memory(until: asyncio.Event, every_s: float) -> None:
            """Each server's resident memory, every `every_s` (a measurement's pace, not a wait), until `until`."""
            while not until.is_set():
                for _, pid in servers:
                    memory[pid].append(rss_mb(pid))
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(until.wait(), every_s)

        async def start_when_all_open() -> None:
            await sample_memory(start["all_open"], 0.5)
            opened_at.update({pid: len(memory[pid]) for _, pid in servers})  # where the painting minute starts
            start["deadline"] = time.monotonic() + DURATION_S
            start["painting"].set()
            await sample_memory(ended, 1.0)

        watcher = asyncio.create_task(start_when_all_open())
        await asyncio.gather(*(visitor(browser, servers[i % len(servers)][0], store, folder, i, start, results)
                               for i in range(PAGES)))
        ended.set()
        await watcher
        await browser.close()
        return results, {pid: (trace, trace[opened_at[pid]]) for pid, trace in memory.items()}


def check(results: list, memory: dict, store: HistoryStore, what: str) -> None:
    for r in results:
        r["saved"] = store.experiments.count(r["visitor"])
        r["applied"], r["strokes"] = applied(store, r["visitor"], r["strokes"])
    total = {key: sum(r[key] for r in results) for key in ("strokes", "applied", "served", "saved", "late", "missed")}
    slowest = max(r["slowest_s"] for r in results)
    peaks = ", ".join(f"{opened:.0f} MB with every page open, peak {max(trace):.0f} MB" for trace, opened in memory.values())
    print(f"\nload ({what}): {PAGES} pages for {DURATION_S} s, {len(LARGE)} of them on a 64-megapixel upload: "
          f"{total['strokes']} strokes painted, {total['applied']} applied (their pixels in the final mask), "
          f"{total['served']} removals shown, {total['saved']} rows saved; {total['late']} shown later than 30 s; "
          f"{total['missed']} missed the canvas; slowest response {slowest:.1f} s; server memory {peaks}")
    assert len(results) == PAGES
    assert all(not r["errors"] for r in results)
    for r in results:  # nothing lost: every stroke removed, every removal shown is kept, once
        assert r["applied"] == r["strokes"], r
        assert r["saved"] == r["served"], r
        assert 1 <= r["served"] <= r["strokes"], r
    assert all(r["served"] >= 2 for r in results), "a visitor was starved"
    assert slowest < 30, "the server stopped responding"
    for r in results:  # no cross-talk: each page still shows its own photo and only its own history
        assert f"{r['sample']}." in r["header"]
        assert {row.image_name.split(".")[0] for row in store.experiments.list(r["visitor"])} == {r["sample"]}
    assert len({r["visitor"] for r in results}) == PAGES
    for trace, opened in memory.values():
        assert max(trace) < MEMORY_BUDGET_MB, f"a server went over {MEMORY_BUDGET_MB} MB resident"
        assert max(trace) - opened < 1000, "server memory kept growing while the visitors painted"


def test_eight_visitors_for_a_minute(tmp_path):
    require_chromium()
    data = tmp_path / "data"
    env = isolated_env(tmp_path)
    with running_app(env, expose_pid=True) as server:
        store = HistoryStore(data)
        results, memory = asyncio.run(run_load([server], store, tmp_path))
    check(results, memory, store, "one server, SQLite")


def test_eight_visitors_on_two_replicas_of_one_database(postgres, tmp_path):
    """Two servers, one PostgreSQL database: each visitor stays on one server (a proxy's sticky session)."""
    require_chromium()
    url = postgres.new_database()
    env = {**isolated_env(tmp_path), "IC_DATABASE_URL": url, "IC_DATA_DIR": str(tmp_path / "unused")}
    with running_app(env, expose_pid=True) as first, running_app(env, expose_pid=True) as second:
        store = HistoryStore(url=url)
        results, memory = asyncio.run(run_load([first, second], store, tmp_path))
    check(results, memory, store, "two servers, one PostgreSQL database")
