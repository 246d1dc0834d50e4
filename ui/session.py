"""Everything a visitor's session keeps, behind one module: no page reads or writes another page's keys.

- the workbench (one per process and data folder, shared by every visitor) and the visitor's id;
- the edit on the Explore page, where it came from, and the removals' experiment ids;
- the canvas: its key, the strokes already applied from it, and when to clear it;
- notices that must survive one rerun, and what History hands to Compare and Explore;
- widget values that outlive their page (`durable`).
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np
import streamlit as st
from streamlit.errors import StreamlitSecretNotFoundError

from ic.app import Workbench, get_workbench
from ic.errors import ICError
from ic.experiment import EditSession
from ic.images import encode_display
from ic.paths import data_dir
from ic.settings import database_url
from ui import names, signin
from ui.navigation import VISITOR_ID
from ui.text import error_text

_KEEP = "keep:"


# --- the process's workbench and the visitor ----------------------------------------------------

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
            notify("success", f"Moved {moved['experiments']} experiments and {moved['sweeps']} sweeps to your account.",
                   page="history")
            del st.query_params["visitor"]
            st.switch_page("app_pages/history.py")
            return
    if box.button("Leave it", key="claim-leave"):
        del st.query_params["visitor"]
        st.rerun()


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
            st.session_state.setdefault(_KEEP + str(key), value)
    return found


# --- widget values that outlive their page ------------------------------------------------------

def durable(key: str, default, options=None):
    """Call before creating the widget `key`; pass `on_change=remember, args=(key,)` to the widget.

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


# --- the edit -----------------------------------------------------------------------------------

@dataclass
class Desk:
    """The visitor's edit and the canvas over it, as one plain object in the session.

    Reading `st.session_state` is itself a point where Streamlit may stop a run for the next one, so a removal
    fetches the desk first and, once the workbench has applied it, records everything on the desk with plain
    attribute writes that no rerun can split from the removal."""

    edit: EditSession
    source_key: str
    canvas_nonce: int
    canvas_clears: int = 0
    applied: np.ndarray | None = None  # strokes of this canvas already applied
    applied_count: int = 0  # how many strokes the canvas held then
    last_removal: tuple[int, dict] | None = None
    removals_made: int = 0  # every removal made on this desk, Undo or not: the page brings each one's answer into view
    experiment_ids: dict = field(default_factory=dict)  # removal number -> experiment id
    save_problems: list = field(default_factory=list)
    selection: object = None  # ic.select.Selection proposed by the select tool, not removed yet
    uploaded_mask: np.ndarray | None = None  # a mask file read over the edit, not removed yet
    pending: bool = False  # strokes painted and waiting for Remove (the zoom controls wait for them)
    view: tuple = (1, 0.5, 0.5)  # zoom, and the centre of the part shown (shares of the width and height)
    shown_png: tuple | None = None  # (what it shows, encoded bytes) of the original beside the canvas
    note: str | None = None  # where the edit came from, when not from the sidebar (a sweep's row), said beside it

    def original_png(self, key, make) -> bytes:
        """The original as shown beside the canvas, encoded again only when what it shows changes (a removal
        does not change it unless the removed region is overlaid)."""
        if self.shown_png is None or self.shown_png[0] != key:
            self.shown_png = (key, encode_display(make()))
        return self.shown_png[1]

    def view_box(self) -> tuple[int, int, int, int]:
        """(top, left, bottom, right) of the part of the edit the canvas shows, in working-image pixels."""
        zoom, centre_x, centre_y = self.view
        height, width = self.edit.shape
        if zoom <= 1:
            return 0, 0, height, width
        part_h, part_w = max(1, round(height / zoom)), max(1, round(width / zoom))
        top = min(max(0, round(centre_y * height - part_h / 2)), height - part_h)
        left = min(max(0, round(centre_x * width - part_w / 2)), width - part_w)
        return top, left, top + part_h, left + part_w

    @property
    def canvas_key(self) -> str:
        """Stable across removals, so strokes painted while one runs are kept; a new canvas only when the
        photo changes or the edit stack moves (Undo, Redo, Reset)."""
        return f"canvas-{self.source_key}-{self.canvas_nonce}"

    def new_canvas(self) -> None:
        self.canvas_nonce += 1
        self.canvas_clears, self.applied, self.applied_count, self.selection = 0, None, 0, None
        self.uploaded_mask = None

    def clear_canvas(self) -> None:
        """Take the applied strokes off the canvas (through its initial drawing); the number of strokes it
        then reports drops, which tells the next look to start afresh."""
        self.canvas_clears += 1

    def note_removal(self, removal) -> None:
        self.last_removal = (removal.number, removal.record.timings_ms)
        self.removals_made += 1
        self.experiment_ids[removal.number] = removal.experiment_id
        self.save_problems = [removal.problem] if removal.problem else []

    def removal_shown(self) -> tuple[int, dict] | None:
        """The last removal's (number, timings) while it is the one on screen (not after Undo)."""
        found = self.last_removal
        return found if found and found[0] == self.edit.removals else None


