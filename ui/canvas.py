"""The drawable canvas the user paints removals on, sized to its column, with its own toolbar hidden.

The page offers one undo (the edit stack's); the canvas component's toolbar
would offer a second, competing one. The component isolates its styles in a
shadow root, so a tiny companion component adds the hiding rule there. The
same companion reports the column's width, so the canvas fits it instead of
scrolling; the mask is read at canvas pixels and scaled to the image, so what
is removed is exactly what was painted at any width.
"""

import base64
import io

import numpy as np
import streamlit as st
from PIL import Image

from ic.errors import ICError
from ic.images import encode_png, mask_from_layer

TOOLS = {"Freehand brush": "freedraw", "Rectangle": "rect", "Polygon (click points, close on the first)": "polygon"}
PAINT = "rgba(255, 0, 80, 0.55)"
FILL = "rgba(255, 0, 80, 0.35)"

_COMPANION_JS = """
export default function (component) {
  const { parentElement, setStateValue } = component;
  const host = parentElement.host || parentElement;
  // The column is what the canvas must fit; the companion's own box can be transiently narrower.
  const column = () => host.closest('[data-testid="stColumn"]') || host.parentElement || host;
  let sent = 0;
  const report = () => {
    const width = Math.floor(column().getBoundingClientRect().width);
    if (width > 0 && Math.abs(width - sent) > 8) { sent = width; setStateValue("width", width); }
  };
  const resized = new ResizeObserver(() => requestAnimationFrame(report));
  resized.observe(column());
  requestAnimationFrame(report);
  let queued = false;
  const hide = () => {
    queued = false;
    for (const host of document.querySelectorAll("*")) {
      const root = host.shadowRoot;
      if (root && root.querySelector(".dc-toolbar") && !root.querySelector("style[data-ic-toolbar]")) {
        const style = document.createElement("style");
        style.dataset.icToolbar = "hidden";
        style.textContent = ".dc-toolbar { display: none !important; }";
        root.appendChild(style);
      }
    }
  };
  const observer = new MutationObserver(() => {
    if (!queued) { queued = true; requestAnimationFrame(hide); }
  });
  observer.observe(document.body, { childList: true, subtree: true });
  hide();
  return () => { observer.disconnect(); resized.disconnect(); };
}
"""
DEFAULT_WIDTH = 440


@st.cache_resource
def _companion():
    return st.components.v2.component("ic_canvas_companion", js=_COMPANION_JS)


def display_size(shape: tuple[int, int], max_width: int = 520, max_height: int = 560) -> tuple[int, int]:
    """Canvas (width, height) with the image's aspect ratio."""
    height, width = shape
    scale = min(max_width / width, max_height / height)
    return max(1, round(width * scale)), max(1, round(height * scale))


def painted_mask(key: str, shape: tuple[int, int]) -> np.ndarray | None:
    """What was painted on the canvas `key`, read from its state before the canvas is drawn again.

    Reading it first lets a removal be applied and the fresh canvas drawn in the same run.
    """
    state = st.session_state.get(key)
    drawing = state.get("drawing") if hasattr(state, "get") else None
    if not drawing or not (drawing.get("raw") or {}).get("objects") or not drawing.get("data"):
        return None
    try:
        png = base64.b64decode(drawing["data"].split(",", 1)[1])
        layer = np.asarray(Image.open(io.BytesIO(png)).convert("RGBA"))
    except (ValueError, OSError, IndexError):
        return None
    try:
        return mask_from_layer(layer, shape)
    except ICError:
        return None


def paint_canvas(background: np.ndarray, *, key: str, tool: str, brush: int, disabled: bool = False) -> None:
    """Show the canvas over `background`; what is painted is read with `painted_mask` on the next run."""
    from streamlit_drawable_canvas import st_canvas  # Components v2: importable only in a running app

    column = _companion()(key="ic-canvas-companion", on_width_change=lambda: None, width="stretch")
    column_width = (column.get("width") if hasattr(column, "get") else None) or DEFAULT_WIDTH
    width, height = display_size(background.shape[:2], max_width=int(column_width))
    st_canvas(
        fill_color=FILL,
        stroke_width=brush,
        stroke_color=PAINT,
        background_image=encode_png(background, compress_level=1),  # display only: fast to encode
        update_streamlit=True,
        width=width,
        height=height,
        drawing_mode=tool,
        return_image_data=True,
        disabled=disabled,
        key=key,
    )
