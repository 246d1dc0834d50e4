"""No one left out (#23), in Chromium with the keyboard alone: a sample chosen with Enter keeps the focus on its
button, a removal made from a mask file and from a box placed with the arrow keys, Undo by keyboard; and the
Compare page keeps its context after a reload and its results across a visit to another page."""

import io

import numpy as np
import pytest
from PIL import Image

from browser_support import act, browser_page, idle, isolated_env, removals_shown, require_chromium, running_app, settled
from tour import answer_in_view, go

pytestmark = pytest.mark.browser

FOCUSED_KEY_JS = """() => { const holder = document.activeElement && document.activeElement.closest('[class*="st-key-"]');
  return holder ? [...holder.classList].find((name) => name.startsWith('st-key-')) : null; }"""


@pytest.fixture(scope="module")
def app_url(tmp_path_factory):
    require_chromium()
    with running_app(isolated_env(tmp_path_factory.mktemp("keyboard"))) as url:
        yield url


def focus_settles_on(page, *keys: str, timeout_ms: int = 30_000) -> str:
    """The widget key the focus ends on once the page is idle (the focus keeper mends it a frame after a
    rerun, ui/focus.py); fails naming where it is if that is none of `keys`."""
    idle(page)
    try:
        page.wait_for_function(f"keys => keys.includes(({FOCUSED_KEY_JS})())", arg=[f"st-key-{k}" for k in keys],
                               timeout=timeout_ms)
    except Exception:
        raise AssertionError(f"the focus is on {page.evaluate(FOCUSED_KEY_JS)}, not on {keys}") from None
    return page.evaluate(FOCUSED_KEY_JS)


def tab_to(page, key: str, presses: int = 80) -> int:
    """Press Tab until the focus is on the widget with Streamlit key `key`; how many presses it took."""
    for count in range(1, presses + 1):
        page.keyboard.press("Tab")
        if page.evaluate(FOCUSED_KEY_JS) == f"st-key-{key}":
            return count
    raise AssertionError(f"{key} was not reached with {presses} presses of Tab")


def test_a_sample_chosen_with_enter_keeps_the_focus_and_is_near_the_top(app_url):
    with browser_page(app_url, 1440, 900) as page:
        settled(page)
        page.evaluate("() => document.activeElement && document.activeElement.blur()")
        presses = tab_to(page, "sample-coffee-png")
        assert presses <= 9, presses  # the skip link, the four pages, the source, the first sample, the second
        act(page, lambda: page.keyboard.press("Enter"))
        page.get_by_text("Original · coffee.png").wait_for(timeout=60_000)
        settled(page)
        focus_settles_on(page, "sample-coffee-png")  # not thrown back to the top
        page.keyboard.press("Shift+Tab")  # camera, the first sample, just before it
        assert page.evaluate(FOCUSED_KEY_JS) == "st-key-sample-camera-png"
        page.keyboard.press("Enter")
        page.get_by_text("Original · camera.png").wait_for(timeout=60_000)


def mask_png() -> bytes:
    mask = np.zeros((512, 512), np.uint8)
    mask[200:480, 270:320] = 255  # a band down the tripod
    buffer = io.BytesIO()
    Image.fromarray(mask).save(buffer, format="PNG")
    return buffer.getvalue()


def test_a_removal_from_a_mask_file_and_undo_without_a_pointer(app_url):
    with browser_page(app_url, 1440, 900) as page:
        settled(page)
        opener = page.locator("summary").filter(has_text="Remove with a mask file")
        opener.focus()
        page.keyboard.press("Enter")
        uploader = page.locator('[data-testid="stMain"] [data-testid="stFileUploader"] input[type=file]')
        uploader.set_input_files({"name": "tripod.png", "mimeType": "image/png", "buffer": mask_png()})  # the file dialog
        page.get_by_text("The mask covers").wait_for(timeout=60_000)
        settled(page)
        page.get_by_role("button", name="Remove the masked region").focus()
        page.keyboard.press("Enter")
        removals_shown(page, 1)
        page.get_by_role("button", name="Undo").first.focus()
        act(page, lambda: page.keyboard.press("Enter"))
        removals_shown(page, 0)
        focus_settles_on(page, "redo", "undo", "reset")  # still in the toolbar


def test_an_object_selected_and_removed_with_the_arrow_keys(app_url):
    with browser_page(app_url, 1440, 900) as page:
        settled(page)
        tool = page.get_by_role("radio", name="Select an object (box, then clicks)")
        tool.focus()
        act(page, lambda: page.keyboard.press("Space"))
        opener = page.locator("summary").filter(has_text="Select with the keyboard")
        opener.wait_for(timeout=60_000)
        settled(page)
        opener.focus()
        page.keyboard.press("Enter")
        across = page.get_by_role("slider", name="Box across (% of the width)")
        across.first.focus()
        for _ in range(20):  # its left edge from 25% to 45%
            page.keyboard.press("ArrowRight")
        page.keyboard.press("Tab")  # its right edge, 75%: back to 65%
        for _ in range(10):
            page.keyboard.press("ArrowLeft")
        down = page.get_by_role("slider", name="Box down (% of the height)")
        down.first.focus()
        for _ in range(10):  # its top from 25% to 35%
            page.keyboard.press("ArrowRight")
        # the sliders send their values a moment after the last key: the server's word that it has them
        page.get_by_text("The box outlined on the canvas: 45–65% across, 35–75% down.").wait_for(timeout=60_000)
        settled(page)
        page.get_by_role("button", name="Select the box").focus()
        act(page, lambda: page.keyboard.press("Enter"))
        page.get_by_text("Selected:").wait_for(timeout=60_000)
        settled(page)
        page.get_by_role("button", name="Remove the selection").focus()
        page.keyboard.press("Enter")
        removals_shown(page, 1)
        settled(page)
        # the answer in the window, and the focus on a control (not dropped to the page's top)
        found = answer_in_view(page)
        assert found["notice"] and 0 <= found["notice"][0] and found["notice"][1] <= found["window"], found
        assert page.evaluate("() => document.activeElement && document.activeElement !== document.body"), \
            page.evaluate("() => document.activeElement && document.activeElement.outerHTML.slice(0, 200)")


