"""The links between the pages and the style every page has. Light on purpose: the frame draws these in a
server's first second, before the engine is imported (ic/boot.py), so nothing here imports the engine."""

import re
from pathlib import Path

import streamlit as st

from ui.focus import keep_focus

STYLE = Path(__file__).with_name("style.css")

# (script, title, icon of the link, icon of the browser tab); the first is the default page
PAGES = [("app_pages/explore.py", "Explore", ":material/brush:", "🖌️"),
         ("app_pages/compare.py", "Compare", ":material/compare:", "⚖️"),
         ("app_pages/sweeps.py", "Sweeps", ":material/dataset:", "📊"),
         ("app_pages/history.py", "History", ":material/history:", "🗂️")]
VISITOR_ID = re.compile(r"[0-9a-f]{32}")  # matched whole (fullmatch): "$" also matched before a newline


def page_frame(sidebar: bool = True) -> None:
    """What every page has: its spacing (style.css) and, with its `sidebar`, the focus kept on the control used
    (ui/focus.py), which lives there."""
    st.html(STYLE)  # style alone: Streamlit sends it where it takes no room
    if sidebar:
        with st.sidebar:
            keep_focus()


def page_links(visitor: str | None) -> None:
    """The links to the pages, carrying the `visitor` id (None: the links carry none)."""
    for page, label, icon, _ in PAGES:
        st.page_link(page, label=label, icon=icon, query_params={"visitor": visitor} if visitor else None)
    st.divider()
