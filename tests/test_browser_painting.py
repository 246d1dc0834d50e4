"""Painting like a real editor (#16), in Chromium: canvas and original at one size for any aspect ratio, shapes
that remove exactly what was drawn, the eraser, selecting the tripod by a box and clicks, keeping only the
selection, and a phone's layout."""

import io

import numpy as np
import pytest
from PIL import Image

from ic.images import decode_mask

from browser_support import (
    act,
    browser_page,
    canvas_box,
    click,
    download,
    errors_shown,
    isolated_env,
    paint,
    removals_shown,
    require_chromium,
    running_app,
    settled,
)
from conftest import SAMPLES

pytestmark = pytest.mark.browser

TRIPOD_BOX = (226, 186, 415, 508)  # the tripod mask's tight box (camera.png pixels), its foot kept inside the canvas


@pytest.fixture(scope="module")
def app_url(tmp_path_factory):
    require_chromium()
    with running_app(isolated_env(tmp_path_factory.mktemp("painting"))) as url:
        yield url


def removed_mask(page) -> np.ndarray:
    data = download(page, "Mask (PNG)")
    return np.asarray(Image.open(io.BytesIO(data)).convert("L")) > 127


def choose_tool(page, label: str) -> None:
    settled(page)
    act(page, page.locator('[data-testid="stSidebar"]').get_by_text(label, exact=False).first.click)
    settled(page)


def drag(page, start, end) -> None:
    """A mouse drag between two points given in camera.png's pixels."""
    box = canvas_box(page)
    to_screen = lambda x, y: (box["x"] + x * box["width"] / 512, box["y"] + y * box["height"] / 512)
    page.mouse.move(*to_screen(*start))
    page.mouse.down()
    for t in (0.25, 0.5, 0.75, 1.0):
        page.mouse.move(*to_screen(start[0] + (end[0] - start[0]) * t, start[1] + (end[1] - start[1]) * t))
    page.mouse.up()


def tap(page, point) -> None:
    box = canvas_box(page)
    page.mouse.click(box["x"] + point[0] * box["width"] / 512, box["y"] + point[1] * box["height"] / 512)


# The original as drawn: loaded, and at its own shape (while a new photo's image loads, the element is its
# placeholder's size: 350 x 26 pixels once, which failed a CI run)
ORIGINAL_DRAWN_JS = """() => {
  const img = document.querySelector('[data-testid="stMain"] [data-testid="stImage"] img');
  if (!img || !img.complete || !img.naturalWidth) return false;
  const box = img.getBoundingClientRect();
  return box.width > 0 && Math.abs(box.height / box.width - img.naturalHeight / img.naturalWidth) < 0.02;
}"""


def shown_sizes(page) -> tuple[dict, dict]:
    page.wait_for_function(ORIGINAL_DRAWN_JS, timeout=60_000)
    canvas = page.locator("canvas.upper-canvas").bounding_box()
    return canvas, page.locator('[data-testid="stMain"] [data-testid="stImage"] img').first.bounding_box()


def portrait_png() -> bytes:
    photo = Image.open(SAMPLES / "astronaut.png").convert("RGB").resize((300, 600))
    buffer = io.BytesIO()
    photo.save(buffer, format="PNG")
    return buffer.getvalue()


def test_canvas_and_original_are_one_size_for_landscape_and_portrait(app_url):
    with browser_page(app_url) as page:
        click(page, "coffee")
        canvas, original = shown_sizes(page)
        assert abs(canvas["width"] - original["width"]) <= 2 and abs(canvas["height"] - original["height"]) <= 2
        assert canvas["width"] / canvas["height"] == pytest.approx(1.5, abs=0.02)
        act(page, page.locator('[data-testid="stSidebar"]').get_by_text("Upload", exact=True).click)
        page.locator('[data-testid="stSidebar"] [data-testid="stFileUploader"] input[type=file]').set_input_files(
            {"name": "tall.png", "mimeType": "image/png", "buffer": portrait_png()})
        page.get_by_text("Original · tall.png").wait_for(timeout=120_000)
        settled(page)
        canvas, original = shown_sizes(page)
        assert abs(canvas["width"] - original["width"]) <= 2 and abs(canvas["height"] - original["height"]) <= 2
        assert canvas["y"] + canvas["height"] <= 1000  # the whole canvas fits in the window
        page.reload()  # the next run, and a new session, show it at the same size
        page.get_by_text("Original · tall.png").wait_for(timeout=120_000)
        settled(page)
        again, _ = shown_sizes(page)
        assert abs(again["width"] - canvas["width"]) <= 2 and abs(again["height"] - canvas["height"]) <= 2
        assert errors_shown(page) == []


def test_a_rectangle_removes_its_own_area(app_url):
    with browser_page(app_url) as page:
        choose_tool(page, "Rectangle")
        drag(page, (100, 100), (300, 250))
        removals_shown(page, 1)
        removed = removed_mask(page)
        drawn = 200 * 150 / 512 ** 2
        assert abs(removed.mean() - drawn) < 0.01, (removed.mean(), drawn)  # the brush width adds nothing
        ys, xs = np.nonzero(removed)
        assert abs(xs.min() - 100) <= 4 and abs(xs.max() - 300) <= 4 and abs(ys.min() - 100) <= 4


