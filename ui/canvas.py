"""The drawable canvas the user paints removals on, sized to its column, with its own toolbar hidden.

No stroke is lost. The canvas keeps one key across removals (a new canvas only when the photo changes or
the edit stack moves), so strokes painted while a removal runs stay on it and reach the server with the
next update; each run applies what the canvas holds beyond the strokes already applied (`new_strokes`).
Applied strokes are taken off the canvas through its initial drawing only once the user has paused
(the companion below reports a pause after each stroke): a reload while a stroke is still being sent
would wipe that stroke in the browser. A new stroke's overlap with an applied one that is still shown
is not removed twice.

The page offers one undo (the edit stack's); the canvas component's toolbar would offer a second,
competing one. The component isolates its styles in a shadow root, so a tiny companion component adds
the hiding rule there. The same companion reports the page's width and the viewport's height, so the
canvas (and the original beside it, at the same size) fits the column and the screen; the mask is read at
canvas pixels and scaled to the image, so what is removed is exactly what was painted at any width.

Shapes are drawn without an outline (the brush width would grow them past what was drawn); the eraser paints
near-white, which the mask reads as taken away; the select tool's boxes and clicks are read as a selection.
"""

import base64
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import streamlit as st

from ic.errors import ICError
from ic.images import decode_layer, encode_display, mask_from_layer
from ui import editing, idle

TOOLS = {"Freehand brush": "freedraw", "Rectangle": "rect", "Polygon (click points, close on the first)": "polygon",
         "Eraser (strokes not removed yet)": "eraser", "Select an object (box, then clicks)": "select"}
PAINT = "rgba(255, 0, 80, 0.55)"
ERASE = "rgba(255, 255, 255, 0.85)"  # near-white: the mask reads it as taken away (ic.images.mask_from_layer)
FILL = "rgba(255, 0, 80, 0.35)"

# The companion's script lives beside this file; its waits come to it as data, in milliseconds: a pause is
# `idle` after a stroke (`button` after a button that applies strokes), the canvas is given back `release` after
# the run that cleared it (`fallback` whatever happens), a pause is sent again every `resend` until a run takes it,
# and strokes wait at most `resize` for the canvas at a new size.
WAITS_MS = {"idle": 900, "button": 300, "release": 150, "fallback": 60000, "resend": 2500, "resize": 5000}
_COMPANION_JS = (Path(__file__).with_name("canvas_companion.js")).read_text()
SEEN_KEY = "ic-canvas-pause-seen"
DEFAULT_WIDTH = 440
DEFAULT_HEIGHT = 800  # the viewport's height until the browser says
DEFAULT_TOP = 200  # the canvas's top in the page, likewise
ROOM_BELOW = 64  # beside the answer: one row of buttons under the canvas (Remove, when not at once) stays in view
ANSWER_ROOM = 270  # a phone's answer under the canvas: the top-1 notice and three rows of the table stay in view
MIN_HEIGHT = 240


@st.cache_resource
def _companion():
    return st.components.v2.component("ic_canvas_companion", js=_COMPANION_JS)


def display_size(shape: tuple[int, int], max_width: int = 520, max_height: int = 560) -> tuple[int, int]:
    """Canvas (width, height) with the image's aspect ratio."""
    height, width = shape
    scale = min(max_width / width, max_height / height)
    return max(1, round(width * scale)), max(1, round(height * scale))


def _drawing(key: str, shape: tuple[int, int]) -> tuple[np.ndarray, int] | None:
    """(the mask of everything painted on canvas `key`, how many strokes it holds), from its last update."""
    state = st.session_state.get(key)
    drawing = state.get("drawing") if hasattr(state, "get") else None
    if not drawing or not drawing.get("data"):
        return None
    strokes = len((drawing.get("raw") or {}).get("objects") or [])
    try:
        layer = decode_layer(base64.b64decode(drawing["data"].split(",", 1)[1]))
        return mask_from_layer(layer, shape), strokes
    except (ValueError, IndexError, ICError):  # not what the canvas sends: nothing painted
        return None


@dataclass
class Strokes:
    new: np.ndarray  # painted and not applied yet: what to remove
    painted: np.ndarray  # everything on the canvas now
    count: int  # strokes on the canvas now


def new_strokes(desk: editing.Desk) -> Strokes | None:
    """What was painted on the desk's canvas and not applied yet, or None when nothing new is there.
    Read before the canvas is drawn again in this run."""
    top, left, bottom, right = desk.view_box()
    found = _drawing(desk.canvas_key, (bottom - top, right - left))
    if found is None:
        return None
    shown, count = found
    painted = np.zeros(desk.edit.shape, bool)  # the part shown, placed back on the whole edit
    painted[top:bottom, left:right] = shown
    if desk.applied is not None and count < desk.applied_count:  # cleared since: what it shows is all new
        desk.applied, desk.applied_count = None, 0
    new = painted & ~desk.applied if desk.applied is not None else painted
    return Strokes(new, painted, count) if new.any() else None


