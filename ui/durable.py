"""Widget values that outlive their page: kept in the session under our own keys and, for the visitor, in the
store, so that another page or a reload brings them back; and a few small per-session memories (a notice seen
once, the session's first run, the classifier in use)."""

from __future__ import annotations

import time

import streamlit as st

from ui.visiting import SETTINGS as _KEEP
from ui.visiting import visitor, workbench


def value(key: str, default, options=None):
    """Call before creating the widget `key`; pass `on_change=durable.remember, args=(key,)` to the widget.

    Streamlit forgets a widget's value when its page is not shown, and a reload starts a new session; a copy
    under our own key, kept for the visitor in the store, brings it back. A kept value of another type, or
    not among `options` (a model since withdrawn, say), gives way to `default`. Every change of the widget must go
    through `remember` (its on_change), which keeps the copy."""
    stored = st.session_state.get(_KEEP + key, default)
    if type(stored) is not type(default) or (options is not None and stored not in options):
        stored = default
    st.session_state[_KEEP + key] = stored
    # The widget takes the kept value in every run: a run cut short by a rerun before it drew the widget loses the
    # widget's own state, and it would come back at the widget's default (a toggle's False) instead of as chosen.
    st.session_state[key] = stored
    return stored


def remember(key: str) -> None:
    st.session_state[_KEEP + key] = st.session_state[key]
    _keep_settings()


def seen(name: str, now: bool = False) -> bool:
    """Whether the visitor dismissed `name` (the tutorial), remembered across reloads; `now` records it."""
    if now:
        st.session_state[_KEEP + "seen:" + name] = True
        _keep_settings()
    return st.session_state.get(_KEEP + "seen:" + name) is True


def once(name: str, serial: int, for_s: float = 60.0) -> bool:
    """Whether to show `serial` of the notice `name`: for `for_s` seconds from the run that first showed it to
    this session (a stroke's rerun right after must not take it away unread), then never again."""
    key = "once:" + name
    first = st.session_state.get(key)
    if first is None or first[0] != serial:
        st.session_state[key] = first = (serial, time.monotonic())
    return time.monotonic() - first[1] < for_s


def _keep_settings() -> None:
    values = {key[len(_KEEP):]: value for key, value in st.session_state.items()
              if key.startswith(_KEEP) and isinstance(value, (str, int, float, bool, type(None)))}
    workbench().desk.remember_settings(visitor(), values)


def first_run() -> bool:
    """Whether this is the session's first run on this page (a new visitor, or a reload)."""
    runs = st.session_state.setdefault("runs", 0)
    st.session_state["runs"] = runs + 1
    return runs == 0


def kept(key: str, default=None):
    """A durable widget's value from another page (the Explore page's preprocessing, say)."""
    return st.session_state.get(_KEEP + key, default)


def model_in_use(name: str | None = None) -> str | None:
    """The classifier answering on the Explore page (kept when another one fails to load)."""
    if name is not None:
        st.session_state["model_in_use"] = name
    return st.session_state.get("model_in_use")


def keep(key: str, value) -> None:
    """Set a durable widget's value from elsewhere (a sweep's row chooses Explore's classifier), kept as `remember`
    keeps a change of the widget."""
    st.session_state[_KEEP + key] = value
    _keep_settings()
