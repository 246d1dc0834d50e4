"""F5 and a server restart in a real browser: an uploaded photo's edit, its undo stack and the sidebar come back."""

import numpy as np
import pytest
from test_browser import TRIPOD_STROKE

from browser_support import (
    act,
    background_pixels,
    browser_page,
    click,
    errors_shown,
    isolated_env,
    paint,
    removals_count,
    removals_shown,
    require_chromium,
    running_app,
    settled,
    visitor_of,
)
from conftest import SAMPLES

pytestmark = pytest.mark.browser


def test_an_uploaded_photos_edit_survives_f5_and_a_server_restart(tmp_path):
    require_chromium()
    env = isolated_env(tmp_path)
    with running_app(env) as url, browser_page(url) as page:
        visitor = visitor_of(page)
        act(page, page.get_by_role("button", name="Got it").click)
        assert page.get_by_role("button", name="Got it").count() == 0
        act(page, page.locator('[data-testid="stSidebar"]').get_by_text("Upload", exact=True).click)
        page.locator('[data-testid="stSidebar"] [data-testid="stFileUploader"] input[type=file]').set_input_files(
            {"name": "my photo.png", "mimeType": "image/png", "buffer": (SAMPLES / "camera.png").read_bytes()})
        page.get_by_text("Original · my photo.png").wait_for(timeout=120_000)
        paint(page, TRIPOD_STROKE)
        removals_shown(page, 1)
        paint(page, [(60, 60), (120, 60)])
        removals_shown(page, 2)
        click(page, "Undo")
        settled(page)
        edited = background_pixels(page)

        page.reload()
        page.get_by_text("Original · my photo.png").wait_for(timeout=120_000)
        settled(page)
        assert removals_count(page) == 1
        assert np.abs(background_pixels(page).astype(int) - edited).mean() < 2
        assert page.get_by_role("button", name="Got it").count() == 0
        assert page.get_by_role("button", name="Redo").is_enabled()
        assert errors_shown(page) == []

    with running_app(env) as url, browser_page(f"{url}/?visitor={visitor}") as page:
        page.get_by_text("Original · my photo.png").wait_for(timeout=120_000)
        settled(page)
        assert removals_count(page) == 1
        click(page, "Redo")
        removals_shown(page, 2)
        assert errors_shown(page) == []
