"""Explore: classify a sample photo (the full paint-and-remove page comes with the Explore issue)."""

import streamlit as st

from ic.classifiers import DEFAULT_MODEL, get_classifier
from ic.errors import ICError
from ic.images import decode_image
from ic.samples import list_samples

st.set_page_config(page_title="Interactive Classification", layout="wide")
st.title("Interactive Classification")

samples = {sample.name: sample for sample in list_samples()}
choice = st.sidebar.selectbox("Sample photo", list(samples))
try:
    image = decode_image(samples[choice].path)
    classifier = get_classifier(DEFAULT_MODEL)
    top = classifier.top_k(classifier.predict([image])[0], 5)
except ICError as exc:
    st.error(str(exc))
    st.stop()

left, right = st.columns(2)
left.image(image, caption=f"{samples[choice].shows} ({samples[choice].license})")
right.dataframe([{"class": row["label"], "probability %": round(row["prob"] * 100, 2)} for row in top],
                hide_index=True)
