"""History in a real browser: removals on the Explore page are listed, and survive a server restart."""

from urllib.parse import parse_qs, urlparse

import pytest
from test_browser import TRIPOD_STROKE

from browser_support import (
    act,
    browser_page,
    errors_shown,
    grid_rows,
    isolated_env,
    paint,
    removals_shown,
    require_chromium,
    running_app,
    top1_notice,
)

pytestmark = pytest.mark.browser


def test_history_lists_two_removals_and_keeps_them_across_a_restart(tmp_path):
    require_chromium()
    env = isolated_env(tmp_path)
    expected = []
    with running_app(env) as url, browser_page(url) as page:
        visitor = parse_qs(urlparse(page.url).query)["visitor"][0]
        for count, stroke in enumerate([TRIPOD_STROKE, [(290, 330), (262, 420), (240, 500)]], start=1):
            paint(page, stroke)
            removals_shown(page, count)
            expected.insert(0, "{} → {}".format(*top1_notice(page)))  # History lists the newest first
        act(page, page.get_by_role("link", name="History").click)
        page.get_by_text("2 of 2 experiments").wait_for(timeout=60_000)
        rows = grid_rows(page)
        assert [row["top-1 before → after"] for row in rows] == expected
        # the inpainter by the name people read, as on Explore
        assert all(row["image"] == "camera.png" and row["inpainter"] == "PatchMatch" for row in rows)
        assert errors_shown(page) == []

    with running_app(env) as url, browser_page(f"{url}/history?visitor={visitor}", explore=False) as page:
        page.get_by_text("2 of 2 experiments").wait_for(timeout=60_000)
        assert [row["top-1 before → after"] for row in grid_rows(page)] == expected