def test_a_rectangle_released_outside_the_canvas_is_removed_at_once(app_url):
    with browser_page(app_url) as page:
        choose_tool(page, "Rectangle")
        box = canvas_box(page)
        page.mouse.move(box["x"] + box["width"] * 0.6, box["y"] + box["height"] * 0.6)
        page.mouse.down()
        for t in (0.25, 0.5, 0.75, 1.0):  # past the canvas's bottom right corner
            page.mouse.move(box["x"] + box["width"] * (0.6 + 0.6 * t), box["y"] + box["height"] * (0.6 + 0.6 * t))
        page.mouse.up()
        removals_shown(page, 1, timeout_ms=30_000)  # not left on the canvas until the next stroke
        removed = removed_mask(page)
        ys, xs = np.nonzero(removed)
        assert abs(xs.min() - 0.6 * 512) <= 6 and abs(ys.min() - 0.6 * 512) <= 6 and xs.max() >= 505 and ys.max() >= 505


def test_the_eraser_takes_back_part_of_a_stroke_before_it_is_removed(app_url):
    with browser_page(app_url) as page:
        act(page, page.get_by_text("Remove as soon as a stroke ends").click)
        settled(page)
        paint(page, [(60, 380), (260, 380)])
        page.get_by_role("button", name="Clear strokes").wait_for(timeout=30_000)
        choose_tool(page, "Eraser")
        paint(page, [(160, 380), (290, 380)])
        settled(page)
        page.get_by_role("button", name="Remove painted region with PatchMatch").click()
        removals_shown(page, 1)
        removed = removed_mask(page)
        assert removed[370:390, 70:140].mean() > 0.8  # the part left
        assert removed[370:390, 180:250].mean() < 0.05  # the part erased
        assert errors_shown(page) == []


def test_selecting_the_tripod_by_a_box_and_removing_it(app_url, capsys):
    truth = decode_mask(SAMPLES / "camera_tripod_mask.png", (512, 512))
    with browser_page(app_url) as page:
        choose_tool(page, "Select an object")
        drag(page, TRIPOD_BOX[:2], TRIPOD_BOX[2:])
        page.get_by_text("Selected:").wait_for(timeout=60_000)
        settled(page)
        page.get_by_role("button", name="Remove the selection").click()
        removals_shown(page, 1)
        removed = removed_mask(page)
        iou = (removed & truth).sum() / (removed | truth).sum()
        with capsys.disabled():
            print(f"\nobject selection from the tripod's box: IoU {iou:.3f} against camera_tripod_mask.png")
        assert iou >= 0.45
        click(page, "Undo")
        drag(page, TRIPOD_BOX[:2], TRIPOD_BOX[2:])
        page.get_by_text("Selected:").wait_for(timeout=60_000)
        settled(page)
        page.get_by_role("button", name="Keep only the selection").click()
        removals_shown(page, 1)
        assert removed_mask(page).mean() > 0.8  # everything but the tripod was replaced
        assert errors_shown(page) == []


def test_a_phone_sees_tools_first_and_the_answer_under_the_canvas_without_scrolling_sideways(app_url):
    with browser_page(app_url, width=390, height=844) as page:
        settled(page)
        assert page.evaluate("() => document.scrollingElement.scrollWidth <= window.innerWidth + 1")
        canvas = page.locator("canvas.upper-canvas").bounding_box()
        table = page.locator('[data-testid="stTable"]').first.bounding_box()
        original = page.get_by_text("Original · ").first.bounding_box()
        assert canvas["x"] >= 0 and canvas["x"] + canvas["width"] <= 390
        assert canvas["y"] + canvas["height"] < table["y"] < original["y"]  # the answer before the original
        page.get_by_test_id("stExpandSidebarButton").click()
        sidebar = page.locator('[data-testid="stSidebar"]')
        sidebar.get_by_text("Drawing tool").wait_for(state="visible")
        tools = sidebar.get_by_text("Drawing tool").bounding_box()
        gallery = sidebar.get_by_role("button", name="camera", exact=True).bounding_box()
        assert tools["y"] < gallery["y"]


def test_the_same_stroke_removes_the_same_share_of_the_photo_on_a_phone_and_on_a_desktop(app_url):
    """The brush is a share of the photo's longer side, not screen pixels: in pixels, one stroke over the tripod
    dropped its class 2.8 points on a desktop and 14.5 on a phone, where the photo is drawn a third as wide."""
    stroke = [(320, 200), (320, 300), (330, 400), (340, 480)]  # camera.png's own pixels, down the tripod
    shares = {}
    for name, size in (("phone", (390, 844)), ("desktop", (1440, 900))):
        with browser_page(app_url, *size) as page:
            settled(page)
            paint(page, stroke)
            removals_shown(page, 1)
            shares[name] = float(removed_mask(page).mean())
    print(f"removed by one stroke: {shares}")
    assert shares["desktop"] > 0.005, shares
    assert abs(shares["phone"] - shares["desktop"]) < 0.15 * shares["desktop"], shares
