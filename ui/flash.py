"""A notice that survives one rerun: set by a button's callback (or before a page switch), shown once on the
next run of the page it is for."""

import streamlit as st


def notify(kind: str, text: str, page: str = "explore") -> None:
    """A notice shown once, on the next run of `page` ("explore", "history")."""
    st.session_state[f"notice:{page}"] = (kind, text)


def show_notice(page: str = "explore") -> None:
    notice = st.session_state.pop(f"notice:{page}", None)
    if notice:
        getattr(st, notice[0])(notice[1])
