"""Hostile and odd inputs, generated here (nothing large is committed), through the engine, the CLI and the page."""

import subprocess
import sys

import numpy as np
import pytest
from builders import encode, png_declaring, png_with_big_metadata, small_jpeg, zip_of
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image
from streamlit.testing.v1 import AppTest

from ic.errors import ICError, NothingToRemove
from ic.history import open_store
from ic.images import check_mask, decode_image, decode_mask, fit_mask, mask_from_layer, working_copy

from conftest import ROOT, SAMPLES, cli_env, open_page


def exif_rotated() -> bytes:
    exif = Image.Exif()
    exif[0x0112] = 8
    return encode(Image.new("RGB", (30, 10), "blue"), "JPEG", exif=exif.tobytes())


def palette_with_transparency() -> bytes:
    image = Image.new("P", (8, 8), 1)
    image.putpalette([0, 0, 0, 10, 200, 10] + [0] * 762)
    return encode(image, "PNG", transparency=0)


GOOD = {  # name: (bytes, expected height x width)
    "one-pixel.png": (lambda: encode(Image.new("RGB", (1, 1)), "PNG"), (1, 1)),
    "sixteen-bit.png": (lambda: encode(Image.fromarray(np.full((6, 9), 40000, np.uint16)), "PNG"), (6, 9)),
    "cmyk.jpg": (lambda: encode(Image.new("CMYK", (12, 7), (0, 0, 0, 0)), "JPEG"), (7, 12)),
    "animated.gif": (lambda: encode(Image.new("RGB", (5, 4), "red"), "GIF", save_all=True,
                                    append_images=[Image.new("RGB", (5, 4), "blue")]), (4, 5)),
    "palette.png": (palette_with_transparency, (8, 8)),
    "rotated.jpg": (exif_rotated, (30, 10)),
}
BAD = {  # name: (bytes, words of our sentence)
    "empty.png": (lambda: b"", "empty"),
    "text.png": (lambda: b"just some notes, not a picture", "not a picture"),
    "truncated.jpg": (lambda: (SAMPLES / "grace_hopper.jpg").read_bytes()[:5000], "truncated or damaged"),
    "bomb.png": (lambda: png_declaring(40000, 40000), "megapixels"),
    "drawing.svg": (lambda: b'<svg xmlns="http://www.w3.org/2000/svg" width="9" height="9"/>', "SVG"),
    "photo.heic": (lambda: b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 100, "HEIC"),
    "metadata.png": (png_with_big_metadata, "metadata too large"),
    "cut-header.jpg": (lambda: small_jpeg()[:len(small_jpeg()) // 2], "truncated or damaged"),
}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    folder = tmp_path_factory.mktemp("hostile")
    for name, (make, _) in {**GOOD, **BAD}.items():
        (folder / name).write_bytes(make())
    return folder


@pytest.mark.parametrize("name", GOOD)
def test_odd_but_valid_images_decode(corpus, name):
    image = decode_image(corpus / name)
    assert image.dtype == np.uint8 and image.shape == (*GOOD[name][1], 3)


@pytest.mark.parametrize("name", BAD)
def test_hostile_files_are_refused_by_the_engine(corpus, name):
    with pytest.raises(ICError, match=BAD[name][1]):
        decode_image(corpus / name)


@pytest.mark.parametrize("name", BAD)
def test_hostile_files_exit_2_from_the_cli_without_a_traceback(corpus, name):
    done = subprocess.run([sys.executable, "-m", "ic", "classify", str(corpus / name), "--json"], cwd=ROOT,
                          env=cli_env(), capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and done.stdout == ""
    assert BAD[name][1] in done.stderr and "Traceback" not in done.stderr


@pytest.mark.parametrize("mask, words", [
    (lambda: encode(Image.new("L", (100, 50), 255), "PNG"), "different shape"),
    (lambda: encode(Image.new("L", (512, 512), 255), "PNG"), "leave at least 10%"),
    (lambda: encode(Image.new("L", (512, 512), 0), "PNG"), "nothing to remove"),
], ids=["wrong-aspect", "all-white", "all-black"])
def test_bad_masks_exit_2_from_the_cli(tmp_path, mask, words):
    (tmp_path / "mask.png").write_bytes(mask())
    done = subprocess.run([sys.executable, "-m", "ic", "edit", "assets/samples/camera.png", "--mask",
                           str(tmp_path / "mask.png"), "--inpainter", "telea"], cwd=ROOT, env=cli_env(),
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and words in done.stderr and "Traceback" not in done.stderr


def test_a_jpeg_cut_at_any_byte_is_read_or_refused_with_a_sentence_never_an_internal_error():
    data = small_jpeg()
    for cut in range(1, len(data) - 2):  # the last bytes are the end marker, which decoders forgive
        try:
            decode_image(data[:cut])
        except ICError:
            continue


def test_the_drawing_layer_is_decoded_under_the_same_limits():
    from ic.images import decode_layer

    with pytest.raises(ICError, match="megapixels"):
        decode_layer(png_declaring(40000, 40000))
    layer = decode_layer(encode(Image.new("RGBA", (4, 3), (255, 0, 80, 140)), "PNG"))
    assert layer.shape == (3, 4, 4) and (layer[:, :, 3] == 140).all()


def _shape_on_black(size, box, mode="L") -> Image.Image:
    image = Image.new("L", size, 0)
    image.paste(255, box)
    return image.convert(mode) if mode != "L" else image


def _edit_with_mask(tmp_path, mask_bytes: bytes, image: str = "assets/samples/camera.png"):
    (tmp_path / "mask.png").write_bytes(mask_bytes)
    return subprocess.run([sys.executable, "-m", "ic", "edit", image, "--mask", str(tmp_path / "mask.png"),
                           "--inpainter", "telea", "--json"], cwd=ROOT, env=cli_env(), capture_output=True, text=True,
                          timeout=120)


@pytest.mark.parametrize("mode", ["RGBA", "LA"])
def test_an_opaque_mask_with_alpha_is_read_as_grey(tmp_path, mode):
    import json

    done = _edit_with_mask(tmp_path, encode(_shape_on_black((512, 512), (100, 100, 228, 228), mode), "PNG"))
    assert done.returncode == 0, done.stderr
    assert abs(json.loads(done.stdout)["removed_fraction"] - 128 * 128 / 512 / 512) < 0.005


def test_a_mask_is_turned_as_its_exif_says(tmp_path):
    """coffee.png is 600x400; a phone's 400x600 mask file with orientation 6 lies on it turned."""
    exif = Image.Exif()
    exif[0x0112] = 6  # stored turned: shown after a 90° turn clockwise
    stored = _shape_on_black((400, 600), (0, 0, 400, 100))  # a band along the stored top edge
    done = _edit_with_mask(tmp_path, encode(stored.convert("RGB"), "JPEG", exif=exif.tobytes(), quality=100),
                           "assets/samples/coffee.png")
    assert done.returncode == 0, done.stderr
    mask = decode_mask(tmp_path / "mask.png", (400, 600))
    assert mask[:, 500:].mean() > 0.95 and not mask[:, :480].any()  # the stored top edge is now the right edge


def test_a_sixteen_bit_mask_is_scaled_not_clipped(tmp_path):
    grey = np.full((512, 512), 16384, np.uint16)  # 25% grey: not "remove"
    grey[100:200, 100:200] = 65535
    mask = decode_mask(encode(Image.fromarray(grey), "PNG"), (512, 512))
    assert mask.sum() == 100 * 100


@pytest.mark.parametrize("sidecar, words", [
    ({"architecture": "resnet10t", "num_classes": "five"}, "num_classes is 'five'"),
    ({"architecture": "hf-hub:timm/resnet10t.c3_in1k"}, "names a hub model"),
    ({"architecture": "resnet10t", "num_classes": 4, "labels": ["a", "b"]}, "2 labels are given"),
], ids=["words-for-a-number", "hub-architecture", "labels-disagree"])
def test_a_bad_sidecar_says_what_is_wrong_in_it(tmp_path, sidecar, words):
    import json

    models = tmp_path / "models"
    models.mkdir()
    (models / "mine.safetensors").write_bytes(b"not read: the sidecar is checked first")
    (models / "mine.json").write_text(json.dumps(sidecar))
    done = subprocess.run([sys.executable, "-m", "ic", "classify", "assets/samples/coffee.png", "--model",
                           "local:mine.safetensors"], cwd=ROOT, env=cli_env(IC_MODELS_DIR=str(models)),
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stderr
    assert words in done.stderr and "mine.json" in done.stderr and "Traceback" not in done.stderr


def test_a_panorama_too_thin_to_paint_is_refused_on_the_page(seeded_history):
    before = [row.row() for row in seeded_history.experiments.list("f" * 32)]
    app = _page()
    app.sidebar.radio(key="source_kind").set_value("Upload").run()
    app.sidebar.file_uploader[0].upload("pano.png", encode(Image.new("RGB", (20000, 40), "teal"), "PNG"),
                                        "image/png").run()
    assert not app.exception
    assert any("too thin to paint" in e.value for e in app.error)
    assert [row.row() for row in seeded_history.experiments.list("f" * 32)] == before


@pytest.fixture
def seeded_history(camera, tripod_mask, lite0):
    from ic.experiment import EditSession
    from ic.inpaint import get_inpainter

    store = open_store()
    session = EditSession(camera, "camera.png")
    store.experiments.add(session.apply(tripod_mask, get_inpainter("telea"), lite0), owner="f" * 32)
    return store


def _page() -> AppTest:
    return open_page(timeout=120, visitor="f" * 32)


@pytest.mark.parametrize("name", [*BAD, *GOOD])
def test_every_upload_is_handled_or_refused_on_the_page_and_history_is_untouched(corpus, name, seeded_history):
    before = [row.row() for row in seeded_history.experiments.list("f" * 32)]
    app = _page()
    app.sidebar.radio(key="source_kind").set_value("Upload").run()
    app.sidebar.file_uploader[0].upload(name, (corpus / name).read_bytes(), "application/octet-stream").run()
    assert not app.exception
    if name in BAD:
        assert any(BAD[name][1] in e.value for e in app.error)
    else:
        assert not app.error and app.table
    assert [row.row() for row in seeded_history.experiments.list("f" * 32)] == before



@pytest.mark.parametrize("archive, words", [
    (lambda: zip_of({"x/experiment.json": b"{}", "x/original.png": b"\0" * (60 * 1024 * 1024),
                   "x/edited.png": b"", "x/mask.png": b""}), "ZIP bomb"),
    (lambda: zip_of({"../../etc/experiment.json": b"{}"}), "outside its folders"),
    (lambda: zip_of({"x/experiment.json": b"{oops", "x/original.png": b"", "x/edited.png": b"",
                   "x/mask.png": b""}), "not valid JSON"),
], ids=["zip-bomb", "dotdot", "bad-json"])
def test_hostile_history_imports_are_refused_on_the_page(seeded_history, archive, words):
    before = [row.row() for row in seeded_history.experiments.list("f" * 32)]
    app = _page()
    app.switch_page("app_pages/history.py").run()
    app.file_uploader(key="import-zip").upload("x.zip", archive(), "application/zip").run()
    next(b for b in app.button if b.label == "Import").click().run()
    assert not app.exception
    assert any(words in e.value for e in app.error)
    assert [row.row() for row in seeded_history.experiments.list("f" * 32)] == before


# --- properties ------------------------------------------------------------------------------------

MODES = ["RGB", "RGBA", "L", "LA", "P", "CMYK", "I;16", "1"]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(width=st.integers(1, 64), height=st.integers(1, 64), mode=st.sampled_from(MODES),
       fmt=st.sampled_from(["PNG", "TIFF", "WEBP", "BMP", "GIF", "JPEG"]), seed=st.integers(0, 2**16))
def test_any_small_image_decodes_to_rgb_of_its_size(width, height, mode, fmt, seed):
    rng = np.random.default_rng(seed)
    pixels = Image.fromarray(rng.integers(0, 256, (height, width, 3), dtype=np.uint8)).convert(mode)
    try:
        data = encode(pixels, fmt)
    except (OSError, ValueError, KeyError):
        return  # Pillow cannot write this mode in this format: nothing for us to read
    image = decode_image(data)
    assert image.dtype == np.uint8 and image.shape == (height, width, 3)


@settings(max_examples=60, deadline=None)
@given(height=st.integers(1, 300), width=st.integers(1, 300), side=st.integers(8, 1024))
def test_working_copy_respects_the_limit_and_the_aspect(height, width, side):
    copy = working_copy(np.zeros((height, width, 3), np.uint8), side)
    if max(height, width) > side:
        assert max(copy.shape[:2]) == side and min(copy.shape[:2]) >= 1
    else:
        assert copy.shape[:2] == (height, width)


@settings(max_examples=80, deadline=None)
@given(height=st.integers(2, 200), width=st.integers(2, 200), scale=st.sampled_from([0.5, 1.0, 2.0, 3.0]),
       seed=st.integers(0, 2**16))
def test_masks_scale_with_the_same_aspect_and_keep_their_share(height, width, scale, seed):
    rng = np.random.default_rng(seed)
    mask = rng.random((height, width)) < 0.3
    target = (max(1, round(height * scale)), max(1, round(width * scale)))
    image_ratio = target[1] / target[0]  # the tolerance is relative to the image's aspect, as fit_mask says
    ratio_error = abs(width / height - image_ratio) / image_ratio
    if ratio_error > 0.01:
        with pytest.raises(ICError):
            fit_mask(mask, target)
        return
    fitted = fit_mask(mask, target)
    assert fitted.shape == target and fitted.dtype == bool
    if scale >= 1:
        assert abs(fitted.mean() - mask.mean()) < 0.05


@settings(max_examples=60, deadline=None)
@given(height=st.integers(1, 80), width=st.integers(1, 80), share=st.floats(0, 1), seed=st.integers(0, 2**16))
def test_check_mask_accepts_exactly_the_masks_between_empty_and_ninety_percent(height, width, share, seed):
    mask = np.random.default_rng(seed).random((height, width)) < share
    layer = np.zeros((height, width, 4), np.uint8)
    layer[..., 3] = mask * 255
    assert np.array_equal(mask_from_layer(layer, (height, width)), mask)
    if not mask.any():
        with pytest.raises(NothingToRemove):
            check_mask(mask)
    elif mask.mean() > 0.9:
        with pytest.raises(ICError, match="context"):
            check_mask(mask)
    else:
        assert np.array_equal(check_mask(mask), mask)


@settings(max_examples=40, deadline=None)
@given(data=st.binary(max_size=2048))
def test_random_bytes_never_crash_the_decoder(data):
    try:
        decode_image(data)
        decode_mask(data, (10, 10))
    except ICError:
        pass
