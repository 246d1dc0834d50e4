"""The edit on the Explore page: the visitor's desk (the edit, the canvas over it, where it came from, the
removals' experiment ids) and the ways a desk begins: the sidebar's photo, History's experiment, a sweep's row, a
reload (`resume`); Undo, Redo, Reset and Detail; and the request to apply what was painted on the next run."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import streamlit as st

from ic.errors import ICError
from ic.experiment import EditSession
from ic.images import encode_display
from ui import durable, flash, names
from ui.text import error_text
from ui.visiting import visitor, workbench


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
        except ICError as exc:  # said above the canvas until the first removal (show_resume_problem)
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
        durable.keep("model", row["model"])
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
        flash.notify("warning", error_text(exc))
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


def chosen_key() -> str | None:
    """The sidebar's photo the desk was begun from ("sample:camera.png", "upload:<sha>"); "" once a click asked
    for it afresh; None before any choice (an edit opened from History or a reload)."""
    return st.session_state.get("chosen_key")


def choose_afresh() -> None:
    """The sidebar's photo is begun afresh on the next run, even where it was chosen before (the canvas holds
    another photo: a sweep's row, History's experiment)."""
    st.session_state["chosen_key"] = ""


def show_resume_problem() -> None:
    """Why the edit from before a reload could not be brought back, above the canvas until the first removal."""
    found = desk()
    if st.session_state.get("resume_problem") and not (found and found.edit.can_undo):
        st.warning(st.session_state["resume_problem"], icon=":material/cloud_off:")
