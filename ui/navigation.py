"""Sidebar links between the pages; they carry the visitor id so history follows the visitor."""

import streamlit as st

PAGES = [("streamlit_app.py", "Explore", ":material/brush:"), ("pages/compare.py", "Compare", ":material/compare:"),
         ("pages/history.py", "History", ":material/history:")]


def sidebar_links(visitor: str) -> None:
    for page, label, icon in PAGES:
        st.sidebar.page_link(page, label=label, icon=icon, query_params={"visitor": visitor})
    st.sidebar.divider()
