"""The app: `streamlit run streamlit_app.py`.

Streamlit imports this file for its `st.App` (whose lifespan prepares the default classifier and its fast path in
the background as soon as the server starts, ic.prepare, so that no visitor waits for it), then runs it as the
script of every page view: the frame (ui/frame.py) with st.navigation, which runs the page in app_pages/.
Not pages/: with a folder of that name beside this script, Streamlit runs a page without the frame until the
process's first st.navigation call (and AppTest after every first run).
"""

from contextlib import asynccontextmanager

import streamlit as st
from starlette.responses import JSONResponse
from starlette.routing import Route

from ic import boot
from ic.prepare import start_in_background, status


@asynccontextmanager
async def lifespan(_app):

    start_in_background()
    yield


async def ready(_request):
    """/_ic/ready: 200 once the server has prepared what a visitor needs (the default classifier, its fast path,
    the default inpainter, the estimates' rates), 503 before, with {"prepared", "seconds" or "problem"}: a readiness
    probe beside Streamlit's /_stcore/health (which answers as soon as the server does), and what test servers wait on."""
    found = status()
    return JSONResponse(found, status_code=200 if found["prepared"] else 503)


if __name__ == "__main__":  # Streamlit runs this file as the script of a page view (and so does AppTest)
    from ui.frame import run

    run()
else:  # imported by `streamlit run` for the server
    # Before the server serves: no two threads import at once, and the pages' modules are loaded here, once, so
    # that no page run imports the engine while the preparation imports torch (ic/boot.py).
    boot.install()
    from ui.frame import PAGE_IMPORTS  # noqa: PLC0415 (after the gate is in place)

    boot.preload(PAGE_IMPORTS)
    app = st.App(__file__, lifespan=lifespan, routes=[Route("/_ic/ready", ready)])
