"""A signed-in person in this session: seen once a session, signed out everywhere at once, and offered what a
visitor link of before holds (moved to their account only once they confirm; nothing is merged silently)."""

from __future__ import annotations

from datetime import UTC, datetime

import streamlit as st

from ic.errors import ICError
from ui import flash
from ui.navigation import VISITOR_ID
from ui.text import error_text
from ui.visiting import workbench


def person_seen(person) -> None:
    """Record the signed-in person once a session, so team mode names them and the CLI can act as them, and when
    this session first saw them signed in (`signed_out_elsewhere` compares it with their last sign-out)."""
    if st.session_state.get("person_seen") != person.owner:
        try:
            workbench().history.people.person_seen(person)
        except ICError:
            pass  # a history out of reach: the sidebar says so; the person still works here
        st.session_state["person_seen"] = person.owner
        st.session_state["signed_in_seen"] = datetime.now(UTC).isoformat(timespec="microseconds")


def signed_out_elsewhere(person) -> bool:
    """Whether the person signed out (in another tab, or on another replica) after this session saw them signed
    in. Asked at every run; a history out of reach cannot say, and the session goes on."""
    since = st.session_state.get("signed_in_seen")
    if since is None or st.session_state.get("person_seen") != person.owner:
        return False
    try:
        return workbench().history.people.signed_out_since(person.owner, since)
    except ICError:
        return False


def sign_out(person) -> None:
    """Sign out here and, at their next run, in every other session of the person's; then Streamlit's sign-out."""
    try:
        workbench().history.people.sign_out(person.owner)
    except ICError:
        pass  # a history out of reach: this tab still signs out; the others at their next load
    st.logout()


def offer_claim(person) -> None:
    """A signed-in person who opens a visitor link (?visitor=...) of before: what it holds, above the page, and
    moving it to their account once they confirm; nothing is merged silently."""
    held = st.query_params.get("visitor", "")
    if not VISITOR_ID.fullmatch(held) or held == person.owner:
        return
    history = workbench().history
    try:
        found = history.people.claimable(held, person.owner)
    except ICError as exc:
        st.warning(error_text(exc))
        return
    box = st.container(border=True, key="claim")  # above the page, not in the sidebar a phone keeps closed
    if found is None:
        box.caption("The visitor link in the address holds no history to move to your account.")
    elif "claimed_at" in found:
        box.caption(f"The visitor link in the address was moved to {'your' if found['by_you'] else 'another'} "
                    f"account on {found['claimed_at'][:10]}; nothing is left in it.")
    else:
        experiments, sweeps = found["experiments"], found["sweeps"]
        what = f"{experiments} experiment{'s' if experiments != 1 else ''}" + (
            f" and {sweeps} sweep{'s' if sweeps != 1 else ''}" if sweeps else "")
        box.markdown(f"**The visitor link in the address holds {what}.** Move them to your account? This is done "
                     "once: the link then holds nothing, for you or anyone else who has it.")
        if box.button(f"Move {what} to my account", key="claim-move", type="primary"):
            try:
                moved = history.people.claim(held, person.owner)
            except ICError as exc:
                box.error(error_text(exc))
                return
            flash.notify("success", f"Moved {moved['experiments']} experiments and {moved['sweeps']} sweeps to your account.",
                   page="history")
            del st.query_params["visitor"]
            st.switch_page("app_pages/history.py")
            return
    if box.button("Leave it", key="claim-leave"):
        del st.query_params["visitor"]
        st.rerun()
