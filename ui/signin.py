"""Sign-in for team demos, where the app's secrets have an [auth] section (Streamlit's st.login, OpenID
Connect): every page asks for sign-in first; a signed-in person's history, edit and settings belong to their
identity at the provider (ic.auth); the sidebar says who is signed in, with Sign out. Without [auth], the
visitor links of today, unchanged."""

from __future__ import annotations

import time

import streamlit as st
from streamlit.errors import StreamlitSecretNotFoundError

from ic.auth import Person, refusal, verified_flag
from ic.settings import signin_settings

ABOUT = ("Interactive Classification asks \"what if\" of image classifiers: paint over part of a photo, the region "
         "is removed by inpainting, and the classifier looks again, so you see what it relies on. This server "
         "keeps each person's experiments for them, so it asks who you are first.")


_looked: list = [-1e9, False]  # (when, whether): pages ask many times a run; a new secrets file counts within 2 s


def configured() -> bool:
    """Whether sign-in is on: the app's secrets have an [auth] section."""
    if time.monotonic() - _looked[0] > 2.0:
        try:
            found = "auth" in st.secrets
        except (StreamlitSecretNotFoundError, FileNotFoundError):
            found = False
        _looked[:] = [time.monotonic(), found]
    return _looked[1]


def providers() -> list[str]:
    """The named providers ([auth.NAME] sections), or [] for the one provider of a plain [auth] section."""
    section = st.secrets["auth"]
    return [name for name, value in section.items() if hasattr(value, "keys")]


def person() -> Person | None:
    """The signed-in person, from the identity Streamlit verified (its cookie is signed), or None; None too once
    this session learnt that they signed out elsewhere (`ended`)."""
    if not configured() or not st.user.is_logged_in:
        return None
    user = st.user
    issuer, subject = str(user.get("iss") or ""), str(user.get("sub") or "")
    if not issuer or not subject:
        return None
    found = Person(issuer, subject, email=str(user.get("email") or ""), name=str(user.get("name") or ""),
                   email_verified=verified_flag(user.get("email_verified")))
    return None if st.session_state.get("signed_out") == found.owner else found


def ended(found: Person) -> None:
    """This session's person signed out in another tab or on another replica: from now on it has nobody signed in
    (Streamlit's own identity stays until the page is loaded again, so the app forgets it here)."""
    st.session_state["signed_out"] = found.owner


def admitted(found: Person | None) -> bool:
    """Whether the pages, and their sidebar, are for whoever is here: sign-in off, or an allowed person."""
    return not configured() or (found is not None and refusal(found, signin_settings()) is None)


def share_links() -> str:
    return signin_settings().share_links


def gate(shared_link: bool) -> bool:
    """Whether the page may run for whoever is here; otherwise it has drawn the sign-in page or the refusal."""
    if not configured():
        return True
    if shared_link and share_links() == "public":
        return True
    if shared_link and share_links() == "off":
        st.title("Share links are off")
        st.info("This server does not open share links. Ask whoever sent it for a screenshot or an export instead.")
        return False
    found = person()
    if found is None:
        sign_in_page(shared_link)
        return False
    problem = refusal(found, signin_settings())
    if problem:
        st.title("Interactive Classification")
        st.error(problem)
        st.button("Sign out", on_click=st.logout, key="signin-refused-out")
        return False
    return True


def sign_in_page(shared_link: bool) -> None:
    st.title("Interactive Classification")
    st.markdown(ABOUT)
    if shared_link:
        st.info("Someone shared an experiment with you: sign in, then open the link again to see it (signing in "
                "comes back to the first page).")
    names = providers()
    for name in names or [None]:
        label = "Sign in" if name is None else f"Sign in with {name.replace('-', ' ').title()}"
        st.button(label, type="primary", icon=":material/login:", key=f"signin-{name or 'default'}",
                  on_click=st.login, args=() if name is None else (name,))


def sidebar(found: Person, sign_out) -> None:
    """Who is signed in, and Sign out (`sign_out`: recorded for the person's other sessions, then st.logout),
    under the page links."""
    st.sidebar.caption(f":material/account_circle: Signed in as {found.shown}")
    st.sidebar.button("Sign out", icon=":material/logout:", key="signout", on_click=sign_out, args=(found,))
