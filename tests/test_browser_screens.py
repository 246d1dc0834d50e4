"""What a person sees (#23), in Chromium: every page and state holds nothing the page did not mean to draw and no
critical or serious accessibility violation (axe-core); after a removal the answer is in the window at a desktop,
a laptop and a phone size; and the first-steps note never pushes the canvas away."""

import re

import pytest

from browser_support import (
    act,
    browser_page,
    idle,
    isolated_env,
    prepared,
    require_chromium,
    running_app,
    settled,
    table_rows,
    top1_notice,
)
from tour import SIZES, STEPS, accessibility_problems, answer_in_view, explore_after_a_removal, problems_on_screen

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def app_url(tmp_path_factory):
    require_chromium()
    with running_app(isolated_env(tmp_path_factory.mktemp("screens"))) as url:
        yield url


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_every_page_and_state_shows_only_what_it_means_to_and_passes_axe(app_url, scheme):
    """Explore (fresh, after a removal, with maps), Compare with results, Sweeps with a result, History with one
    and with two rows, a share link, in the light and the dark system theme (Streamlit follows it): no help block,
    exception or missing glyph, no developer chrome (Deploy, the menu of Rerun and Clear cache), no critical or
    serious axe-core violation, and headings in order."""
    found = {}
    with browser_page(app_url, *SIZES["desktop"], color_scheme=scheme) as page:
        for name, step in STEPS:
            step(page)  # each step ends with the page idle
            problems = problems_on_screen(page) + accessibility_problems(page, impacts=("critical", "serious"))
            problems += [f"developer chrome: {what}" for what, shown in (
                ("Deploy", page.get_by_role("button", name="Deploy").count()),
                ("main menu", page.get_by_test_id("stMainMenu").count())) if shown]
            problems += [p for p in accessibility_problems(page, impacts=("moderate",)) if p.startswith("heading-order")]
            if problems:
                found[name] = problems
    assert found == {}


@pytest.mark.parametrize("size", list(SIZES))
def test_after_a_removal_the_answer_is_in_the_window(app_url, size):
    """The top-1 notice and the table's first three rows without scrolling; on a desktop or laptop, the whole canvas
    too. The class the notice names is a row of the table."""
    width, height = SIZES[size]
    with browser_page(app_url, width, height) as page:
        settled(page)
        before = answer_in_view(page)
        assert 0 <= before["canvas"][0] and (size == "phone" or before["canvas"][1] <= height), before  # note or not
        explore_after_a_removal(page)
        # Once, under two busy processes, the notice was not on the page when the page had said it was idle (the
        # table was): the cause was not found; the notice is awaited, and what the page said is in the message.
        page.get_by_text(re.compile(r"Top-1 (changed|unchanged)")).first.wait_for(timeout=60_000)
        idle(page)
        page.evaluate("() => document.querySelector('[data-testid=stMain]').scrollTo({top: 0, behavior: 'instant'})")
        shown = answer_in_view(page)
        shown["page said"] = page.evaluate(
            "() => [...document.querySelectorAll('[data-ic-idle]')].map((m) => m.dataset.run + ':' + m.dataset.pending)")
        assert shown["notice"] and 0 <= shown["notice"][0] and shown["notice"][1] <= height, shown
        assert shown["third_row"] and shown["third_row"][1] <= height, shown
        if size != "phone":
            assert 0 <= shown["canvas"][0] and shown["canvas"][1] <= height, shown
        names = {row["class"] for row in table_rows(page)}
        assert set(top1_notice(page)) <= names
        # Undo, Redo and Reset read as words at every size (a phone showed their icons alone), in one row
        toolbar = page.evaluate("""() => [...document.querySelectorAll('.st-key-undo, .st-key-redo, .st-key-reset')]
          .map((box) => { const names = [...box.querySelectorAll('[data-testid=stMarkdownContainer]')];  // a word is wider than 10 px
                          const name = names.find((n) => n.getBoundingClientRect().width > 10) || names[0];
                          const r = name.getBoundingClientRect(); return [name.innerText.trim(), r.width > 10, r.top]; })""")
        assert [(name, shown) for name, shown, _ in toolbar] == [("Undo", True), ("Redo", True), ("Reset", True)], toolbar
        assert max(top for *_, top in toolbar) - min(top for *_, top in toolbar) < 4, toolbar  # one row


def test_the_first_steps_note_goes_when_dismissed_and_takes_no_room(app_url):
    with browser_page(app_url, *SIZES["laptop"]) as page:
        settled(page)
        note = page.locator(".st-key-tutorial")
        assert note.is_visible()
        table_with_note = page.locator('[data-testid="stTable"]').first.bounding_box()["y"]
        act(page, page.get_by_role("button", name="Got it").click)
        note.wait_for(state="detached", timeout=30_000)
        settled(page)
        assert page.locator('[data-testid="stTable"]').first.bounding_box()["y"] < table_with_note - 50
        page.reload()  # remembered for the visitor
        settled(page)
        assert page.locator(".st-key-tutorial").count() == 0


def test_the_server_prepares_the_default_classifier_before_anyone_visits(tmp_path):
    """An empty export cache: the server exports the default classifier on its own, with no visitor, and says so
    (/_ic/ready); a visitor who comes then gets the answer from what was prepared."""
    require_chromium()
    cache = tmp_path / "cache"
    with running_app(isolated_env(tmp_path, cache=True), prepare=False) as url:
        said = prepared(url)  # nobody has visited
        assert said["prepared"] and said["seconds"] > 0, said
        assert list(cache.glob("onnx/tf_efficientnet_lite0-*.onnx")), "nothing was prepared before a visitor came"
        with browser_page(url) as page:
            assert table_rows(page)[0]["class"] == "tripod"


CHARTS_JS = """() => [...document.querySelectorAll('.vega-embed')].filter(e => e.getBoundingClientRect().height > 0)
  .map(e => { const axis = e.querySelector('g.role-axis[aria-label^="X-axis"] path.domain, g.role-axis[aria-label^="X-axis"]');
              return {chart: Math.round(e.getBoundingClientRect().width),
                      plot: axis ? Math.round(axis.getBoundingClientRect().width) : null,
                      title: (e.querySelector('g.role-axis[aria-label^="X-axis"] g.role-title text') || {}).textContent}; })"""


def test_every_chart_keeps_its_room_on_a_phone(app_url):
    """At 390 px every chart is at least 300 px wide and its plot at least 200 (the curves' plot was about 20 px
    wide beside two legends, the slices' bars 4 px tall)."""
    narrow = {}
    seen = 0
    with browser_page(app_url, *SIZES["phone"]) as page:
        for name, step in STEPS:
            if name.startswith("history"):
                break  # History draws the charts Sweeps and Explore do
            step(page)
            for chart in page.evaluate(CHARTS_JS):
                seen += 1
                if chart["chart"] < 300 or (chart["plot"] or 0) < 200:
                    narrow.setdefault(name, []).append(chart)
    assert seen >= 4 and narrow == {}, (seen, narrow)
