"""Selecting an object by clicking, on the Explore page: drag a box around it, GrabCut proposes its mask (shown
tinted on the canvas), clicks on it or beside it correct the proposal, Grow and Shrink adjust its margin, and
then it is removed like any stroke, or everything but it is replaced (keep only the object).

The canvas reports a box or a click as paint; here it is read as a selection, never removed as such.

Without a pointer: two range sliders place a box (the arrow keys move each edge; the box is outlined on the
canvas as they move), and "Select the box" proposes the object in it, as a dragged box would."""

import numpy as np
import streamlit as st

from ic.errors import ICError
from ic.images import outline_box, overlay_mask
from ic.select import Selection, grow
from ui import canvas, editing, flash, visiting
from ui.text import error_text

MODES = {"box": "Box around it", "object": "Click: part of it", "background": "Click: not part of it"}
TINT = (0, 150, 255)
GROW_PX = 4
KEY_BOX = (25, 75)  # the keyboard box's edges before they move, in percent of the width and the height


def _mode() -> str:
    return st.session_state.get("select-mode") or "box"  # nothing chosen in the control: boxes


def drawing_mode() -> str:
    """The canvas tool the select tool needs now: a box, or clicks once a proposal is there."""
    return "rect" if _mode() == "box" else "point"


def shown_over(image: np.ndarray, desk: editing.Desk) -> np.ndarray:
    """The edited image with the proposal tinted over it, and the keyboard's box outlined, for the canvas."""
    shown = overlay_mask(image, desk.selection.mask, colour=TINT) if desk.selection is not None else image
    box = keyboard_box(image.shape[:2])
    if box is not None and desk.selection is None:
        left, top, right, bottom = box
        shown = outline_box(shown, (top, left, bottom, right), colour=TINT)
    return shown


def keyboard_box(shape: tuple[int, int]) -> tuple[int, int, int, int] | None:
    """(left, top, right, bottom) in the image's pixels of the box the sliders place, or None before they move."""
    across, down = st.session_state.get("key-box-x"), st.session_state.get("key-box-y")
    if across is None or down is None or (tuple(across), tuple(down)) == (KEY_BOX, KEY_BOX):
        return None
    height, width = shape
    left, right = round(across[0] / 100 * width), round(across[1] / 100 * width)
    top, bottom = round(down[0] / 100 * height), round(down[1] / 100 * height)
    return (left, top, max(right, left + 1), max(bottom, top + 1))


def take_keyboard_box(desk: editing.Desk, progress) -> None:
    """The sliders' box, proposed as a dragged box would be (a request of the "Select the box" button)."""
    box = keyboard_box(desk.edit.shape)
    if box is None:
        flash.notify("info", "Move the box's edges with the sliders first (Tab to a slider, then the arrow keys).")
        return
    progress.markdown("**Edited** · :material/progress_activity: selecting…")
    try:
        desk.selection = visiting.workbench().actions.select(desk.edit.edited, box)
    except ICError as exc:
        flash.notify("warning", error_text(exc))


def take(desk: editing.Desk, strokes: canvas.Strokes, progress) -> None:
    """A box or a click just drawn in select mode: a new proposal, or a correction of the current one. `progress`
    is the line above the canvas, which says the object is being looked for."""
    mode = _mode()
    canvas.discard(desk, strokes)  # the box or the dot leaves the canvas; nothing of it is removed
    ys, xs = np.nonzero(strokes.new)
    workbench = visiting.workbench()
    progress.markdown("**Edited** · :material/progress_activity: selecting…")
    try:
        if mode == "box" or desk.selection is None:
            desk.selection = workbench.actions.select(desk.edit.edited, (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1))
        else:
            click = (float(xs.mean()), float(ys.mean()), mode == "object")
            found = workbench.actions.select(desk.edit.edited, desk.selection.box, [*desk.selection.clicks, click])
            desk.selection = grow(found, desk.selection.grown)
    except ICError as exc:
        flash.notify("warning", error_text(exc))


def controls(desk: editing.Desk) -> None:
    """Under the canvas while the select tool is on: what a box or click means now, and what to do with the
    proposal (the page's next run applies it through the workbench)."""
    selection: Selection | None = desk.selection
    st.segmented_control("Select", list(MODES), format_func=MODES.get, key="select-mode", default="box",
                         help="Drag a box around the object; then click on a part it missed, or on what it took "
                              "wrongly, to correct it.")
    if selection is None:
        st.caption("Drag a box around an object: its outline is proposed, tinted blue, to check before removing.")
        keyboard_controls()
        return
    st.caption(f"Selected: {selection.share:.1%} of the image"
               + (f", grown by {selection.grown} px" if selection.grown > 0 else
                  f", shrunk by {-selection.grown} px" if selection.grown < 0 else "")
               + (f" · {len(selection.clicks)} correction{'s' if len(selection.clicks) != 1 else ''}"
                  if selection.clicks else ""))
    act, bigger, smaller, drop = st.columns([3, 1, 1, 1])
    act.button("Remove the selection", type="primary", width="stretch", key="select-remove",
               on_click=editing.request_apply, args=("selection",))
    bigger.button("Grow", width="stretch", key="select-grow", on_click=_grow, args=(desk, GROW_PX))
    smaller.button("Shrink", width="stretch", key="select-shrink", on_click=_grow, args=(desk, -GROW_PX))
    drop.button("Cancel", width="stretch", key="select-cancel", on_click=_drop, args=(desk,))
    fill_col, keep_col = st.columns([1, 2])
    policy = visiting.workbench().policy
    titles = {row["name"]: row["title"] for row in policy.inpainter_choices()}
    fill = fill_col.selectbox("Background becomes", policy.baselines(), key="select-fill",
                              format_func=lambda name: titles.get(name, name).lower())
    keep_col.button("Keep only the selection", width="stretch", key="select-keep",
                    help="Replace everything else, to ask whether the object alone or its context decides.",
                    on_click=editing.request_apply, args=("selection",), kwargs={"inpainter": fill, "background": True})


def _grow(desk: editing.Desk, pixels: int) -> None:
    if desk.selection is not None:
        desk.selection = grow(desk.selection, pixels)


def _drop(desk: editing.Desk) -> None:
    desk.selection = None



def keyboard_controls() -> None:
    """A box placed with the keyboard: each slider's two handles are its edges (arrow keys move them, Page Up and
    Page Down by tens), outlined on the canvas; then "Select the box"."""
    with st.expander("Select with the keyboard", icon=":material/keyboard:"):
        across, down = st.columns(2)
        across.slider("Box across (% of the width)", 0, 100, KEY_BOX, key="key-box-x")
        down.slider("Box down (% of the height)", 0, 100, KEY_BOX, key="key-box-y")
        (left, right), (top, bottom) = st.session_state["key-box-x"], st.session_state["key-box-y"]
        st.caption(f"The box outlined on the canvas: {left}–{right}% across, {top}–{bottom}% down.")
        st.button("Select the box", key="key-box-select", on_click=editing.request_apply, args=("box",),
                  help="Propose the object in the box, as a box dragged on the canvas would.")
