"""Long work on a page: a progress bar and a Cancel button while it runs, gone when it ends."""

from contextlib import contextmanager

import streamlit as st

from ui import visiting


@contextmanager
def working(text: str, cancel_key: str):
    """A progress bar and a Cancel button while the visitor's long work runs, both taken off the page when it
    ends (finished, cancelled or refused). Yields the work's ic.app.Task, whose reports move the bar."""
    jobs, owner = visiting.workbench().jobs, visiting.visitor()
    slot = st.empty()
    with slot.container():
        bar = st.progress(0.0, text=text)
        st.button("Cancel", key=cancel_key, on_click=jobs.cancel, args=(owner,))
    try:
        yield jobs.task(owner, on_report=lambda share, said: bar.progress(share, text=said or text), message=text)
    finally:
        slot.empty()
