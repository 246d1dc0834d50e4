"""The floor for the page benchmarks: a trivial Streamlit page with the same canvas over camera.png and a small
table, which only says how many strokes it got. Whatever the Explore page takes beyond this is ours to shorten.

    streamlit run scripts/floor_page.py   (scripts/bench_page.py --floor and scripts/bench_first_visit.py start it)
"""

import sys
from pathlib import Path

import streamlit as st

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ic.images import decode_image, encode_png  # noqa: E402
from ui import idle  # noqa: E402

st.set_page_config(page_title="Canvas floor", layout="wide")


@st.cache_data
def background() -> bytes:
    return encode_png(decode_image(Path(__file__).resolve().parent.parent / "assets" / "samples" / "camera.png"))


def main() -> None:
    from streamlit_drawable_canvas import st_canvas

    idle.begin()  # the page's word on being idle, as the app's (the benchmarks wait on it)
    left, right = st.columns(2)
    with left:
        result = st_canvas(fill_color="rgba(255, 0, 80, 0.35)", stroke_width=28, stroke_color="rgba(255, 0, 80, 0.55)",
                           background_image=background(), update_streamlit=True, width=512, height=512,
                           drawing_mode="freedraw", return_image_data=True, key="floor")
    objects = (result.json_data or {}).get("objects") or []
    right.markdown(f"Strokes: {len(objects)}")
    st.table({"class": ["tripod", "other"], "original %": [98.0, 2.0]})  # bench_first_visit waits for a row
    idle.finish()


main()
