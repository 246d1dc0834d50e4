// The canvas's companion (ui/canvas.py): hides the canvas component's own toolbar, reports the page's size and
// the canvas's top, names the canvas for screen readers, and says when the person paused after painting.
// Loaded by st.components.v2.component; its waits come as data (data.ms), with the size and the pause seen.
export default function (component) {
  const { parentElement, setStateValue, setTriggerValue } = component;
  const data = component.data || {};
  const ms = data.ms;  // its waits in milliseconds: ui/canvas.py's WAITS_MS
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
    if (drawn) {  // strokes wait for the canvas at its new size (or, whatever happens, ms.resize)
      idle.sizing = wanted;
      say("busy");
      setTimeout(() => { if (idle.sizing === wanted) { idle.sizing = null; if (idle.token === null) say("ready"); } },
                 ms.resize);
    }
  };
  if (idle.sizing && idle.sizing === sizeKey(data.size)) {  // this run draws the canvas at the size sent
    const drawnAt = idle.sizing;
    setTimeout(() => { if (idle.sizing === drawnAt) { idle.sizing = null; if (idle.token === null) say("ready"); } },
               ms.release);
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
  // A pause after painting: ms.idle after the last stroke ended on a canvas, with no stroke begun since; at once
  // (ms.button) after a button that applies or clears strokes. Page-wide and set up once, so that a rerun (which
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
    setTimeout(() => { if (idle.token === token) { idle.token = null; if (!idle.sizing) say("ready"); } }, ms.release);
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
      setTimeout(() => resend(token), ms.resend);
    };
    const pause = () => {
      const token = Date.now();
      idle.timer = null; idle.token = token; say("busy");
      setTimeout(() => release(token), ms.fallback);  // first: whatever happens next, the canvas comes back
      try {
        idle.send("idle", token);
      } catch (error) {  // the page is being rebuilt: no answer will come, so nothing will be cleared
        release(token);
        return;
      }
      setTimeout(() => resend(token), ms.resend);
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
      idle.timer = setTimeout(pause, button ? ms.button : ms.idle);
    }, true);
  }
  const onResize = () => requestAnimationFrame(report);
  window.addEventListener("resize", onResize);
  sizes.stop = () => { observer.disconnect(); resized.disconnect(); window.removeEventListener("resize", onResize); };
  return sizes.stop;
}
