"""The first minute, as a new user has it: `streamlit run` opens the browser the moment the server answers, so the
first page run races the server's preparation (ic/boot.py says why that race can no longer break a page).

These tests race it on purpose: each round starts a fresh server and opens the page as soon as its health check
answers, the first round with an empty export cache (a first start), the others with the cache kept (restarts)."""

import pytest

from browser_support import (
    CHROMIUM_FLAGS,
    chromium_path,
    errors_shown,
    isolated_env,
    open_list,
    require_chromium,
    running_app,
    settled,
)

pytestmark = pytest.mark.browser

ROUNDS = 5
ROW = '[data-testid="stTable"] tbody tr'
SENTENCE_S = 3.0  # the promise: something true on screen within 3 s of navigation

# In the page, from navigation on: when the main area first shows a sentence (any text at all), and every state of
# the answer's table after a classifier switch (was the previous model's table shown, and was it marked stale?).
WATCH_JS = """
() => {
  window.__icFirstText = null;
  const look = () => {
    const main = document.querySelector('[data-testid="stMain"]');
    if (main && main.innerText.trim().length > 0 && window.__icFirstText === null) {
      window.__icFirstText = performance.now();
    }
  };
  new MutationObserver(look).observe(document, { childList: true, subtree: true, characterData: true });
}
"""

TABLE_WATCH_JS = """
(before) => {
  window.__icUnmarked = [];
  const look = () => {
    for (const table of document.querySelectorAll('[data-testid="stTable"]')) {
      if (table.innerText !== before) continue;
      const holder = table.closest('[data-testid="stElementContainer"]');
      const stale = holder && holder.getAttribute('data-stale') === 'true';  // Streamlit's mark (it dims them)
      const dim = parseFloat(getComputedStyle(holder || table).opacity) < 0.6;
      const state = document.querySelector('[data-test-script-state]')?.getAttribute('data-test-script-state');
      const loading = [...document.querySelectorAll('[data-testid="stAlert"]')]
        .some((a) => a.innerText.includes('Preparing the classifier'));
      // beside "Preparing the classifier" it reads as the new model's answer, dimmed or not; while a run is under
      // way it must at least be marked stale
      if (loading || (!stale && !dim && state !== 'notRunning')) window.__icUnmarked.push({ state, loading, stale });
    }
  };
  window.__icTableWatch = new MutationObserver(look);
  window.__icTableWatch.observe(document, { childList: true, subtree: true, characterData: true, attributes: true });
}
"""


def _browser(playwright):
    return playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_FLAGS)


def test_a_page_opened_the_moment_a_fresh_server_answers_never_breaks(tmp_path):
    """Five fresh servers, the page opened as soon as each answers: a sentence within 3 s, the answer's table,
    no error box and no traceback in the server's log, in every round."""
    from playwright.sync_api import sync_playwright

    require_chromium()
    env = isolated_env(tmp_path, cache=True)  # its own cache folder: empty in round 1, kept for the restarts after it
    seen = []
    with sync_playwright() as playwright:
        browser = _browser(playwright)
        for round_ in range(ROUNDS):
            log = tmp_path / f"server-{round_}.log"
            with running_app(env, log=log, poll_s=0.02, prepare=False) as url:  # the race is the test
                context = browser.new_context(viewport={"width": 1440, "height": 900})
                page = context.new_page()
                page.add_init_script(f"({WATCH_JS})()")
                page.goto(url, wait_until="commit")
                page.locator(ROW).first.wait_for(timeout=180_000)
                first_text_s = page.evaluate("window.__icFirstText") / 1000
                errors = errors_shown(page) + page.get_by_text("This app has encountered an error").all_inner_texts()
                context.close()
            server_said = log.read_text()
            seen.append((round_, round(first_text_s, 2), errors, "Traceback" in server_said))
            assert errors == [], f"round {round_ + 1}: {errors}"
            assert "Traceback" not in server_said, f"round {round_ + 1}, the server's log:\n{server_said}"
            assert first_text_s <= SENTENCE_S, f"round {round_ + 1}: the first sentence came {first_text_s:.1f} s " \
                                               f"after navigation ({seen})"
        browser.close()
    print("rounds (round, first sentence after navigation in s, errors, traceback):", seen)


def test_switching_the_classifier_never_shows_the_previous_models_answer_as_current(tmp_path):
    """Lite0 -> Lite2: while Lite2 is prepared, Lite0's table is not on screen beside the notice that says so (it read
    as Lite2's answer), and never unmarked while a run is under way."""
    from playwright.sync_api import sync_playwright

    require_chromium()
    with running_app(isolated_env(tmp_path)) as url, sync_playwright() as playwright:
        browser = _browser(playwright)
        page = browser.new_page(viewport={"width": 1440, "height": 900})
        page.goto(url)
        page.locator(ROW).first.wait_for(timeout=180_000)
        page.get_by_text("(224x224 pixels)").wait_for(timeout=60_000)  # Lite0's input, named under its table
        lite0 = page.locator('[data-testid="stTable"]').first.inner_text()
        settled(page)  # no rerun of the page's own to close the menu
        open_list(page, "Model")
        page.get_by_role("option", name="EfficientNet-Lite2").click()
        page.evaluate(f"({TABLE_WATCH_JS})", lite0)  # from the switch on
        page.get_by_text("(260x260 pixels)").wait_for(timeout=180_000)  # Lite2's answer is on screen
        page.evaluate("window.__icTableWatch.disconnect()")
        unmarked = page.evaluate("window.__icUnmarked")
        answered = page.locator('[data-testid="stTable"]').first.inner_text()
        browser.close()
    assert answered != lite0
    assert unmarked == [], f"Lite0's table was shown unmarked {len(unmarked)} times after the switch: {unmarked[:5]}"
