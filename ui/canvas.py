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

import numpy as np
import streamlit as st

from ic.errors import ICError
from ic.images import decode_layer, encode_display, mask_from_layer
from ui import idle, session

TOOLS = {"Freehand brush": "freedraw", "Rectangle": "rect", "Polygon (click points, close on the first)": "polygon",
         "Eraser (strokes not removed yet)": "eraser", "Select an object (box, then clicks)": "select"}
PAINT = "rgba(255, 0, 80, 0.55)"
ERASE = "rgba(255, 255, 255, 0.85)"  # near-white: the mask reads it as taken away (ic.images.mask_from_layer)
FILL = "rgba(255, 0, 80, 0.35)"

_COMPANION_JS = """
export default function (component) {
  const { parentElement, setStateValue, setTriggerValue } = component;
  const data = component.data || {};
  const host = parentElement.host || parentElement;
  // The page's main block, not a column: a column can be measured mid-rerun while something above it comes or
  // goes (the tutorial), and the canvas would keep that transient size. Two equal columns share the block;
  // below 640 px Streamlit stacks them, and each takes the block's whole width.
  const block = () => host.closest('[data-testid="stMainBlockContainer"]') || document.body;
  // What was last sent, kept across runs (each run calls this function again): the page sends a size only when
  // it changes. While the run drawing a new size is on its way, the canvas takes no stroke (it is about to be
  // drawn again at another size, and a stroke begun on the old one would be lost): `idle.sizing` below.
  const sizes = window.__icCanvasSize || (window.__icCanvasSize = { sent: null, known: null, stop: null });
  sizes.known = data.size || null;  // the size this run drew the canvas at: the latest run's, for every closure
  if (sizes.stop) sizes.stop();  // the observers of the run before: this run's take over
  const sizeKey = (size) => (size ? `${size.width}x${size.height}x${size.top}x${size.stacked}` : "");
  const idle = window.__icCanvasIdle || (window.__icCanvasIdle = { timer: null, send: null, token: null, sizing: null });
  const say = (value) => { document.documentElement.dataset.icCanvas = value; };
  // The canvas's top in the page (not the window: the page may be scrolled), so that its height can be chosen to
  // keep the whole canvas, and what must be seen with it, inside the window.
  const findCanvas = () => {
    for (const element of document.querySelectorAll("*")) {
      const found = element.shadowRoot && element.shadowRoot.querySelector(".upper-canvas");
      if (found) return found;
    }
    return null;
  };
  const scrolled = (element) => {
    for (let node = element; node; node = node.parentElement || (node.getRootNode && node.getRootNode().host)) {
      if (node.scrollTop) return node.scrollTop;
    }
    return 0;
  };
  const report = () => {
    if (!host.isConnected) return;  // another page now, or a run that replaced this one
    const inner = block().getBoundingClientRect().width
      - parseFloat(getComputedStyle(block()).paddingLeft || 0) - parseFloat(getComputedStyle(block()).paddingRight || 0);
    const stacked = window.innerWidth < 640;
    const width = Math.floor(stacked ? inner : (inner - 16) / 2) - 2;
    const height = Math.floor(window.innerHeight);
    const drawn = findCanvas();
    const top = drawn ? Math.round(drawn.getBoundingClientRect().top + scrolled(drawn)) : 0;
    if (drawn && data.alt && drawn.getAttribute("aria-label") !== data.alt) {
      drawn.setAttribute("role", "img");
      drawn.setAttribute("aria-label", data.alt);
    }
    if (width <= 0) return;
    // The canvas's top alone never sends a new size once known: a title line that wraps for a moment (while a
    // removal runs) would resize the canvas under the brush. A new window size measures it afresh.
    const sent = sizes.sent;
    if (!sent || Math.abs(width - sent.width) > 8 || Math.abs(height - sent.height) > 40 || (top && !sent.top)) {
      sizes.sent = { width, height, stacked, top: top || (sent ? sent.top : 0) };
    }
    const wanted = sizeKey(sizes.sent);
    if (wanted === sizeKey(sizes.known) || wanted === idle.sizing) return;  // the server has it, or has it coming
    setStateValue("size", sizes.sent);
    if (drawn) {  // strokes wait for the canvas at its new size (or, whatever happens, RESIZE_MS)
      idle.sizing = wanted;
      say("busy");
      setTimeout(() => { if (idle.sizing === wanted) { idle.sizing = null; if (idle.token === null) say("ready"); } },
                 RESIZE_MS);
    }
  };
  if (idle.sizing && idle.sizing === sizeKey(data.size)) {  // this run draws the canvas at the size sent
    const drawnAt = idle.sizing;
    setTimeout(() => { if (idle.sizing === drawnAt) { idle.sizing = null; if (idle.token === null) say("ready"); } },
               RELEASE_MS);
  }
  const resized = new ResizeObserver(() => requestAnimationFrame(report));
  resized.observe(block());
  requestAnimationFrame(report);
  let queued = false;
  const hide = () => {
    queued = false;
    report();  // the canvas may have just appeared: its place decides its height
    for (const host of document.querySelectorAll("*")) {
      const root = host.shadowRoot;
      // a shadow root's own changes (the canvas drawing its toolbar after its host appeared) reach no observer of
      // the page: each root is watched too (observing it again changes nothing)
      if (root) observer.observe(root, { childList: true, subtree: true });
      if (root && root.querySelector(".dc-toolbar") && !root.querySelector("style[data-ic-toolbar]")) {
        const style = document.createElement("style");
        style.dataset.icToolbar = "hidden";
        style.textContent = ".dc-toolbar { display: none !important; }"
          + ':host-context(html[data-ic-canvas="busy"]) .upper-canvas { cursor: progress !important; }';
        root.appendChild(style);
      }
    }
  };
  const observer = new MutationObserver(() => {
    if (!queued) { queued = true; requestAnimationFrame(hide); }
  });
  observer.observe(document.body, { childList: true, subtree: true });
  hide();
  // A pause after painting: IDLE_MS after the last stroke ended on a canvas, with no stroke begun since; at once
  // (BUTTON_MS) after a button that applies or clears strokes. Page-wide and set up once, so that a rerun (which
  // runs this function again) does not reset the clock.
  //
  // The run that answers a pause may clear the canvas, and a clear replaces everything on it, including a
  // stroke begun after the pause that has not reached the server yet: that stroke would vanish unapplied. So
  // from the pause until the answering run is drawn (it sends back the pause's token as `seen`), the canvas
  // takes no new stroke, shows a busy cursor, and says so on <html data-ic-canvas="busy"> (tests wait on it).
  idle.send = setTriggerValue;
  const seen = Number(data.seen || 0);
  if (idle.token !== null && seen >= idle.token) {
    const token = idle.token;
    idle.answered = token;  // no more resends of this one (below)
    // the clear came in the same run, just before: give the canvas a moment to load it
    setTimeout(() => { if (idle.token === token) { idle.token = null; if (!idle.sizing) say("ready"); } }, RELEASE_MS);
  }
  if (!idle.listening) {
    idle.listening = true;
    say("ready");
    const onCanvas = (event) => event.composedPath().some((el) => el.classList && el.classList.contains("upper-canvas"));
    const onClearingButton = (event) => event.composedPath().some(
      (el) => el.className && typeof el.className === "string" && el.className.includes("st-key-ic-clears"));
    const release = (token) => { if (idle.token === token) { idle.token = null; if (!idle.sizing) say("ready"); } };
    // A pause sent while another run was on its way was seen to get no answer at all (once in many CI runs):
    // the canvas then waited for its safety release. While no run is on its way and the answer has not come,
    // the same token is sent again: its run answers it like the first would have.
    const onItsWay = () => document.querySelector(
      '[data-test-script-state="running"], [data-test-script-state="rerunRequested"], [data-test-script-state="stopRequested"]');
    const resend = (token) => {
      if (idle.token !== token || idle.answered === token) return;
      if (!onItsWay()) { try { idle.send("idle", token); } catch (error) { /* tried again below */ } }
      setTimeout(() => resend(token), RESEND_MS);
    };
    const pause = () => {
      const token = Date.now();
      idle.timer = null; idle.token = token; say("busy");
      setTimeout(() => release(token), FALLBACK_MS);  // first: whatever happens next, the canvas comes back
      try {
        idle.send("idle", token);
      } catch (error) {  // the page is being rebuilt: no answer will come, so nothing will be cleared
        release(token);
        return;
      }
      setTimeout(() => resend(token), RESEND_MS);
    };
    const block = (event) => {
      if ((idle.token !== null || idle.sizing) && onCanvas(event)) {
        event.preventDefault(); event.stopImmediatePropagation(); idle.swallowed = true; return true;
      }
      return false;
    };
    const upperOf = (event) => event.composedPath().find((el) => el.classList && el.classList.contains("upper-canvas"));
    document.addEventListener("pointerdown", (event) => {
      idle.down = null;
      if (block(event) || idle.token !== null || idle.sizing) return;  // a pause on its way keeps its timer and hold
      idle.down = upperOf(event) || null;  // a stroke begins on the canvas
      clearTimeout(idle.timer); idle.timer = null;
      say("ready");
    }, true);
    // A stroke that leaves the canvas goes on (a rectangle dragged past its edge reaches the edge): the canvas
    // does not hear that the pointer left while the button is down.
    for (const name of ["mouseout", "pointerout", "pointerleave", "mouseleave"]) {
      document.addEventListener(name, (event) => {
        if (idle.down && event.composedPath()[0] === idle.down) event.stopImmediatePropagation();
      }, true);
    }
    // A stroke released outside the canvas ends there too: the canvas hears its release at the nearest point of
    // its edge, and sends the shape at once, not with the next stroke.
    const releaseOnCanvas = (canvas, event) => {
      const box = canvas.getBoundingClientRect();
      const at = { bubbles: true, cancelable: true, composed: true, button: 0,
                   clientX: Math.min(Math.max(event.clientX, box.left + 1), box.right - 1),
                   clientY: Math.min(Math.max(event.clientY, box.top + 1), box.bottom - 1) };
      idle.synthetic = true;
      try {
        canvas.dispatchEvent(new PointerEvent("pointerup", { ...at, pointerId: event.pointerId, isPrimary: true,
                                                             pointerType: event.pointerType || "mouse" }));
        canvas.dispatchEvent(new MouseEvent("mouseup", at));
      } finally { idle.synthetic = false; }
    };
    for (const name of ["mousedown", "touchstart"]) document.addEventListener(name, block, { capture: true, passive: false });
    document.addEventListener("pointerup", (event) => {
      if (idle.synthetic) return;  // ours, just below: the canvas's own listeners take it
      if (idle.swallowed) { idle.swallowed = false; if (onCanvas(event)) { event.stopImmediatePropagation(); return; } }
      const began = idle.down;
      idle.down = null;
      const button = onClearingButton(event);
      if (!button && began && !onCanvas(event) && began.isConnected) releaseOnCanvas(began, event);
      else if (!button && !onCanvas(event)) return;
      clearTimeout(idle.timer);
      if (button) { idle.token = Number.MAX_SAFE_INTEGER; say("busy"); }  // no stroke from now: the button's run may clear
      else say("armed");
      idle.timer = setTimeout(pause, button ? BUTTON_MS : IDLE_MS);
    }, true);
  }
  const onResize = () => requestAnimationFrame(report);
  window.addEventListener("resize", onResize);
  sizes.stop = () => { observer.disconnect(); resized.disconnect(); window.removeEventListener("resize", onResize); };
  return sizes.stop;
}
""".replace("IDLE_MS", "900").replace("BUTTON_MS", "300").replace("RELEASE_MS", "150") \
    .replace("FALLBACK_MS", "60000").replace("RESEND_MS", "2500").replace("RESIZE_MS", "5000")
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


def new_strokes(desk: session.Desk) -> Strokes | None:
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


def mark_applied(desk: session.Desk, strokes: Strokes) -> None:
    """Everything on the canvas when `strokes` was read has been applied (plain attribute writes)."""
    desk.applied = strokes.painted if desk.applied is None else desk.applied | strokes.painted
    desk.applied_count = strokes.count


def discard(desk: session.Desk, strokes: Strokes) -> None:
    """Drop the strokes not removed yet: they count as dealt with, and the canvas is cleared of them."""
    mark_applied(desk, strokes)
    desk.clear_canvas()


def shows_strokes(desk: session.Desk) -> bool:
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
                                                  "size": _size() or None},
                 on_size_change=lambda: None, on_idle_change=lambda: None, width="stretch")
    return width, height
