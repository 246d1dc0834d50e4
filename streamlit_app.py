"""The server: `streamlit run streamlit_app.py` serves the app through Streamlit's `st.App`, whose lifespan
prepares the default classifier and its fast path in the background as soon as the server starts (ic.prepare),
so that no visitor waits for it. The pages themselves start at explore.py (Explore), with the others in pages/.
"""

from contextlib import asynccontextmanager

import streamlit as st


@asynccontextmanager
async def lifespan(_app):
    from ic.prepare import start_in_background

    start_in_background()
    yield


app = st.App("explore.py", lifespan=lifespan)
