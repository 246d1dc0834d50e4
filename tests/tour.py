"""Every page and state a person reaches, brought about in Chromium the way a person does, and what must never be
on screen in any of them.

The browser test walks the tour and checks each state (`problems_on_screen`, axe-core); `scripts/screenshots.py`
walks the same tour and saves a screenshot of each state at each window size, for a person to look at.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from browser_support import act, errors_shown, idle, paint, removals_shown, settled

TRIPOD_STROKE = [(293, 215), (293, 330), (293, 480)]  # down the tripod's centre column, camera.png pixels
LEG_STROKE = [(290, 330), (262, 420), (240, 500)]
SIZES = {"desktop": (1440, 900), "laptop": (1280, 720), "phone": (390, 844)}

# What Streamlit draws when a page writes something it did not mean to (magic's help block for an object), an
# exception block, or our own boundary's sentence.
HELP_BLOCK = '[data-testid="stHelp"]'
EXCEPTION = '[data-testid="stException"]'

# A character no font has (a private-use code point of plane 16) draws as the "missing glyph" box; any other
# character drawn the same way in the same font is missing too (an emoji on a machine without an emoji font).
MISSING_GLYPHS_JS = r"""
() => {
  const canvas = document.createElement("canvas");
  canvas.width = 48; canvas.height = 48;
  const context = canvas.getContext("2d", { willReadFrequently: true });
  const draw = (text, font) => {
    context.clearRect(0, 0, 48, 48);
    context.font = font;
    context.fillText(text, 4, 36);
    return context.getImageData(0, 0, 48, 48).data.join(",");
  };
  const missing = {};
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const element = node.parentElement;
    if (!element || !element.checkVisibility || !element.checkVisibility()) continue;
    const style = getComputedStyle(element);
    if (/Material Symbols/.test(style.fontFamily)) continue;  // icon names, drawn as ligatures
    const font = `${style.fontStyle} ${style.fontWeight} 24px ${style.fontFamily}`;
    const box = draw("\u{10FFFD}", font);
    for (const character of new Set(node.textContent)) {
      if (character.codePointAt(0) < 0x2000 || /\s/.test(character) || /[\u200b-\u200f\u2060\ufe0f]/.test(character)) continue;
      if (draw(character, font) === box) missing[character] = (missing[character] || "") + " " + node.textContent.trim().slice(0, 40);
    }
  }
  return Object.entries(missing).map(([c, where]) => `${c} (U+${c.codePointAt(0).toString(16)}) in:${where.slice(0, 120)}`);
}
"""


def problems_on_screen(page) -> list[str]:
    """What a person must never see on any page: Streamlit's help text for an object, an exception, our
    "went wrong" sentence, or a box where a character has no glyph."""
    found = []
    if page.locator(HELP_BLOCK).count() or page.get_by_text("Creator of Delta protobuf messages").count():
        found.append("Streamlit's help block for an object the page did not mean to write")
    found += [f"error: {text[:200]}" for text in errors_shown(page)]
    found += [f"missing glyph: {item}" for item in page.evaluate(MISSING_GLYPHS_JS)]
    return found


def accessibility_problems(page, impacts=("critical", "serious")) -> list[str]:
    """axe-core's violations of the given impacts on the page as it is now, one line per rule."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    return [f"{v['id']} ({v['impact']}, {len(v['nodes'])} nodes): {v['help']}; e.g. {v['nodes'][0]['target']}"
            for v in results.response["violations"] if v["impact"] in impacts]


def axe_counts(page) -> dict[str, tuple[str, int]]:
    """{rule: (impact, nodes)} of every axe-core violation on the page, for the closing note's table."""
    from axe_playwright_python.sync_playwright import Axe

    return {v["id"]: (v["impact"], len(v["nodes"])) for v in Axe().run(page).response["violations"]}


# --- getting there ---------------------------------------------------------------------------------------------------

