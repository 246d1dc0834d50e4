"""Long work on a page: a progress bar and a Cancel button while it runs, gone when it ends."""

from contextlib import contextmanager

import streamlit as st

from ui import session


@contextmanager
def working(text: str, cancel_key: str):
    """A progress bar and a Cancel button while the visitor's long work runs, both taken off the page when it
    ends (finished, cancelled or refused). Yields (the cancel token, a progress(share, text) callback)."""
    bench, owner = session.workbench(), session.visitor()
    token = bench.cancel_token(owner)
    slot = st.empty()
    with slot.container():
        bar = st.progress(0.0, text=text)
        st.button("Cancel", key=cancel_key, on_click=bench.cancel, args=(owner,))
    try:
        yield token, lambda share, said=text: bar.progress(min(1.0, max(0.0, share)), text=said)
    finally:
        slot.empty()
