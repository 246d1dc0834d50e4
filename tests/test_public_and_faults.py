"""Public mode, a busy server, and faults: a full disk, a model that fails to load."""

import sqlite3

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from conftest import ROOT
from ic import compute
from ic.errors import ICError
from ic.history import HistoryStore, open_store
from ic.settings import history_settings, public_settings


def page(**query) -> AppTest:
    app = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=120)
    for key, value in query.items():
        app.query_params[key] = value
    return app.run()


def test_public_mode_offers_only_allow_listed_models_and_no_free_timm_names(monkeypatch):
    monkeypatch.setenv("IC_PUBLIC", "1")
    app = page()
    assert not app.exception
    options = app.sidebar.selectbox(key="model").options
    assert len(options) == 3 and all("(bundled)" in option for option in options)
    assert not [t for t in app.sidebar.text_input if t.key == "other_model"]
    app.sidebar.selectbox(key="inpainter").set_value("lama").run()
    assert not [b for b in app.sidebar.button if b.label.startswith("Download LaMa")]


def test_public_mode_bounds_history_unless_told_otherwise(monkeypatch):
    monkeypatch.setenv("IC_PUBLIC", "1")
    assert (history_settings().max_per_visitor, history_settings().max_age_days) == (100, 7)
    monkeypatch.setenv("IC_HISTORY_MAX_PER_VISITOR", "20")
    assert history_settings().max_per_visitor == 20
    monkeypatch.setenv("IC_PUBLIC_MODELS", "tf_efficientnet_lite1")
    assert public_settings().models == ("tf_efficientnet_lite1",)


def test_settings_file_and_bad_values(tmp_path, monkeypatch):
    config = tmp_path / "settings.toml"
    config.write_text('[history]\nmode = "team"\n[public]\nenabled = true\nmax_queue = 2\n')
    monkeypatch.setenv("IC_CONFIG", str(config))
    assert history_settings().shared and public_settings().enabled and public_settings().max_queue == 2
    monkeypatch.setenv("IC_HISTORY_MODE", "everyone")
    with pytest.raises(ICError, match="visitor or team"):
        history_settings()


def paint(app: AppTest, mask: np.ndarray) -> AppTest:
    """What the canvas component sends when a stroke ends: its objects and its layer as a PNG data URL."""
    import base64
    import io

    from PIL import Image

    layer = np.zeros((*mask.shape, 4), np.uint8)
    layer[mask] = (255, 0, 80, 140)
    buffer = io.BytesIO()
    Image.fromarray(layer).save(buffer, format="PNG")
    key = f"canvas-{app.session_state['source_key']}-{app.session_state['canvas_nonce']}"
    app.session_state[key] = {"drawing": {"raw": {"objects": [{"type": "path"}]},
                                          "data": "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()},
                              "backgroundFit": None}
    return app.run()


def test_a_painted_stroke_is_removed_and_kept(tripod_mask):
    app = paint(page(visitor="1" * 32), tripod_mask)
    assert not app.exception and not app.error
    assert app.session_state["edit"].removals == 1
    assert app.table[0].value.iloc[0]["edited %"] < 50  # the tripod is gone
    assert open_store().count("1" * 32) == 1


def test_a_busy_public_server_turns_a_removal_away_with_a_sentence(monkeypatch, tripod_mask):
    monkeypatch.setenv("IC_PUBLIC", "1")
    monkeypatch.setenv("IC_PUBLIC_MAX_QUEUE", "1")
    monkeypatch.setattr(compute, "queued", lambda: 3)
    app = paint(page(), tripod_mask)
    assert not app.exception
    assert any("busy with other visitors" in w.value for w in app.warning)
    assert app.session_state["edit"].removals == 0


def test_a_full_disk_keeps_the_page_working_and_the_saved_history_intact(monkeypatch, tripod_mask, camera, lite0):
    from ic.experiment import EditSession
    from ic.inpaint import get_inpainter

    store = open_store()
    store.add(EditSession(camera, "camera.png").apply(tripod_mask, get_inpainter("blur"), lite0), owner="2" * 32)
    before = [row.row() for row in store.list("2" * 32)]

    def disk_full(db, values):
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(HistoryStore, "_insert_row", staticmethod(disk_full))
    app = paint(page(visitor="2" * 32), tripod_mask)
    assert not app.exception
    assert any("History could not be saved" in w.value and "disk is full" in w.value for w in app.warning)
    assert app.session_state["edit"].removals == 1  # the removal itself worked
    assert [row.row() for row in store.list("2" * 32)] == before
    with sqlite3.connect(store.path) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
