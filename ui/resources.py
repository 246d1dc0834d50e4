"""Classifiers through the workbench, and pure results shared by every visitor (st.cache_data)."""

import hashlib
import time

import numpy as np
import streamlit as st

from ic.cache import ByteCache
from ic.classifiers import Classifier
from ic.images import decode_image, encode_png, square_thumbnail
from ic.prepare import freeze_long_lived
from ic.samples import list_samples
from ui import visiting


def classifier(name: str, status=None) -> Classifier:
    """The classifier from the workbench (its one cache, its allow-list); where it runs on the slower path
    although the fast one was wanted, the sidebar says so and why. While it loads, the slot `status` (an
    st.empty) says what the load is doing, whether this page loads it or the server's preparation at start
    does, and is emptied after."""
    workbench = visiting.workbench()
    if status is None or workbench.policy.classifier_ready(name):
        loaded = workbench.policy.classifier(name)
    else:
        usual = workbench.policy.usual_load_s(name)
        took = f"It took {usual:.0f} s the last time on this server; its" if usual and usual >= 1 else "Its"
        say = lambda step: status.info(f"Preparing the classifier ({name}): {step}… {took} answer comes here once "
                                       "it is ready.", icon=":material/hourglass_top:")
        while (step := workbench.policy.classifier_loading(name)) is not None:  # the server's preparation, say
            say(step)
            time.sleep(WAIT_S)
        loaded = workbench.policy.classifier(name, on_step=say)
        status.empty()
    if loaded.slow_path:
        st.sidebar.warning(loaded.slow_path, icon=":material/speed:")
    if name not in _frozen:
        _frozen.add(name)
        freeze_long_lived()  # what this load brought in: out of every later run's garbage collection
    return loaded


_frozen: set[str] = set()
WAIT_S = 0.25  # how often a page waiting for another thread's load looks at what it is doing


# Decoded photos, shared by the server's visitors and bounded by bytes (a 64-megapixel upload is 192 MB decoded):
# the server stays within its memory budget whatever is uploaded. Read-only arrays, not copies (st.cache_data
# would pickle one per hit).
DECODED_BYTES = 256 * 2**20
_decoded = ByteCache(DECODED_BYTES)


def decoded(data: bytes) -> np.ndarray:
    return _decoded.get_or_make(hashlib.sha256(data).digest(), lambda: decode_image(data))


@st.cache_data(show_spinner=False)
def samples() -> list:
    return list_samples()


@st.cache_data(max_entries=32, show_spinner=False)
def thumbnail(path: str, side: int = 160) -> bytes:
    """A sample's thumbnail as PNG bytes: encoded once, not on every run of the page."""
    return encode_png(square_thumbnail(decode_image(path), side))
