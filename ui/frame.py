"""What every page view has, drawn once around the page: st.navigation over the pages, the page's title and
layout, the style and the focus keeper, the links between the pages (carrying the visitor id, so history follows
the visitor) with the history's notices, and one error boundary: an ICError is its sentence, anything else a
sentence and the server log's traceback, never a traceback on the page."""

import logging

import streamlit as st

from ic.errors import ICError
from ic.prepare import page_drawn
from ui import claim, idle, notices, signin, visiting
from ui.navigation import PAGES, page_frame, page_links
from ui.text import error_text

log = logging.getLogger(__name__)

TITLE = "Interactive Classification"
# What a page's first run imports besides the modules above: the pages' own modules and what Streamlit and the
# engine import lazily in a first run. The server loads them before it serves (streamlit_app.py, ic/boot.py).
PAGE_IMPORTS = ("ui.canvas", "ui.explain_view", "ui.resources", "ui.results", "ui.selection", "ui.slices",
                "streamlit.material_icon_names", "streamlit.emojis", "pandas.io.formats.style")
WENT_WRONG = ("Something went wrong on our side. Press Reset or choose another image; if it persists, tell us "
              "what you did and the time.")


def run() -> None:
    idle.begin()
    pages = {path: st.Page(path, title=title, icon=icon, default=index == 0)
             for index, (path, title, icon, _) in enumerate(PAGES)}
    page = st.navigation(list(pages.values()), position="hidden")  # our own links carry the visitor id
    tab = {path: emoji for path, _, _, emoji in PAGES}
    path = next(path for path, found in pages.items() if found is page)
    st.set_page_config(page_title=TITLE if path == PAGES[0][0] else f"{page.title} · {TITLE}", page_icon=tab[path],
                       layout="wide")
    shared = path == "app_pages/history.py" and bool(st.query_params.get("share"))
    person = signin.person()
    if person is not None and claim.signed_out_elsewhere(person):  # every run asks: a sign-out in another tab
        signin.ended(person)
        person = None
    # a share link shows its experiment alone, and the sign-in page is a page alone: no sidebar at all
    page_frame(sidebar=not shared and signin.admitted(person))
    if not signin.gate(shared):  # sign-in configured and nobody (allowed) signed in: its page, nothing else
        idle.finish()
        return
    if person is not None:
        claim.person_seen(person)
    if not shared:
        with st.sidebar:
            page_links(visiting.link_params().get("visitor"))
        notices.history_notices()
        if person is not None:
            signin.sidebar(person, claim.sign_out)
            claim.offer_claim(person)
    page_drawn()  # the server's preparation waits for a first frame before its heavy work (ic/prepare.py)
    try:
        page.run()
    except ICError as exc:  # the history database out of reach, say: its sentence
        st.error(error_text(exc))
    except Exception:  # the page never shows a traceback; the server log keeps it
        log.exception("The %s page failed", page.title)
        st.error(WENT_WRONG)
    # the page's word on being idle, that tests wait on (ui/idle.py); a shared experiment's page saves nothing
    idle.finish(None if shared else lambda: visiting.workbench().history.saving.pending(visiting.visitor()))
