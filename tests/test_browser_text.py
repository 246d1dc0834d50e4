"""Names and labels are text, not markup: a file name and a model's class labels full of markdown and HTML
show literally on the page, and nothing in them becomes a link."""

import io

import pytest
import torch
from PIL import Image
from safetensors.torch import save_file

from browser_support import browser_page, errors_shown, require_chromium, running_app, settled
from conftest import SAMPLES
from test_classifiers import _tiny_checkpoint

pytestmark = pytest.mark.browser

LABELS = ("[mdlink](http://example.invalid/phish)", "**bold** <b>html</b> :red[red]", "- item")
FILE_NAME = "**bold**[link](http://x.invalid).png"


def shown_text(locator) -> str:
    return locator.inner_text().replace("\u2060", "")  # the invisible joiner that keeps URLs from linking


def test_labels_and_file_names_show_as_literal_text(tmp_path):
    require_chromium()
    torch.manual_seed(0)
    _tiny_checkpoint(tmp_path / "models", "evil.safetensors", save_file, labels=LABELS)
    env = {"IC_DATA_DIR": str(tmp_path / "data"), "IC_MODELS_DIR": str(tmp_path / "models"),
           "TORCH_HOME": str(tmp_path / "torch"), "IC_CACHE_DIR": str(tmp_path / "cache")}
    photo = io.BytesIO()
    Image.open(SAMPLES / "coffee.png").convert("RGB").save(photo, format="PNG")
    with running_app(env) as url, browser_page(url) as page:
        for _ in range(5):  # a rerun can close the menu before the option is clicked: try again
            settled(page)
            page.get_by_role("combobox", name="Model", exact=True).click()
            try:
                page.get_by_role("option", name="evil", exact=False).first.click(timeout=5_000)
                break
            except Exception:
                page.keyboard.press("Escape")
        page.wait_for_function("() => document.querySelector('[data-testid=\"stTable\"]') && "
                               "document.querySelector('[data-testid=\"stTable\"]').innerText.includes('mdlink')",
                               timeout=120_000)
        page.locator('[data-testid="stSidebar"]').get_by_text("Upload", exact=True).click()
        page.locator('[data-testid="stSidebar"] [data-testid="stFileUploader"] input[type=file]').set_input_files(
            {"name": FILE_NAME, "mimeType": "image/png", "buffer": photo.getvalue()})
        page.get_by_text("Original · ").filter(has_text="bold").wait_for(timeout=120_000)
        settled(page)
        table = page.locator('[data-testid="stTable"]').first
        for label in LABELS:
            assert label in shown_text(table)
        assert FILE_NAME in shown_text(page.get_by_text("Original · ").first)
        main = page.locator('[data-testid="stMain"]')
        assert main.locator("a[href*='invalid']").count() == 0  # no link made from a name or a label
        assert table.locator("a, strong, b").count() == 0
        header = page.get_by_text("Original · ").first
        assert header.locator("a").count() == 0 and header.locator("strong").all_inner_texts() == ["Original"]
        assert errors_shown(page) == []
