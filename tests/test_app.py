"""The Explore page, headless through Streamlit's AppTest, offline on the bundled defaults."""

import io

import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from ic.samples import list_samples

from conftest import ROOT, open_page, rendered

KNOWN_TOP1 = {"camera.png": "tripod", "coffee.png": "espresso"}


def start() -> AppTest:
    return open_page(timeout=120)


def table(app):
    return app.table[0].value


def test_page_loads_offline_with_defaults():
    app = start()
    assert not app.exception and not app.error
    assert app.sidebar.selectbox(key="model").value == "tf_efficientnet_lite0"
    assert app.sidebar.selectbox(key="inpainter").value == "patchmatch"  # no LaMa weights here
    rows = table(app)
    assert rows.iloc[0]["class"] == "tripod" and rows.iloc[0]["original %"] > 90
    assert len(rows) == 5 and (rows["change (pt)"] == 0).all()


@pytest.mark.parametrize("sample", [s.name for s in list_samples()])
def test_each_sample_classifies(sample):
    app = start()
    app.sidebar.button(key=f"sample-{sample}").click().run()
    assert not app.exception and not app.error
    rows = table(app)
    assert len(rows) == 5 and rows["original %"].is_monotonic_decreasing
    if sample in KNOWN_TOP1:
        assert rows.iloc[0]["class"] == KNOWN_TOP1[sample]


def test_top_k_and_pinned_classes_shape_the_table():
    app = start()
    app.sidebar.slider(key="top_k").set_value(3).run()
    assert len(table(app)) == 3
    app.multiselect(key="pinned").set_value([967]).run()  # espresso, far outside the camera's top-3
    rows = table(app)
    assert len(rows) == 4 and rows.iloc[3]["class id"] == 967 and "espresso" in rows.iloc[3]["class"]


def _upload(app, name: str, data: bytes, mime: str = "image/png") -> AppTest:
    app.sidebar.radio(key="source_kind").set_value("Upload").run()
    app.sidebar.file_uploader[0].upload(name, data, mime).run()
    return app


def test_uploaded_non_image_shows_our_message():
    app = _upload(start(), "notes.png", b"these are my notes, not a photo")
    assert not app.exception
    assert any("not a picture we can read" in e.value for e in app.error)


def test_uploaded_photo_is_classified():
    photo = Image.open(ROOT / "assets" / "samples" / "coffee.png").convert("RGB")
    buffer = io.BytesIO()
    photo.save(buffer, format="JPEG", quality=92)
    app = _upload(start(), "my coffee.jpg", buffer.getvalue(), "image/jpeg")
    assert not app.exception and not app.error
    assert table(app).iloc[0]["class"] == "espresso"


def test_unreachable_hub_model_says_why_and_keeps_the_previous_model():
    app = start()
    app.sidebar.selectbox(key="model").set_value("resnet50.a1_in1k").run()
    assert not app.exception
    # one sentence in the page's names (it was the engine's, with every bundled model's id)
    said = [rendered(e.value) for e in app.sidebar.error]
    assert said == ["ResNet-50 needs a download, which this server cannot make now (the Hugging Face hub cannot be "
                    "reached). Still using EfficientNet-Lite0."], said
    assert table(app).iloc[0]["class"] == "tripod"
    assert app.sidebar.selectbox(key="model").value == "tf_efficientnet_lite0"  # the box shows who answers
    app.sidebar.slider(key="top_k").set_value(6).run()
    assert any("Still using" in e.value for e in app.sidebar.error)  # the reason stays until another model is chosen


def _slow_path_notices(app) -> list[str]:
    return [w.value for w in app.sidebar.warning if "slower path" in w.value]


def test_a_missing_fast_path_is_said_in_the_sidebar(tmp_path, monkeypatch):
    from ic.classifiers import forget_loaded

    assert not _slow_path_notices(start())  # the normal case: nothing to say
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the export cache should be")
    monkeypatch.setenv("IC_CACHE_DIR", str(blocker))
    forget_loaded()  # the classifiers loaded with a working cache are shared by every visitor
    try:
        app = start()
        assert not app.exception and not app.error
        notices = _slow_path_notices(app)
        assert len(notices) == 1 and "tf_efficientnet_lite0" in notices[0] and "eager PyTorch" in notices[0]
        assert table(app).iloc[0]["class"] == "tripod"  # the slower path still answers
        app.sidebar.slider(key="top_k").set_value(3).run()
        assert len(_slow_path_notices(app)) == 1  # it stays while that classifier is in use
    finally:
        forget_loaded()


def test_center_crop_mode_outlines_and_still_classifies():
    app = start()
    app.sidebar.radio(key="preprocess").set_value("center").run()
    assert not app.exception and not app.error
    assert table(app).iloc[0]["class"] == "tripod"


def _lama_button(app):
    return next(b for b in app.sidebar.button if b.label.startswith("Download LaMa"))


def test_lama_without_weights_says_so_and_the_download_failure_is_a_sentence():
    app = start()
    app.sidebar.selectbox(key="inpainter").set_value("lama").run()
    assert any("PatchMatch is used" in i.value for i in app.sidebar.info)
    _lama_button(app).click().run()
    assert not app.exception
    assert any("could not be downloaded" in e.value for e in app.sidebar.error)


def test_lama_download_from_the_page_makes_it_ready(server):
    from pathlib import Path

    import torch

    app = start()
    app.sidebar.selectbox(key="inpainter").set_value("lama").run()
    _lama_button(app).click().run()
    assert not app.exception and not app.sidebar.error
    assert (Path(torch.hub.get_dir()) / "checkpoints" / "big-lama.pt").is_file()
    assert not any("PatchMatch is used" in i.value for i in app.sidebar.info)
    assert not [b for b in app.sidebar.button if b.label.startswith("Download LaMa")]