def test_compare_keeps_its_context_after_a_reload_and_its_results_across_pages(app_url):
    from browser_support import paint
    from tour import TRIPOD_STROKE, keep_first_only

    with browser_page(app_url, 1440, 900) as page:
        paint(page, TRIPOD_STROKE)
        removals_shown(page, 1)
        go(page, "Compare", "Classifiers")
        keep_first_only(page, "Classifiers")
        act(page, page.get_by_role("button", name="Compare", exact=True).click, timeout_s=240)
        page.get_by_text("Verdicts").first.wait_for(timeout=60_000)
        go(page, "History", "experiment")
        go(page, "Compare", "Classifiers")
        assert page.get_by_text("Verdicts").count() == 1  # the results of the same edit, still there
        page.reload()
        page.get_by_text("Comparing your current edit on the Explore page (1 removal)").wait_for(timeout=120_000)
        assert page.get_by_text("Remove something on the Explore page first").count() == 0


VISIBLE_FOCUS_JS = """() => { const e = document.activeElement; if (!e || e === document.body) return null;
  const r = e.getBoundingClientRect(), style = getComputedStyle(e);
  const label = e.getAttribute('aria-label') || (e.labels && e.labels[0] && e.labels[0].innerText) || e.innerText || '';
  return {name: label.trim().slice(0, 60), role: e.getAttribute('role') || e.type || e.tagName.toLowerCase(),
          shown: r.width > 0 && r.height > 0 && r.right > 0 && r.left < innerWidth && style.visibility !== 'hidden',
          sidebar: !!e.closest('[data-testid=stSidebar]'),
          ring: style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) >= 2}; }"""


SIDEBAR_IN_PLACE_JS = """() => { const bar = document.querySelector('[data-testid=stSidebar]');
  if (!bar) return false; const left = bar.getBoundingClientRect().left;
  const settled = window.__sidebarLeft === left; window.__sidebarLeft = left; return left >= 0 && settled; }"""


def tab_stops(page, until, presses: int = 60) -> list[dict]:
    """Every focus stop from here until `until(stop)` holds, each with its name and whether a person sees it."""
    stops = []
    for _ in range(presses):
        page.keyboard.press("Tab")
        stop = page.evaluate(VISIBLE_FOCUS_JS) or {"name": "(the page)", "role": "", "shown": True, "sidebar": False}
        stops.append(stop)
        if until(stop):
            return stops
    raise AssertionError(f"not reached in {presses} presses of Tab: {[s['name'] for s in stops]}")


def at_the_tools(stop: dict) -> bool:
    return stop["role"] == "radio" and stop["name"] == "Freehand brush"


@pytest.mark.parametrize("size", [(390, 844), (1440, 900)], ids=["phone", "desktop"])
def test_tab_from_a_fresh_load_never_stops_on_a_hidden_control_and_reaches_the_drawing_tools(app_url, size):
    """A phone's collapsed sidebar lies off screen: its controls held 23 invisible Tab stops before "Expand
    sidebar" and the same after it closed. Opened by the keyboard, it takes the focus (it fell to the page) and the
    tools (whose "Select an object" is the keyboard's way to remove) are a few Tabs on; closed, it gives the focus
    back to its button."""
    with browser_page(app_url, *size) as page:
        settled(page)
        phone = size[0] < 640
        stops = tab_stops(page, (lambda stop: stop["name"] == "Expand sidebar") if phone else at_the_tools)
        assert [stop["name"] for stop in stops if not stop["shown"]] == []
        assert [stop["name"] for stop in stops if not stop.get("ring", True)] == []  # a 2 px ring (style.css)
        if phone:
            page.keyboard.press("Enter")
            page.wait_for_function(f"() => {{ const s = ({VISIBLE_FOCUS_JS})(); return s && s.sidebar && s.shown; }}")
            page.wait_for_function(SIDEBAR_IN_PLACE_JS)  # it slides in: a stop measured mid-way is still off screen
            inside = tab_stops(page, at_the_tools)
            assert [stop["name"] for stop in inside if not stop["shown"]] == []
            stops += [{"name": "(Enter)"}] + inside
        print(f"{size[0]}x{size[1]}: {len(stops)} keys to the drawing tools: {[stop['name'] for stop in stops]}")
        assert len(stops) <= 20
        if phone:
            page.get_by_test_id("stSidebarCollapseButton").first.click()
            page.wait_for_function("() => document.activeElement && document.activeElement.closest("
                                   "'[data-testid=stExpandSidebarButton]')")
            after = tab_stops(page, lambda stop: stop["name"] == "Got it" or stop["name"] == "(the page)")
            assert [stop["name"] for stop in after if not stop["shown"] or stop["sidebar"]] == []
