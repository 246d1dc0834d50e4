"""Who is here: the process's workbench (and the secrets that may name its database) and the visitor's id.

The visitor's id survives a refresh in the address (?visitor=...); with sign-in it is the person's own. A new
session (a reload, a server restart) first brings back the settings the visitor chose before (ui.durable keeps
them, under SETTINGS).
"""

from __future__ import annotations

import uuid

import streamlit as st
from streamlit.errors import StreamlitSecretNotFoundError

from ic.app import Workbench, get_workbench
from ic.paths import data_dir
from ic.settings import database_url
from ui import signin
from ui.navigation import VISITOR_ID

SETTINGS = "keep:"  # the prefix of the session keys that hold the visitor's kept settings (ui.durable)


def workbench() -> Workbench:
    """The process's workbench; its history is PostgreSQL where IC_DATABASE_URL, the settings file or this
    app's secrets ([connections.history] url, Streamlit's convention) name one, else SQLite in the data folder."""
    if "history_url" not in st.session_state:  # looked up once a session: the pages ask for the workbench often
        st.session_state["history_url"] = database_url() or _secret_url()
    return get_workbench(data_dir(), database_url=st.session_state["history_url"])


def _secret_url() -> str | None:

    try:
        section = st.secrets.get("connections", {}).get("history", {})
        return str(section.get("url") or "").strip() or None
    except StreamlitSecretNotFoundError as exc:  # (a FileNotFoundError too)
        if getattr(exc, "error_id", None) != "no-secrets-found":  # a file that does not parse: said, not ignored
            st.session_state["secrets_problem"] = (
                f"The app's secrets cannot be read ({exc}); fix them so that history goes to the database they "
                "name. Until then it is kept on this server's own disk, which a reboot may wipe.")
        return None  # no secrets file: SQLite
    except FileNotFoundError:
        return None


def link_params() -> dict[str, str]:
    """What a link to another page carries: the visitor id, so history follows the visitor; with sign-in,
    nothing: a person's owner id is never put in an address, where a pasted link would hand it to someone else."""
    return {} if signin.person() is not None else {"visitor": visitor()}


def secrets_problem() -> str | None:
    """Why the app's secrets could not be read, once the workbench has looked (None: read, or none there)."""
    return st.session_state.get("secrets_problem")


def visitor() -> str:
    """An id for this visitor that survives a refresh: kept in the URL (?visitor=...) and the session; where
    sign-in is configured, the signed-in person's own (ic.auth: their identity at the provider), whatever the
    URL says. A new session (a reload, a server restart) first brings back the settings chosen before."""
    person = signin.person()
    from_url = st.query_params.get("visitor", "")
    if person is not None:
        found = person.owner
    else:
        found = from_url if VISITOR_ID.fullmatch(from_url) else st.session_state.get("visitor") or uuid.uuid4().hex
        if from_url != found:
            st.query_params["visitor"] = found
    st.session_state["visitor"] = found
    if st.session_state.get("settings_of") != found:
        st.session_state["settings_of"] = found
        for key, value in workbench().desk.settings(found).items():
            st.session_state.setdefault(SETTINGS + str(key), value)
    return found
