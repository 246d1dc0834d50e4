"""Focus stays on the control used.

A Streamlit rerun replaces elements whose properties change (a sample's button becomes the primary one, Undo is
disabled at the first step), and the browser then drops the keyboard focus to the page's top: a keyboard user
pressing Enter on a sample or on Undo started again from the first link. This small component, on every page,
remembers the control that had the focus (by its widget key, the `st-key-…` class Streamlit puts on the
element) and, when that control is replaced while focused, gives the focus to its replacement; when the
replacement is disabled, to the nearest enabled control beside it. A click elsewhere is left alone. A sidebar
opened over the page (a phone) takes the focus to its first link, and gives it back to its button when closed.
"""

import streamlit as st

_JS = r"""
export default function () {
  const keeper = window.__icFocus || (window.__icFocus = { listening: false, element: null, key: null });
  if (keeper.listening) return;
  keeper.listening = true;
  const keyOf = (element) => {
    const holder = element.closest('[class*="st-key-"]');
    return holder ? [...holder.classList].find((name) => name.startsWith("st-key-")) : null;
  };
  const focusable = 'button:not([disabled]), input:not([disabled]), [tabindex="0"]';
  document.addEventListener("focusin", (event) => {
    const key = keyOf(event.target);
    keeper.element = key ? event.target : null;
    keeper.key = key;
  }, true);
  const restore = () => {
    const lost = keeper.element;
    if (!lost || !keeper.key) return;
    const active = document.activeElement;
    if (active && active !== document.body) return;  // the focus went somewhere: nothing to mend
    if (lost.isConnected && !lost.disabled && !lost.closest("[disabled]")) return;  // a click on the page, not a rerun
    const holder = document.querySelector("." + CSS.escape(keeper.key));
    let target = holder && holder.querySelector(focusable);
    if (!target && holder) {  // replaced by a disabled one (Undo at the first step): its nearest enabled neighbour
      for (let block = holder.parentElement; block && !target; block = block.parentElement) {
        target = block.querySelector(focusable);
        if (block.matches('[data-testid="stVerticalBlock"]')) break;
      }
    }
    if (target) {
      keeper.element = target;
      target.focus({ preventScroll: true });
    }
  };
  let queued = false;
  new MutationObserver(() => {
    if (!queued) { queued = true; requestAnimationFrame(() => { queued = false; restore(); sidebar(); }); }
  }).observe(document.body, { childList: true, subtree: true, attributes: true,
                              attributeFilter: ["disabled", "data-collapsed"] });
  // The sidebar opened over a phone's page takes the focus to its first link (the button that opened it is gone,
  // and the focus fell to the page's top); closed, it gives the focus back to the button that opens it.
  let collapsed = null;
  const sidebar = () => {
    const bar = document.querySelector('[data-testid="stSidebar"]');
    const now = bar ? bar.getAttribute("data-collapsed") : null;
    if (now === collapsed) return;
    const before = collapsed;
    collapsed = now;
    if (before === null) return;  // the page's first look: nothing was opened or closed
    const active = document.activeElement;
    const lost = !active || active === document.body || (now === "true" && bar.contains(active));
    if (!lost) return;
    const target = now === "false" ? bar.querySelector("a[href], button:not([disabled])")
      : document.querySelector('[data-testid="stExpandSidebarButton"]');
    if (target) target.focus({ preventScroll: true });
  };
}
"""


@st.cache_resource
def _keeper():
    return st.components.v2.component("ic_focus_keeper", js=_JS)


def keep_focus() -> None:
    """Put the focus keeper on the page (once per run; it sets itself up once per browser tab)."""
    _keeper()(key="ic-focus-keeper")


# After a removal the answer comes into view: from a button under the canvas (the keyboard's box, a mask file) the
# window stayed where the button was, the answer 300-400 px above it, and the button, gone, left the focus on the
# page's top. Scrolled as little as shows the answer's top; the focus goes to the answer only where it was lost or
# is out of sight, so a stroke's answer, already in view beside the canvas, moves nothing.
_REVEAL_JS = r"""
export default function (component) {
  const { parentElement } = component;
  const count = (component.data || {}).count || 0;
  const host = parentElement.host || parentElement;
  const seen = window.__icRevealed;
  window.__icRevealed = count;
  if (seen === undefined || count <= seen) return;  // the page's first look, or nothing new
  requestAnimationFrame(() => {
    const block = host.closest('[data-testid="stVerticalBlock"]');
    if (!block) return;
    block.scrollIntoView({ block: "nearest" });
    const active = document.activeElement;
    const box = active && active !== document.body ? active.getBoundingClientRect() : null;
    const lost = !box || !active.isConnected || box.bottom < 0 || box.top > innerHeight || box.height === 0;
    if (lost) {
      block.tabIndex = -1;
      block.focus({ preventScroll: true });
    }
  });
}
"""


@st.cache_resource
def _revealer():
    return st.components.v2.component("ic_answer_revealer", js=_REVEAL_JS)


def reveal_answer(count: int) -> None:
    """Put where the answer begins: each new `count` (a removal) brings it into view, and the focus to it where the
    focus was lost."""
    _revealer()(key="ic-answer-revealer", data={"count": count})
