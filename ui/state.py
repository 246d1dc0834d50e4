"""Per-visitor state that outlives widgets.

Streamlit forgets a widget's value when its page is not shown; `durable`
keeps a copy under our own key and restores it when the widget comes back.
"""

import streamlit as st

_PREFIX = "keep:"


def durable(key: str, default):
    """Call before creating the widget `key`; pass `on_change=remember, args=(key,)` to the widget."""
    stored = st.session_state.setdefault(_PREFIX + key, default)
    if key not in st.session_state:
        st.session_state[key] = stored
    return st.session_state[key]


def remember(key: str) -> None:
    st.session_state[_PREFIX + key] = st.session_state[key]


def value(key: str, default=None):
    return st.session_state.get(key, st.session_state.get(_PREFIX + key, default))