def go(page, link: str, wait_for: str) -> None:
    """Follow one of the sidebar's page links (on a phone, the sidebar is opened first, and closed after)."""
    idle(page)
    target = page.locator('[data-testid="stSidebar"]').get_by_role("link", name=link, exact=True)
    expand = page.get_by_test_id("stExpandSidebarButton")
    collapsed = expand.is_visible()  # a phone
    if collapsed:
        expand.click()
        target.wait_for(state="visible")  # the click below waits for it to stop sliding
    act(page, target.click)
    page.get_by_text(wait_for).first.wait_for(timeout=120_000)
    idle(page)
    if collapsed and not expand.is_visible():
        page.get_by_test_id("stSidebarCollapseButton").first.click()
        expand.wait_for(state="visible")


def explore_after_a_removal(page) -> None:
    paint(page, TRIPOD_STROKE)
    removals_shown(page, 1)


def explore_with_maps(page) -> None:
    """Grad-CAM alone (the fastest map) for the original's top class, after the removal."""
    drop_option(page, "Maps", "Occlusion by inpainting")
    act(page, page.get_by_role("button", name="Compute maps").click, timeout_s=240)
    page.get_by_text("Grad-CAM on the original image").first.wait_for(timeout=60_000)
    settled(page)


def compare_with_results(page) -> None:
    go(page, "Compare", "Classifiers")
    keep_first_only(page, "Classifiers")
    act(page, page.get_by_role("button", name="Compare", exact=True).click, timeout_s=240)
    page.get_by_text("Verdicts").first.wait_for(timeout=60_000)


def _multiselect(page, box: str):
    return page.locator('[data-testid="stMultiSelect"]').filter(has=page.get_by_role("combobox", name=box, exact=True)) \
        .locator(".react-aria-ComboBox")


def chosen_options(page, box: str) -> list[str]:
    """The options chosen in the multiselect `box`, as its chips name them."""
    return [chip.get_attribute("aria-label") for chip in _multiselect(page, box).locator("[data-tag]").all()]


def drop_option(page, box: str, option: str) -> None:
    """Take `option` out of the multiselect `box` with its chip's remove button."""
    remove = _multiselect(page, box).get_by_role("button", name=f"Remove {option}", exact=True)
    if remove.count():
        act(page, remove.click)


def keep_first_only(page, box: str) -> None:
    """Take every chosen option but the first out of the multiselect `box`."""
    for option in chosen_options(page, box)[1:]:
        drop_option(page, box, option)


HISTORY_ROW_PX = 56  # app_pages/history.py's row_height


def history_rows(page, *rows: int) -> None:
    """On the History page, select `rows` (0 is the newest) and no other, as a keyboard does: the focus on a cell
    of a row in the table's accessible grid (Streamlit's data grid keeps one beside its drawing), then Shift+Space.
    The grid keeps its selection across pages; where a row is selected that should not be, the page is loaded
    afresh (a new session selects nothing), since Shift+Space on a selected row did not always take it off."""
    go(page, "History", "experiment")
    line = lambda index: page.locator(f'.st-key-history-table [role=row][aria-rowindex="{index + 2}"]')
    line(max(rows)).wait_for(state="attached")  # the grid writes its accessible rows a moment after it is drawn
    selected = {index for index in range(page.locator(".st-key-history-table [role=row][aria-selected]").count())
                if line(index).get_attribute("aria-selected") == "true"}
    if selected - set(rows):
        page.reload()
        line(max(rows)).wait_for(state="attached")
        idle(page)
        selected = set()
    for index in sorted(set(rows) - selected):
        if page.viewport_size["width"] < 640:  # a phone taps the row's box (Shift+Space on a cell selects nothing there)
            table = page.locator(".st-key-history-table [data-testid=stDataFrameResizable]").first
            table.evaluate("e => e.scrollIntoView({block: 'center'})")  # its rows within the window, to be tapped
            grid = table.bounding_box()
            header = grid["height"] - HISTORY_ROW_PX * page.locator(".st-key-history-table [role=row][aria-selected]").count()
            spot = (grid["x"] + 16, grid["y"] + header + HISTORY_ROW_PX * (index + 0.5))
            act(page, lambda spot=spot: page.mouse.click(*spot))
        else:
            cell = line(index).locator("[role=gridcell]").first
            act(page, lambda cell=cell: (cell.focus(), page.keyboard.press("Shift+Space")))
        assert line(index).get_attribute("aria-selected") == "true", f"row {index} was not selected"


