"""Decoding, refusing and normalising images and masks, on real photos and files the tests build."""


import numpy as np
import pytest
from builders import encode, png_declaring
from PIL import Image

from ic.errors import ICError, NothingToRemove
from ic.images import (
    check_mask,
    decode_image,
    decode_mask,
    export_full_resolution,
    fit_mask,
    mask_from_layer,
    working_copy,
)

from conftest import SAMPLES, sample


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP", "BMP", "TIFF", "GIF"])
def test_every_accepted_format_decodes_to_rgb_uint8(fmt):
    photo = Image.fromarray(sample("coffee.png"))
    decoded = decode_image(encode(photo, fmt))
    assert decoded.dtype == np.uint8 and decoded.shape == (400, 600, 3)
    # Lossy formats stay close to the photo; lossless ones are exact.
    tolerance = {"JPEG": 12, "WEBP": 12, "GIF": 40}.get(fmt, 0)
    assert np.abs(decoded.astype(int) - sample("coffee.png")).mean() <= tolerance


def test_a_path_and_bytes_decode_alike():
    path = SAMPLES / "grace_hopper.jpg"
    assert np.array_equal(decode_image(path), decode_image(path.read_bytes()))


def test_exif_orientation_is_honoured():
    photo = Image.new("RGB", (40, 20), "red")
    photo.paste((0, 0, 255), (0, 0, 20, 20))  # left half blue
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise for display
    decoded = decode_image(encode(photo, "JPEG", exif=exif.tobytes(), quality=95))
    assert decoded.shape == (40, 20, 3)  # portrait now
    top, bottom = decoded[:15].mean(axis=(0, 1)), decoded[25:].mean(axis=(0, 1))
    assert top[2] > 200 and bottom[0] > 200  # the blue half is on top after the rotation


def test_transparency_is_composited_on_white():
    rgba = Image.new("RGBA", (10, 10), (255, 0, 0, 0))
    rgba.paste((0, 0, 255, 255), (0, 0, 5, 10))
    decoded = decode_image(encode(rgba, "PNG"))
    assert decoded[0, 0].tolist() == [0, 0, 255]
    assert decoded[0, 9].tolist() == [255, 255, 255]


def test_palette_png_with_transparency_is_white_where_transparent():
    palette = Image.new("P", (8, 8), 1)
    palette.putpalette([0, 0, 0, 0, 200, 0] + [0] * 762)
    palette.paste(0, (0, 0, 4, 8))
    decoded = decode_image(encode(palette, "PNG", transparency=0))
    assert decoded[0, 0].tolist() == [255, 255, 255]
    assert decoded[0, 7].tolist() == [0, 200, 0]


@pytest.mark.parametrize("mode", ["L", "LA", "1"])
def test_grey_modes_become_three_equal_channels(mode):
    grey = Image.fromarray(np.tile(np.arange(0, 256, 16, dtype=np.uint8), (4, 1))).convert(mode)
    decoded = decode_image(encode(grey, "PNG"))
    assert decoded.shape == (4, 16, 3)
    assert np.array_equal(decoded[..., 0], decoded[..., 2])


def test_16_bit_png_is_scaled_to_8_bit():
    ramp = np.tile(np.linspace(0, 65535, 32).astype(np.uint16), (4, 1))
    decoded = decode_image(encode(Image.fromarray(ramp), "PNG"))
    assert decoded.dtype == np.uint8
    assert decoded[0, 0, 0] == 0 and decoded[0, -1, 0] == 255
    assert np.all(np.diff(decoded[0, :, 0].astype(int)) >= 0)


def test_cmyk_jpeg_becomes_rgb():
    decoded = decode_image(encode(Image.new("CMYK", (16, 16), (0, 255, 255, 0)), "JPEG", quality=95))
    red, green, blue = decoded[8, 8].astype(int)
    assert red > 200 and green < 60 and blue < 60


def test_animated_gif_gives_its_first_frame():
    frames = [Image.new("RGB", (8, 8), colour) for colour in ("red", "blue")]
    data = encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100)
    decoded = decode_image(data)
    assert decoded[4, 4, 0] > 200 and decoded[4, 4, 2] < 50


def test_one_pixel_image_decodes():
    assert decode_image(encode(Image.new("RGB", (1, 1), "white"), "PNG")).shape == (1, 1, 3)


