"""The visitor's identity and history store, as the pages use them."""

import re
import uuid
from pathlib import Path

import streamlit as st

from ic.errors import ICError
from ic.history import HistoryStore
from ic.paths import data_dir
from ic.settings import HistorySettings, history_settings

_VISITOR = re.compile(r"^[0-9a-f]{32}$")


def visitor_id() -> str:
    """An id for this visitor that survives a refresh: kept in the URL (?visitor=...) and the session."""
    from_url = st.query_params.get("visitor", "")
    visitor = from_url if _VISITOR.match(from_url) else st.session_state.get("visitor") or uuid.uuid4().hex
    st.session_state["visitor"] = visitor
    if from_url != visitor:
        st.query_params["visitor"] = visitor
    return visitor


@st.cache_resource(show_spinner=False, max_entries=4)
def _store(folder: str) -> HistoryStore:
    return HistoryStore(Path(folder))


def store() -> tuple[HistoryStore | None, str | None]:
    """The shared store and, when new experiments cannot be kept, the sentence that says why; the store is None
    when there is no history to show at all."""
    try:
        history = _store(str(data_dir()))
    except ICError as exc:
        return None, str(exc)
    return history, history.read_only


def settings() -> HistorySettings:
    return history_settings()


def save(record) -> tuple[str | None, str | None]:
    """Keep a record for this visitor and apply retention: (its id, None), or (None, why it could not be kept).

    When nothing can be kept, (None, None): the page says so once, in the sidebar, rather than after every removal.
    """
    history, problem = store()
    if problem:
        return None, None
    config = settings()
    try:
        experiment_id = history.add(record, owner=visitor_id())
        history.prune(visitor_id(), config.max_per_visitor, config.max_age_days)
    except ICError as exc:
        return None, str(exc)
    return experiment_id, None
