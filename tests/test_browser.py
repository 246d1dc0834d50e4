"""The Explore page in a real browser: paint over the tripod, watch the table change, undo."""

import numpy as np
import pytest

from browser_support import (
    act,
    background_pixels,
    chromium,
    click,
    errors_shown,
    fresh_page,
    isolated_env,
    near_stroke,
    paint,
    removals_shown,
    require_chromium,
    running_app,
    settled,
    table_rows,
    table_text,
    wait_for_table_change,
)

pytestmark = pytest.mark.browser

TRIPOD_STROKE = [(293, 215), (293, 330), (293, 480)]  # down the tripod's centre column, camera.png pixels
BRUSH = 28  # the page's default brush, in canvas pixels


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    """One prepared server and one Chromium for the module; each test opens its own page (a new visitor)."""
    require_chromium()
    with running_app(isolated_env(tmp_path_factory.mktemp("browser-data"))) as url, chromium() as browser:
        yield url, browser


@pytest.fixture(params=[1400, 1000], ids=["wide", "narrow"])
def page(request, app):
    url, browser = app
    with fresh_page(browser, url, width=request.param) as page:
        yield page


def test_painting_over_the_tripod_removes_it_and_undo_restores_the_numbers(page):
    removals_shown(page, 0)
    original_table = table_text(page)
    original_rows = table_rows(page)
    assert original_rows[0]["class"] == "tripod" and float(original_rows[0]["original %"]) > 90
    assert original_rows[0]["edited %"] == original_rows[0]["original %"]
    before = background_pixels(page)

    paint(page, TRIPOD_STROKE)
    removals_shown(page, 1)
    if table_text(page) == original_table:
        wait_for_table_change(page, original_table)
    after = background_pixels(page)

    changed = np.abs(after.astype(int) - before.astype(int)).max(axis=2) > 8
    inside = near_stroke(changed.shape, TRIPOD_STROKE, BRUSH / 2)
    allowed = near_stroke(changed.shape, TRIPOD_STROKE, BRUSH / 2 + 4)  # antialiased stroke edge, display resampling
    assert changed[inside].mean() > 0.3, "the painted region did not change"
    assert not changed[~allowed].any(), "pixels changed away from the stroke"

    tripod = next(row for row in table_rows(page) if row["class"] == "tripod")
    assert float(tripod["edited %"]) < float(tripod["original %"]) - 5
    assert float(tripod["change (pt)"]) < -5
    assert errors_shown(page) == []

    click(page, "Undo")
    removals_shown(page, 0)
    page.wait_for_function("t => document.querySelector('[data-testid=\"stTable\"]').innerText === t",
                           arg=original_table, timeout=30_000)
    assert table_rows(page) == original_rows
    assert np.array_equal(background_pixels(page), before)
    assert errors_shown(page) == []


def test_the_canvas_toolbar_never_competes_with_undo(page):
    settled(page)
    page.locator("canvas.upper-canvas").hover()  # the component shows its toolbar on hover
    page.locator(".dc-toolbar").wait_for(state="attached")
    assert page.locator(".dc-toolbar").count() == 1
    assert page.locator(".dc-toolbar").evaluate("e => getComputedStyle(e).display") == "none"


def test_apply_on_button_waits_for_the_button(page):
    act(page, page.get_by_text("Remove as soon as a stroke ends").click)
    settled(page)
    paint(page, [(120, 330), (180, 330)])
    button = page.get_by_role("button", name="Remove painted region with PatchMatch")
    button.wait_for(timeout=30_000)
    assert page.get_by_text("Edited · 0 removals", exact=True).is_visible()
    button.click()
    removals_shown(page, 1)
    assert errors_shown(page) == []


