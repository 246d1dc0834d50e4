"""What the history says in every page's frame: why it is not kept (a database out of reach, secrets that do not
parse), its one-time notices, and, while any of the visitor's experiments wait to be written, a notice that
stays."""

import streamlit as st

from ui import durable, editing, idle, visiting

POLL_S = 1.0  # how often the notice looks again while something waits


def history_notices() -> None:
    """The history's problems and notices, in the sidebar under the links."""
    history = visiting.workbench().history
    if visiting.secrets_problem():
        st.sidebar.warning(visiting.secrets_problem())
    if history.problem:
        st.sidebar.warning(history.problem + " Removals still work; they are just not kept.")
    notice = history.notice()
    if notice and durable.once("history-notice", notice[0]):
        st.sidebar.info(notice[1], icon=":material/database:")


def _saving(polling: bool) -> None:
    workbench, owner = visiting.workbench(), visiting.visitor()
    for problem in editing.save_problems(editing.desk(), workbench.history.saving.failures(owner)):
        st.warning(problem)
    waiting = workbench.history.saving.waiting(owner)
    if polling and not workbench.history.saving.pending(owner):
        st.rerun(scope="app")  # all written: the whole page looks again, and stops polling
    if waiting:
        st.warning(f"{waiting} removal{'s' if waiting != 1 else ''} not saved yet: {workbench.history.saving.waiting_reason()}. They "
                   "are saved as soon as it is back; if the server restarts before then, they are lost.",
                   icon=":material/hourglass_top:")


def saving_notice() -> None:
    """Says what waits for a locked database, and while anything does, looks again every POLL_S. Only
    then is it a fragment with a timer: writes that go through in milliseconds cost no reruns."""
    if visiting.workbench().history.saving.waiting(visiting.visitor()):
        idle.expect("saving")
        st.fragment(_saving, run_every=POLL_S)(True)
    else:
        _saving(False)
