"""No stroke is lost: strokes painted while a removal runs are applied, and every removal is kept once."""

import io

import numpy as np
import pytest
from PIL import Image

from ic.history import HistoryStore

from browser_support import (
    browser_page,
    download,
    errors_shown,
    isolated_env,
    near_stroke,
    paint_quickly,
    quiet,
    removals_count,
    require_chromium,
    running_app,
    settled,
    visitor_of,
)

pytestmark = pytest.mark.browser


QUICK_STROKES = [[(40 + 62 * i, 40 + 20 * (i % 2)), (40 + 62 * i, 110 + 20 * (i % 2))] for i in range(8)]


def test_quick_strokes_are_all_removed_and_every_removal_is_kept(tmp_path_factory):
    """Eight strokes at distinct places, 250 ms apart, with PatchMatch: none is lost, none is kept twice."""
    require_chromium()
    data = tmp_path_factory.mktemp("quick-strokes")
    with running_app(isolated_env(data)) as url, browser_page(url) as page:
        settled(page)
        paint_quickly(page, QUICK_STROKES, pause_ms=250)
        quiet(page)
        shown = removals_count(page)
        mask = np.asarray(Image.open(io.BytesIO(download(page, "Mask (PNG)"))).convert("L")) > 127
        missed = [i for i, stroke in enumerate(QUICK_STROKES) if not mask[near_stroke(mask.shape, stroke, 4)].all()]
        assert missed == [], f"strokes {missed} were not removed"
        assert 1 <= shown <= len(QUICK_STROKES)  # strokes that arrive together are removed together
        assert HistoryStore(data / "data").experiments.count(visitor_of(page)) == shown
        assert errors_shown(page) == []
        assert not page.get_by_text("not saved yet").count()
