"""Heavy objects shared by every visitor (st.cache_resource) and pure results (st.cache_data)."""

import numpy as np
import streamlit as st

from ic.classifiers import Classifier, load_classifier
from ic.images import decode_image, square_thumbnail
from ic.samples import list_samples


@st.cache_resource(max_entries=4, show_spinner="Loading the classifier…")
def _classifier(name: str) -> Classifier:
    # Shared by all sessions: Classifier.predict keeps no per-call state.
    return load_classifier(name)


def classifier(name: str) -> Classifier:
    """The shared classifier; where it runs on the slower path although the fast one was wanted, the
    sidebar says so and why (a cached load would otherwise hide it after the first visitor)."""
    loaded = _classifier(name)
    if loaded.slow_path:
        st.sidebar.warning(loaded.slow_path, icon=":material/speed:")
    return loaded


@st.cache_data(max_entries=16, show_spinner=False)
def decoded(data: bytes) -> np.ndarray:
    return decode_image(data)


@st.cache_data(show_spinner=False)
def samples() -> list:
    return list_samples()


@st.cache_data(max_entries=32, show_spinner=False)
def thumbnail(path: str, side: int = 160) -> np.ndarray:
    return square_thumbnail(decode_image(path), side)
