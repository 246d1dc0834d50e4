"""What every page shows in its frame: links between the pages (they carry the visitor id so history
follows the visitor) and, while any of the visitor's experiments wait to be written, a notice that stays."""

from pathlib import Path

import streamlit as st

from ui import session
from ui.focus import keep_focus

STYLE = Path(__file__).with_name("style.css")

# (script, title, icon of the link, icon of the browser tab); the first is the default page
PAGES = [("app_pages/explore.py", "Explore", ":material/brush:", "🖌️"),
         ("app_pages/compare.py", "Compare", ":material/compare:", "⚖️"),
         ("app_pages/sweeps.py", "Sweeps", ":material/dataset:", "📊"),
         ("app_pages/history.py", "History", ":material/history:", "🗂️")]
POLL_S = 1.0  # how often the notice looks again while something waits


def page_frame(sidebar: bool = True) -> None:
    """What every page has: its spacing (style.css) and, with its `sidebar`, the focus kept on the control used
    (ui/focus.py), which lives there."""
    st.html(STYLE)  # style alone: Streamlit sends it where it takes no room
    if sidebar:
        with st.sidebar:
            keep_focus()


def sidebar_links(visitor: str) -> None:
    for page, label, icon, _ in PAGES:
        st.sidebar.page_link(page, label=label, icon=icon, query_params={"visitor": visitor})
    st.sidebar.divider()
    problem = session.workbench().history.problem
    if session.secrets_problem():
        st.sidebar.warning(session.secrets_problem())
    if problem:
        st.sidebar.warning(problem + " Removals still work; they are just not kept.")
    notice = session.workbench().history.notice()
    if notice and session.once("history-notice", notice[0]):
        st.sidebar.info(notice[1], icon=":material/database:")


def _saving(polling: bool) -> None:
    bench, owner = session.workbench(), session.visitor()
    for problem in session.save_problems(session.desk(), bench.history.failures(owner)):
        st.warning(problem)
    waiting = bench.history.waiting(owner)
    if polling and not bench.history.pending(owner):
        st.rerun(scope="app")  # all written: the whole page looks again, and stops polling
    if waiting:
        st.warning(f"{waiting} removal{'s' if waiting != 1 else ''} not saved yet: {bench.history.waiting_reason()}. They "
                   "are saved as soon as it is back; if the server restarts before then, they are lost.",
                   icon=":material/hourglass_top:")


def saving_notice() -> None:
    """Says what waits for a locked database, and while anything does, looks again every POLL_S. Only
    then is it a fragment with a timer: writes that go through in milliseconds cost no reruns."""
    if session.workbench().history.waiting(session.visitor()):
        st.fragment(_saving, run_every=POLL_S)(True)
    else:
        _saving(False)
