"""The page's word on whether it is idle, for tests and benchmarks to wait on; a person never sees it.

At the end of every run the frame writes a hidden element, `<div data-ic-idle data-run="N" data-pending="…">`:
the number of the session's run, and the reruns the app will start by itself, without anyone touching the page:

- `estimate`: an estimate's rate is still being measured; its caption looks again every second and redraws the
  page once it is there (ui/explain_view.py);
- `saving`: an experiment is not written yet; the page looks again until it is (ui/notices.py, and `finish`
  below for a write still under way when the run ends);
- `sweep`: a sweep runs; its progress is looked at every second, and the page redrawn when it ends;
- `canvas-size`: the canvas was drawn before the browser said the page's size; it will say it, and the page is
  drawn again at that size (ui/canvas.py).

The page is idle when Streamlit's own word on the app (`data-test-script-state`) is "notRunning", this element
names a run and nothing pending, and the canvas takes strokes (`<html data-ic-canvas>`, ui/canvas.py). A test
that acts reads the run number first and waits for a later one (tests/browser_support.py: `idle`)."""

from collections.abc import Callable
from html import escape

import streamlit as st

RUN_KEY, PENDING_KEY = "ic-run", "ic-pending"
WATCH_S = 0.25  # how often a write still under way when a run ended is looked at again


def begin() -> None:
    """A run starts: count it, and forget what the run before expected."""
    st.session_state[RUN_KEY] = st.session_state.get(RUN_KEY, 0) + 1
    st.session_state[PENDING_KEY] = set()


def expect(reason: str) -> None:
    """This run leaves behind a rerun the app starts by itself (one of the reasons above)."""
    st.session_state.setdefault(PENDING_KEY, set()).add(reason)


def _watch(unsaved: Callable[[], int]) -> None:
    if not unsaved():
        st.rerun(scope="app")  # written: the page says so (History's rows, the saving notice) and is idle


def finish(unsaved: Callable[[], int] | None = None) -> None:
    """The end of a run: the hidden element. `unsaved()` counts the visitor's experiments not written yet: a write
    still under way gets a watcher (a fragment that looks every WATCH_S), so that the page's word waits for it."""
    pending = st.session_state.get(PENDING_KEY, set())
    if unsaved is not None and "saving" not in pending and unsaved():
        pending.add("saving")
        st.fragment(_watch, run_every=WATCH_S)(unsaved)
    with st.container(key="ic-idle"):  # hidden (style.css)
        st.html(f'<div data-ic-idle data-run="{st.session_state.get(RUN_KEY, 0)}" '
                f'data-pending="{escape(" ".join(sorted(pending)))}"></div>')
