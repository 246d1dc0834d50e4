"""What a server prepares as soon as it starts, so that no visitor waits for it: the default classifier with its
fast path (exported once and kept in the cache folder, so a restart reads it back), the default inpainter, and
the rates the page's estimates are made from. `streamlit_app.py` starts it in a background thread; a visitor who
comes meanwhile sees the page at once and, where the answer will be, what is still being prepared
(`ic.classifiers.loading_step`)."""

from __future__ import annotations

import gc
import logging
import threading
import time

from ic.classifiers import DEFAULT_MODEL, exported, get_classifier
from ic.explain import DEFAULT_INFILL
from ic.explain.cost import prepare as measure_rates
from ic.inpaint import default_inpainter_name, get_inpainter

log = logging.getLogger(__name__)


PAUSE_S = 3.0
FIRST_PAGE_S = 2.0  # how long the preparation waits for a first page to draw its frame before it starts
_first_page = threading.Event()
_prepared: dict = {}  # how the preparation ended: {"seconds": …} or {"problem": …}; empty while it runs


def status() -> dict:
    """Whether the preparation has ended (the server's /_ic/ready answers with it): {"prepared": bool, and
    "seconds" it took or the "problem" that stopped it}."""
    return {"prepared": "seconds" in _prepared, **_prepared}


def page_drawn() -> None:
    """A page has drawn its frame: the preparation may start its heavy work (torch's import, the export)."""
    _first_page.set()


def prepare(model: str | None = None, pause_s: float = PAUSE_S) -> float:
    """Load `model` (by default the default classifier); then, after `pause_s`, the page's default inpainter and
    the rates its estimates are made from. Returns the seconds it took."""

    start = time.perf_counter()
    # `streamlit run` opens the browser as the server answers: that first page draws its frame before torch's
    # import and the export compete with it for the interpreter (under load its first sentence came at 2.9 s, not
    # 1.5). A classifier exported before loads without torch, at once.
    if not exported(model or DEFAULT_MODEL):
        _first_page.wait(FIRST_PAGE_S)
    classifier = get_classifier(model or DEFAULT_MODEL)
    # a visitor who came at once gets the first answer before the rest competes for the CPU (even when nobody has
    # come yet: a restart's page comes a second later, as `streamlit run` opens it, and found torch's import running)
    time.sleep(pause_s)
    get_inpainter(default_inpainter_name()).prepare()  # the page's default inpainter
    measure_rates(classifier, get_inpainter(DEFAULT_INFILL))
    freeze_long_lived()  # torch and captum came in just now, after any page froze what it had loaded
    return time.perf_counter() - start


def freeze_long_lived() -> None:
    """Keep what is loaded now (torch, the models, the modules) out of every later garbage collection.

    Streamlit collects garbage after every run (runner.postScriptGC). With torch and a model loaded, that
    collection walks about 400,000 objects: about 180 ms here, holding the GIL, so the run's last messages
    (the table and its caption) waited behind it. Frozen, it takes about 1 ms. Done when the preparation ends
    and when a page loads another model; what is frozen is still freed by reference counting when dropped."""
    gc.collect()
    gc.freeze()


def start_in_background(model: str | None = None) -> threading.Thread:
    """`prepare` in a daemon thread; a failure is logged (the page then loads, and says why, as it would)."""
    def run() -> None:
        try:
            seconds = prepare(model)
            _prepared["seconds"] = round(seconds, 1)
            log.info("Prepared the default classifier in %.1f s.", seconds)
        except Exception as exc:  # the server must start whatever happens here; the page reports the same failure
            _prepared["problem"] = f"{type(exc).__name__} (the server's log has its traceback)"
            log.exception("Preparing the default classifier failed")

    thread = threading.Thread(target=run, name="prepare", daemon=True)
    thread.start()
    return thread