_nonce = 0


def desk() -> Desk | None:
    return st.session_state.get("desk")


def edit() -> EditSession | None:
    found = desk()
    return found.edit if found else None


def resume() -> Desk | None:
    """The visitor's edit, brought back once a session from where a reload, a server restart or a link straight
    to any page left it (Explore's and Compare's context)."""
    state = st.session_state
    if "desk" not in state and not state.get("desk_resumed"):
        state["desk_resumed"] = True
        try:
            resumed = workbench().desk.resume(visitor())
        except ICError as exc:  # said above the canvas until the first removal (show_notice)
            state["resume_problem"], resumed = error_text(exc), None
        if resumed is not None:
            _start(resumed.edit, resumed.source_key).experiment_ids.update(resumed.experiment_ids)
            state["chosen_key"] = resumed.chosen_key
    return state.get("desk")


def desk_for(source: tuple[str, str, bytes] | None, kind: str, decode) -> Desk | None:
    """The desk of the photo chosen in the sidebar (`source`: key, name, file bytes), started afresh when
    the choice changes. A new session first brings back the visitor's edit from before the reload. An
    experiment opened from History stays until the sidebar's choice changes; so does an upload brought back
    by a reload while the uploader is empty (None: nothing to show)."""
    state = st.session_state
    resume()
    if source is None:
        found = state.get("desk")
        return found if found and str(state.get("chosen_key")).startswith(kind.lower() + ":") else None
    source_key, name, data = source
    if "desk" in state and state.get("chosen_key") is None:
        state["chosen_key"] = source_key  # opened from History before any sidebar choice: keep it
    if state.get("chosen_key") != source_key or "desk" not in state:
        edit_session = workbench().desk.begin(visitor(), decode(), name, source_key=source_key,
                                              data=None if source_key.startswith("sample:") else data)
        _start(edit_session, source_key)  # ICError for anything we cannot read
        state["chosen_key"] = source_key
        state.pop("compare_source", None)
    return state["desk"]


def open_experiment(experiment, mine: bool) -> None:
    """Continue a stored experiment on the Explore page."""
    edit_session = workbench().desk.continue_experiment(visitor(), experiment, mine=mine,
                                                   chosen_key=st.session_state.get("chosen_key"))
    found = _start(edit_session, f"history:{experiment.id}")
    found.experiment_ids[1] = experiment.id if mine else None
    st.session_state.pop("compare_source", None)


def open_sweep_row(item, row: dict) -> None:
    """A sweep's row on Explore: its photo as the edit, its object's mask removed there by the row's inpainter
    on Explore's next run, judged by the row's classifier where this server offers it."""
    edit_session, mask = workbench().desk.open_object(visitor(), item, chosen_key=st.session_state.get("chosen_key"))
    found = _start(edit_session, edit_session.origin["source_key"])
    found.uploaded_mask = mask
    request_apply("mask", inpainter=row["inpainter"])
    offered = [choice.name for choice in workbench().policy.model_choices()]
    if row["model"] in offered:
        st.session_state[_KEEP + "model"] = row["model"]
        _keep_settings()
    found.note = (f"From the sweep: {item.name}" + (f", object {item.object}" if item.object else "")
                  + f", its {item.category or 'object'} removed with {names.inpainter(row['inpainter'])}"
                  + (f" and judged by {names.model(row['model'])}" if row["model"] in offered else
                     f"; {names.model(row['model'])} is not offered here, so the sidebar's classifier judges it")
                  + ". Paint to go on probing it; Undo brings the photo back whole.")
    st.session_state.pop("compare_source", None)


