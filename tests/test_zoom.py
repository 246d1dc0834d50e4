"""Zoom: paint on an enlarged part of the photo; the removal lands where it was painted, at working resolution."""

import numpy as np
from streamlit.testing.v1 import AppTest

from conftest import ROOT
from test_public_and_faults import paint


def test_a_stroke_painted_zoomed_in_is_removed_where_it_was_painted():
    app = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=120)
    app.query_params["visitor"] = "e" * 32
    app.run()
    app.sidebar.button(key="sample-camera.png").click().run()
    app.segmented_control(key="zoom").set_value(2).run()
    app.slider(key="pan-x").set_value(25).run()  # the left half's centre: the part shown is x 0..256, y 128..384
    desk = app.session_state["desk"]
    assert desk.view_box() == (128, 0, 384, 256)
    stroke = np.zeros((256, 256), bool)  # the canvas holds the part shown, at its own size
    stroke[100:140, 200:240] = True
    paint(app, stroke)
    assert not app.exception and app.session_state["desk"].edit.removals == 1
    removed = app.session_state["desk"].edit.mask
    expected = np.zeros((512, 512), bool)
    expected[228:268, 200:240] = True
    assert (removed & expected).sum() / (removed | expected).sum() > 0.9
    app.sidebar.button(key="sample-coffee.png").click().run()  # another photo is shown whole again
    assert app.session_state["desk"].view_box() == (0, 0, 400, 600)