@pytest.mark.parametrize(
    "data, expected",
    [
        (b"", "empty"),
        (b"hello, I am text pretending to be a PNG", "not a picture"),
        (b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"></svg>', "SVG"),
        (b"<svg width='10' height='10'></svg>", "SVG"),
        (b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 64, "HEIC"),
        (png_declaring(40000, 40000), "megapixels"),
        (png_declaring(9000, 8000), "megapixels"),
    ],
    ids=["empty", "text", "svg-xml", "svg", "heic", "bomb-40000", "over-64mp"],
)
def test_unreadable_input_is_refused_with_what_to_do(data, expected):
    with pytest.raises(ICError) as caught:
        decode_image(data)
    message = str(caught.value)
    assert expected in message
    assert any(hint in message for hint in ("JPEG", "PNG", "scale it down", "choose"))


def test_truncated_jpeg_is_refused():
    whole = (SAMPLES / "grace_hopper.jpg").read_bytes()
    with pytest.raises(ICError, match="truncated or damaged"):
        decode_image(whole[: len(whole) // 2])


def test_missing_path_is_refused():
    with pytest.raises(ICError, match="does not exist"):
        decode_image(SAMPLES / "no-such-photo.png")


def test_working_copy_limits_the_long_side():
    big = np.zeros((1500, 3000, 3), np.uint8)
    assert working_copy(big).shape == (512, 1024, 3)
    assert working_copy(big, 600).shape == (300, 600, 3)
    small = sample("camera.png")
    assert np.array_equal(working_copy(small), small)


def test_full_resolution_export_keeps_every_pixel_outside_the_mask():
    rng = np.random.default_rng(0)
    original = rng.integers(0, 256, (1200, 2400, 3), dtype=np.uint8)
    work = working_copy(original)
    mask = np.zeros(work.shape[:2], bool)
    mask[100:200, 300:500] = True
    edited = work.copy()
    edited[mask] = (10, 250, 10)
    exported = export_full_resolution(original, edited, mask)
    assert exported.shape == original.shape
    changed = np.any(exported != original, axis=2)
    rows, cols = np.flatnonzero(changed.any(axis=1)), np.flatnonzero(changed.any(axis=0))
    # Only the scaled-up mask's box (rows 234-469, columns 703-1172 at full size) may change.
    assert rows.min() >= 233 and rows.max() <= 469 and cols.min() >= 702 and cols.max() <= 1172
    assert np.abs(exported[300:400, 800:1000].astype(int) - (10, 250, 10)).max() < 8


def test_drawn_layer_alpha_marks_the_mask_at_any_display_size():
    layer = np.zeros((256, 256, 4), np.uint8)
    layer[64:128, 0:64, 3] = 10  # faint paint still counts
    mask = mask_from_layer(layer, (512, 512))
    assert mask.shape == (512, 512)
    assert mask[128:256, 0:128].all() and mask.sum() == 128 * 128


def test_mask_file_with_alpha_uses_alpha_and_without_uses_grey():
    alpha = Image.new("RGBA", (20, 10), (0, 0, 0, 0))
    alpha.paste((0, 0, 0, 200), (0, 0, 10, 10))  # black but opaque: remove
    assert decode_mask(encode(alpha, "PNG"), (10, 20))[:, :10].all()
    assert not decode_mask(encode(alpha, "PNG"), (10, 20))[:, 10:].any()
    grey = Image.new("L", (20, 10), 100)
    grey.paste(200, (10, 0, 20, 10))
    mask = decode_mask(encode(grey, "PNG"), (10, 20))
    assert mask[:, 10:].all() and not mask[:, :10].any()


def test_mask_of_another_size_but_same_aspect_is_resized_nearest():
    mask = np.zeros((100, 200), bool)
    mask[:50, :100] = True
    fitted = fit_mask(mask, (201, 401))  # within 1%
    assert fitted.shape == (201, 401)
    assert set(np.unique(fitted)) == {False, True}
    assert abs(fitted.mean() - 0.25) < 0.01


def test_mask_of_another_aspect_ratio_is_refused():
    with pytest.raises(ICError, match="different shape"):
        fit_mask(np.ones((100, 100), bool), (100, 200))


def test_empty_mask_says_nothing_to_remove():
    with pytest.raises(NothingToRemove, match="nothing to remove"):
        check_mask(np.zeros((10, 10), bool))


def test_mask_covering_nearly_everything_is_refused():
    mask = np.ones((10, 10), bool)
    mask[0, :5] = False
    with pytest.raises(ICError, match="leave at least 10%"):
        check_mask(mask)
    mask[:2] = False
    assert check_mask(mask).sum() == 80