def mark_applied(desk: editing.Desk, strokes: Strokes) -> None:
    """Everything on the canvas when `strokes` was read has been applied (plain attribute writes)."""
    desk.applied = strokes.painted if desk.applied is None else desk.applied | strokes.painted
    desk.applied_count = strokes.count


def discard(desk: editing.Desk, strokes: Strokes) -> None:
    """Drop the strokes not removed yet: they count as dealt with, and the canvas is cleared of them."""
    mark_applied(desk, strokes)
    desk.clear_canvas()


def shows_strokes(desk: editing.Desk) -> bool:
    """Whether the canvas still shows strokes (applied or not)."""
    state = st.session_state.get(desk.canvas_key)
    drawing = state.get("drawing") if hasattr(state, "get") else None
    return bool(drawing and (drawing.get("raw") or {}).get("objects"))


def paused(key: str = "ic-canvas-companion") -> bool:
    """Whether this run was started by the user's pause after painting (or a button that applies strokes).
    Call it once in every run: the pause's token goes back to the page with the canvas, which takes strokes
    again once this run's answer (perhaps a clear) is drawn."""
    state = st.session_state.get(key)
    token = state.get("idle") if hasattr(state, "get") else None
    if token:
        st.session_state[SEEN_KEY] = max(float(token), st.session_state.get(SEEN_KEY, 0.0))
    return bool(token)


def _size() -> dict:
    state = st.session_state.get("ic-canvas-companion")
    return (state.get("size") if hasattr(state, "get") else None) or {}


def measured() -> bool:
    """Whether the browser has said the page's size (the companion's first report) in this session."""
    return bool(_size())


def stacked() -> bool:
    """Whether the page's columns stack (a phone's width), as the browser last said."""
    return bool(_size().get("stacked"))


def shown_size(shape: tuple[int, int]) -> tuple[int, int]:
    """(width, height) the canvas and the original are shown at: the column's width, and as tall as the window
    allows below the canvas's top with room for what must be seen with it (a row of buttons beside the answer;
    on a phone, the answer under it), whichever binds first, for any aspect ratio. The same in every run until
    the window changes."""
    size = _size()
    width = size.get("width") or DEFAULT_WIDTH
    height = size.get("height") or DEFAULT_HEIGHT
    top = size.get("top") or DEFAULT_TOP
    room = ANSWER_ROOM if size.get("stacked") else ROOM_BELOW
    return display_size(shape, max_width=int(width), max_height=max(MIN_HEIGHT, int(height - top - room)))


def brush_pixels(share: int, photo: tuple[int, int], box: tuple[int, int, int, int], shown_width: int) -> int:
    """The canvas's stroke width for a brush of `share` % of the photo's longer side, where the canvas shows the
    photo's region `box` (top, left, bottom, right) `shown_width` pixels wide."""
    top, left, bottom, right = box
    return max(1, round(share / 100 * max(photo) * shown_width / max(1, right - left)))


def paint_canvas(background: np.ndarray, *, key: str, tool: str, brush: int, clears: int = 0,
                 disabled: bool = False, alt: str = "The photo to paint on") -> tuple[int, int]:
    """Show the canvas over `background`; `clears` counts how often its applied strokes were taken off; `alt`
    names it for screen readers. Returns the (width, height) it is shown at, for the original beside it. Shapes
    (rectangle, polygon) have no outline: the brush width would grow them past what was drawn."""
    from streamlit_drawable_canvas import st_canvas  # Components v2: importable only in a running app

    width, height = shown_size(background.shape[:2])
    if not measured():  # the browser says the page's size once the canvas is drawn, and the page is drawn again
        idle.expect("canvas-size")
    st_canvas(
        fill_color=FILL,
        stroke_width=brush if tool in ("freedraw", "eraser") else 0,
        stroke_color=ERASE if tool == "eraser" else PAINT,
        background_image=encode_display(background),  # display only: fast to encode and to send
        update_streamlit=True,
        width=width,
        height=height,
        drawing_mode="freedraw" if tool == "eraser" else tool,
        initial_drawing={"objects": [], "clears": clears},  # a new count reloads the canvas empty
        return_image_data=True,
        disabled=disabled,
        key=key,
    )
    # after the canvas: the page takes strokes again only once this run's clear (if any) has reached the canvas
    _companion()(key="ic-canvas-companion", data={"seen": st.session_state.get(SEEN_KEY, 0.0), "alt": alt,
                                                  "size": _size() or None, "ms": WAITS_MS},
                 on_size_change=lambda: None, on_idle_change=lambda: None, width="stretch")
    return width, height