def move(how: str) -> None:
    """Undo, Redo or Reset the edit (remembered for a reload), with a fresh canvas over the state moved to."""
    found = desk()
    workbench().desk.move(found.edit, how, owner=visitor())
    found.new_canvas()


def refine() -> None:
    """The photo afresh at the working size chosen in "Detail" (see app_pages/explore.py's zoom_controls), shown where
    the canvas was: the same zoom and place."""
    found, side = desk(), st.session_state.get("detail")
    if side is None or side == found.edit.max_side:  # the chosen one clicked again
        return
    try:
        refined = workbench().desk.refine(found.edit, side, owner=visitor())
    except ICError as exc:
        notify("warning", error_text(exc))
        return
    _start(refined, found.source_key, keep_view=True).view = found.view


def _start(edit_session: EditSession, source_key: str, keep_view: bool = False) -> Desk:
    global _nonce
    _nonce += 1  # a canvas key never seen before, also across photos opened twice
    for key in () if keep_view else ("zoom", "pan-x", "pan-y"):  # a new photo is first shown whole
        st.session_state.pop(key, None)
    found = st.session_state["desk"] = Desk(edit_session, source_key, _nonce)
    return found


def save_problems(desk_now: Desk | None, new: list[str] = ()) -> list[str]:
    """Why recent removals could not be kept (a full disk, say); shown until a removal is kept again."""
    if desk_now is None:
        return list(new)
    desk_now.save_problems.extend(new)
    return desk_now.save_problems


def request_apply(what: str = "strokes", **options) -> None:
    """A button asked to apply the painted strokes or the selection (`options`: inpainter, background); the
    next run does it, where its spinner and notices have their place."""
    st.session_state["apply_now"] = {"what": what, **options}


def apply_requested() -> dict | None:
    return st.session_state.pop("apply_now", None)


# --- notices and hand-overs between pages ------------------------------------------------------

def notify(kind: str, text: str, page: str = "explore") -> None:
    """A notice shown once, on the next run of `page` ("explore", "history")."""
    st.session_state[f"notice:{page}"] = (kind, text)


def show_notice(page: str = "explore") -> None:
    notice = st.session_state.pop(f"notice:{page}", None)
    if notice:
        getattr(st, notice[0])(notice[1])
    found = st.session_state.get("desk")
    if page == "explore" and st.session_state.get("resume_problem") and not (found and found.edit.can_undo):
        st.warning(st.session_state["resume_problem"], icon=":material/cloud_off:")


def compare_source() -> dict | None:
    """What the Compare page compares: an experiment handed over from History, or the current edit."""
    chosen = st.session_state.get("compare_source")
    if chosen:
        return chosen
    found = resume()
    current = found.edit if found is not None else None
    if current is not None and current.mask.any():
        return {"key": f"edit:{id(current)}:{current.serial}", "name": current.name, "original": current.original,
                "mask": current.mask,
                "origin": f"your current edit on the Explore page ({current.removals} "
                          f"removal{'s' if current.removals != 1 else ''})"}
    return None


def hand_to_compare(experiment) -> None:
    images = experiment.images
    st.session_state["compare_source"] = {"key": f"history:{experiment.id}", "name": experiment.image_name,
                                          "original": images["original"], "mask": images["mask"],
                                          "origin": "an experiment from History"}
    st.session_state.pop("compared", None)


def result(name: str):
    """A page's last computed result ("compared", "explained"), or None."""
    return st.session_state.get(name)


def keep_result(name: str, value) -> None:
    st.session_state[name] = value


def flag(name: str, value: bool | None = None) -> bool:
    """A page's yes/no state (a confirmation asked, the tutorial seen); sets it when `value` is given."""
    if value is not None:
        st.session_state[name] = value
    return bool(st.session_state.get(name))