def history_with_one_row(page) -> None:
    history_rows(page, 0)
    page.get_by_text("Removed region").first.wait_for(timeout=60_000)


def history_with_two_rows(page) -> None:
    history_rows(page, 0, 1)
    page.locator('[data-testid="stColumn"]').filter(has_text="Removed region").nth(1).wait_for(timeout=60_000)


def a_share_link(page) -> str:
    """Create a read-only link to the newest experiment and open it; returns the link."""
    history_rows(page, 0)
    page.get_by_text("Share a read-only link").first.click()
    act(page, page.get_by_role("button", name="Create a link").click)
    code = page.locator('[data-testid="stCode"]').filter(has_text="?share=").first
    code.wait_for(timeout=60_000)
    link = re.search(r"\S+\?share=\S+", code.inner_text()).group(0)
    page.goto(link)
    page.get_by_text("A shared experiment").wait_for(timeout=60_000)
    idle(page)
    return link


def sweep_zip() -> bytes:
    """The samples' seven objects in COCO form (six photos, polygons and an RLE): a small sweep with categories."""
    import tempfile
    from pathlib import Path

    from builders import build_coco, zip_folder

    with tempfile.TemporaryDirectory() as folder:
        return zip_folder(build_coco(Path(folder) / "coco", extras=False))


def sweeps_with_a_result(page) -> None:
    go(page, "Sweeps", "A ZIP of a dataset")
    page.locator('[data-testid="stFileUploader"] input[type=file]').set_input_files(
        {"name": "objects.zip", "mimeType": "application/zip", "buffer": sweep_zip()})
    page.get_by_text("objects.zip").first.wait_for(timeout=60_000)
    idle(page)
    act(page, page.get_by_role("button", name="Run the sweep").click, timeout_s=300)  # idle: the sweep has ended
    page.get_by_text("Last sweep").first.wait_for(timeout=60_000)


def sweeps_sliced(page) -> None:
    """A click on the cup's bar (each bar is an SVG element labelled with its slice) filters the rows below to
    the cup's."""
    bar = page.locator(".st-key-sweep-slices-chart-category [aria-roledescription=bar][aria-label*='value: cup;']")
    bar.first.scroll_into_view_if_needed()
    act(page, bar.first.click)
    page.get_by_text("rows in cup").first.wait_for(timeout=60_000)


def explore_from_a_sweep(page) -> None:
    """The first row of the cup's slice opened on Explore: that photo, its cup removed."""
    act(page, page.get_by_role("button", name="Open on Explore").click)
    page.get_by_text("From the sweep").first.wait_for(timeout=120_000)
    settled(page)


# The tour, in the order one visitor walks it (each step starts where the one before left off).
STEPS: list[tuple[str, Callable]] = [
    ("explore", lambda page: settled(page)),
    ("explore-removed", explore_after_a_removal),
    ("explore-maps", explore_with_maps),
    ("compare-results", compare_with_results),
    ("sweeps-result", sweeps_with_a_result),
    ("sweeps-sliced", sweeps_sliced),
    ("explore-from-sweep", explore_from_a_sweep),
    ("history-one-row", history_with_one_row),
    ("history-two-rows", history_with_two_rows),
    ("share-link", a_share_link),
]


def answer_in_view(page) -> dict:
    """Where the answer lies in the window after a removal: the top-1 notice, the table's header and first three
    rows, and the canvas, as (top, bottom) in window pixels, and the window's height."""
    found = page.evaluate("""() => {
      const span = (element) => {
        if (!element) return null;
        const r = element.getBoundingClientRect();
        return [Math.round(r.top), Math.round(r.bottom)];
      };
      const notice = [...document.querySelectorAll('[data-testid=stAlert]')].find((a) => /Top-1 (changed|unchanged)/.test(a.innerText));
      const rows = document.querySelectorAll('[data-testid=stTable] tbody tr');
      return { window: window.innerHeight, notice: span(notice), table: span(document.querySelector('[data-testid=stTable] thead')),
               third_row: span(rows[2]) };
    }""")
    canvas = page.locator("canvas.upper-canvas").bounding_box()  # inside the component's shadow root
    found["canvas"] = [round(canvas["y"]), round(canvas["y"] + canvas["height"])] if canvas else None
    return found
