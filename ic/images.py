"""Decode, validate and normalise images and masks.

Every public function here speaks one channel order: RGB uint8 arrays of shape
HxWx3. Masks are boolean HxW arrays where True means "remove".
"""

from __future__ import annotations

import io
import threading
import warnings
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from ic.errors import ICError, NothingToRemove

ImageSource = bytes | bytearray | str | Path

MAX_PIXELS = 64_000_000
DEFAULT_WORKING_SIDE = 1024
# Working sizes a user may choose, for zooming into a large photo: 2048 gives 1:1 pixels at 2x zoom on a
# 1024-pixel-wide screen area. More would cost more than the undo budget allows (ic.experiment.UNDO_BYTES).
DETAIL_SIDES = (1024, 2048)
MAX_MASK_FRACTION = 0.90
ASPECT_TOLERANCE = 0.01

# Formats Pillow decodes that we accept; MPO is the JPEG variant many cameras write.
READABLE_FORMATS = {"JPEG", "MPO", "PNG", "WEBP", "BMP", "TIFF", "GIF"}
ACCEPTED_EXTENSIONS = ("jpg", "jpeg", "png", "webp", "bmp", "tif", "tiff", "gif")

_HEIF_BRANDS = (b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1", b"avif")


def _read_bytes(source: ImageSource, what: str) -> bytes:
    if isinstance(source, (bytes, bytearray)):
        return bytes(source)
    path = Path(source)
    if not path.is_file():
        raise ICError(f"The {what} file {str(path)!r} does not exist; check the path.")
    return path.read_bytes()


def _refuse_unsupported(data: bytes, what: str) -> None:
    if not data:
        raise ICError(f"The {what} file is empty; choose a JPEG or PNG that has content.")
    head = data[:512].lstrip()
    if head[:5] == b"<?xml" or head[:4].lower() == b"<svg" or b"<svg" in head.lower():
        raise ICError(
            f"The {what} is an SVG drawing, which we do not read; export it as PNG or JPEG and upload that."
        )
    if data[4:8] == b"ftyp" and data[8:12] in _HEIF_BRANDS:
        raise ICError(
            f"The {what} is a HEIC/HEIF photo, which we do not read; convert it to JPEG or PNG "
            "(on a phone: share as 'Most compatible') and upload that."
        )


def _open(data: bytes, what: str, max_pixels: int) -> Image.Image:
    """Open lazily and check the declared size from the header before decoding any pixels."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image = Image.open(io.BytesIO(data))
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise ICError(_too_large_message(what, max_pixels)) from None
        except UnidentifiedImageError:
            raise ICError(
                f"This {what} file is not a picture we can read; use a JPEG, PNG, WebP, BMP, TIFF or GIF file."
            ) from None
        except ValueError as exc:  # Pillow's own limits on metadata (an oversized colour profile or text chunk)
            raise ICError(f"The {what} carries metadata too large to read ({exc}); save it again without "
                          "metadata (for example 'Export as PNG' with no colour profile) and try again.") from None
        except (OSError, SyntaxError, EOFError) as exc:  # cut short inside its header
            raise ICError(f"The {what} file is truncated or damaged ({exc}); export it again and re-upload.") from None
    if image.format not in READABLE_FORMATS:
        raise ICError(
            f"The {what} is a {image.format} file, which we do not read; convert it to JPEG or PNG."
        )
    width, height = image.size
    if width * height > max_pixels:
        raise ICError(_too_large_message(what, max_pixels, width, height))
    if width < 1 or height < 1:
        raise ICError(f"The {what} has no pixels; choose another file.")
    return image


def _too_large_message(what: str, max_pixels: int, width: int | None = None, height: int | None = None) -> str:
    size = f" ({width}x{height})" if width else ""
    return (
        f"The {what}{size} has more than {max_pixels // 1_000_000} megapixels; "
        "scale it down (for example to 4000 px on the long side) and try again."
    )


def _load_pixels(image: Image.Image, what: str) -> Image.Image:
    try:
        image.seek(0)  # the first frame of an animation
        image.load()
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise ICError(
            f"The {what} file is truncated or damaged ({exc}); export it again and re-upload."
        ) from None
    return image


def _to_rgb(image: Image.Image) -> np.ndarray:
    """Any Pillow mode to RGB uint8: transparency composited on white, 16-bit scaled down."""
    if image.mode == "P":
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
    if image.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        values = np.asarray(image, dtype=np.float64)
        top = 65535.0 if values.max(initial=0) > 255 else 255.0
        grey = np.clip(values / top * 255.0 + 0.5, 0, 255).astype(np.uint8)
        return np.repeat(grey[:, :, None], 3, axis=2)
    if image.mode == "F":
        grey = np.clip(np.asarray(image, dtype=np.float64), 0, 255).astype(np.uint8)
        return np.repeat(grey[:, :, None], 3, axis=2)
    if image.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = image.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(white, rgba)
    return np.ascontiguousarray(np.asarray(image if image.mode == "RGB" else image.convert("RGB"), dtype=np.uint8))


LARGE_PIXELS = 16_000_000
_large_decodes = threading.Lock()


def decode_image(source: ImageSource, *, max_pixels: int = MAX_PIXELS, what: str = "image") -> np.ndarray:
    """Bytes or a path to RGB uint8 HxWx3, upright as its EXIF says, or ICError with what to do.

    A photo over LARGE_PIXELS is decoded one at a time in the process: a 64-megapixel one holds about 600 MB
    while it decodes (the decoded picture, turned upright, as an array), and two visitors' at once took a server
    past its 2 GB (the load test's peak, once in three runs)."""
    data = _read_bytes(source, what)
    _refuse_unsupported(data, what)
    opened = _open(data, what, max_pixels)
    if opened.width * opened.height <= LARGE_PIXELS:
        return _to_rgb(_upright(_load_pixels(opened, what)))
    with _large_decodes:
        return _to_rgb(_upright(_load_pixels(opened, what)))


def _upright(image: Image.Image) -> Image.Image:
    """Turned as its EXIF orientation says (masks too: a phone's mask is turned like its photo), in place: the
    copy Pillow otherwise makes even of an upright picture was 192 MB of a 64-megapixel decode's peak."""
    try:
        ImageOps.exif_transpose(image, in_place=True)
    except Exception:  # a damaged EXIF block must not cost the user the picture
        pass
    return image


def encode_png(image: np.ndarray, compress_level: int = 6) -> bytes:
    """RGB uint8 HxWx3 (or a bool/uint8 mask HxW) to PNG bytes; level 1 is fast, for display."""
    if image.dtype == bool:
        image = image.astype(np.uint8) * 255
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG", compress_level=compress_level)
    return buffer.getvalue()


DISPLAY_QUALITY = 95


def encode_display(image: np.ndarray, quality: int = DISPLAY_QUALITY) -> bytes:
    """RGB uint8 HxWx3 to JPEG bytes, for showing only (never saved or classified): about 10x faster to encode
    than PNG and 5x smaller to send (measured: 3 ms and 113 KB against 27 ms and 541 KB for a 690x460 photo),
    and at quality 95 it looks the same at the size it is shown."""
    ok, data = cv2.imencode(".jpg", np.ascontiguousarray(image[..., ::-1]), [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise ICError("The image could not be prepared for display.")
    return data.tobytes()


def fit_width(image: np.ndarray, width: int) -> np.ndarray:
    """The image shrunk to `width` pixels wide (aspect kept) for showing; one already as narrow is returned as is."""
    height, current = image.shape[:2]
    if width <= 0 or current <= width:
        return image
    return cv2.resize(image, (width, max(1, round(height * width / current))), interpolation=cv2.INTER_AREA)


def working_copy(image: np.ndarray, max_side: int = DEFAULT_WORKING_SIDE) -> np.ndarray:
    """The copy that is edited and classified: long side at most `max_side` pixels."""
    height, width = image.shape[:2]
    scale = max_side / max(height, width)
    if scale >= 1:
        return image.copy()
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)


def square_thumbnail(image: np.ndarray, side: int = 160) -> np.ndarray:
    """The centred square of the image, scaled to side x side: a tidy gallery grid."""
    height, width = image.shape[:2]
    edge = min(height, width)
    top, left = (height - edge) // 2, (width - edge) // 2
    return cv2.resize(image[top:top + edge, left:left + edge], (side, side), interpolation=cv2.INTER_AREA)


def resize_mask(mask: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Nearest-neighbour resize of a boolean mask to (height, width)."""
    if mask.shape == tuple(shape):
        return mask.copy()
    resized = cv2.resize(mask.astype(np.uint8), (shape[1], shape[0]), interpolation=cv2.INTER_NEAREST)
    return resized.astype(bool)


def export_full_resolution(original: np.ndarray, edited: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Paste the edited working copy's removed region into the full-resolution original.

    `edited` and `mask` are at working resolution; the result has the original's
    size, and every pixel outside the (scaled-up) mask is the original's own.
    """
    height, width = original.shape[:2]
    if edited.shape[:2] == (height, width):
        full_mask = mask
        full_edit = edited
    else:
        full_mask = resize_mask(mask, (height, width))
        full_edit = cv2.resize(edited, (width, height), interpolation=cv2.INTER_CUBIC)
    result = original.copy()
    result[full_mask] = full_edit[full_mask]
    return result


def fit_mask(mask: np.ndarray, shape: tuple[int, int], what: str = "mask") -> np.ndarray:
    """Scale a boolean mask to (height, width) when its aspect ratio matches within 1%."""
    mask = np.asarray(mask, dtype=bool)
    mask_h, mask_w = mask.shape
    height, width = shape
    if (mask_h, mask_w) == (height, width):
        return mask
    image_ratio = width / height
    if abs(mask_w / mask_h - image_ratio) / image_ratio > ASPECT_TOLERANCE:
        raise ICError(
            f"The {what} is {mask_w}x{mask_h} but the image is {width}x{height}, a different shape; "
            "draw the mask on this image (or export it at the image's size) and try again."
        )
    return resize_mask(mask, shape)


MAX_PAINT_ASPECT = 25  # long side over short side: beyond it a canvas would be a line of pixels


def check_paintable(image: np.ndarray) -> np.ndarray:
    """Refuse a photo so thin that its canvas would be a line of pixels (a 20000x40 panorama, say)."""
    height, width = image.shape[:2]
    if max(height, width) > MAX_PAINT_ASPECT * min(height, width):
        raise ICError(f"The photo is {width}x{height}, too thin to paint on (its canvas would be a line a few "
                      f"pixels high); crop it to at most {MAX_PAINT_ASPECT}:1 and try again.")
    return image


def image_size(data: bytes, what: str = "image") -> tuple[int, int]:
    """(width, height) from the header alone, under the same checks as decoding."""
    _refuse_unsupported(data, what)
    return _open(data, what, MAX_PIXELS).size


def decode_layer(data: bytes, what: str = "drawing") -> np.ndarray:
    """A drawn layer's PNG to RGBA uint8 HxWx4, under the same limits as any image."""
    _refuse_unsupported(data, what)
    return np.asarray(_load_pixels(_open(data, what, MAX_PIXELS), what).convert("RGBA"))


ERASER_MIN = 190  # every channel at least this: the eraser's near-white, drawn over paint, takes it away


def mask_from_layer(layer: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """A drawn RGBA layer to a boolean mask of `shape`: any alpha > 0 is paint, except near-white pixels,
    which are the eraser's (paint drawn over the eraser is paint again: its colour shows through)."""
    if layer.ndim != 3 or layer.shape[2] != 4:
        raise ValueError(f"expected an RGBA layer HxWx4, got shape {layer.shape}")
    erased = layer[:, :, :3].min(axis=2) >= ERASER_MIN
    return fit_mask((layer[:, :, 3] > 0) & ~erased, shape, what="drawing")


def decode_mask(source: ImageSource, shape: tuple[int, int]) -> np.ndarray:
    """A mask image to a boolean mask of `shape`.

    With transparency, alpha > 127 means remove; otherwise grey > 127 does.
    """
    data = _read_bytes(source, "mask")
    _refuse_unsupported(data, "mask")
    image = _upright(_load_pixels(_open(data, "mask", MAX_PIXELS), "mask"))
    if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
        alpha = np.asarray(image.convert("RGBA"))[:, :, 3]
        if alpha.min() != alpha.max():  # transparency drawn with: read it; an opaque layer says nothing
            return fit_mask(alpha > 127, shape)
    grey = _to_rgb(image).mean(axis=2)  # 16-bit masks scaled, not clipped
    return fit_mask(grey > 127, shape)


def check_mask(mask: np.ndarray) -> np.ndarray:
    """Refuse a mask that removes nothing or leaves too little context; return it as bool."""
    mask = np.asarray(mask, dtype=bool)
    if not mask.any():
        raise NothingToRemove(
            "The mask is empty, so there is nothing to remove; paint over the region you want removed "
            "(in a mask file, white marks what to remove)."
        )
    fraction = float(mask.mean())
    if fraction > MAX_MASK_FRACTION:
        raise ICError(
            f"The mask covers {fraction:.0%} of the image; leave at least "
            f"{1 - MAX_MASK_FRACTION:.0%} of the image as context for the inpainter."
        )
    return mask


def mask_bbox(mask: np.ndarray) -> tuple[int, int, int, int]:
    """(top, left, bottom, right) of the True pixels, bottom/right exclusive."""
    rows = np.flatnonzero(mask.any(axis=1))
    cols = np.flatnonzero(mask.any(axis=0))
    return int(rows[0]), int(cols[0]), int(rows[-1]) + 1, int(cols[-1]) + 1


def outline_box(image: np.ndarray, box: tuple[int, int, int, int], colour=(255, 200, 0)) -> np.ndarray:
    """The image with a rectangle drawn along (top, left, bottom, right), e.g. the classifier's crop."""
    top, left, bottom, right = box
    thickness = max(2, round(max(image.shape[:2]) / 250))
    result = image.copy()
    cv2.rectangle(result, (left, top), (right - 1, bottom - 1), colour, thickness)
    return result


def overlay_mask(image: np.ndarray, mask: np.ndarray, colour=(255, 0, 80), opacity: float = 0.45) -> np.ndarray:
    """The image with the mask tinted on top, for showing what was removed."""
    result = image.astype(np.float32)
    result[mask] = result[mask] * (1 - opacity) + np.asarray(colour, np.float32) * opacity
    return result.round().astype(np.uint8)


SAVE_FORMATS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".webp": "WEBP", ".bmp": "BMP", ".tif": "TIFF", ".tiff": "TIFF"}


def save_image(image: np.ndarray, path: str | Path) -> Path:
    """Write RGB uint8 HxWx3 (or a bool mask) in the format its suffix names; PNG and WebP lossless."""
    path = Path(path)
    fmt = SAVE_FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise ICError(f"Cannot write {path.name}: end the file name with one of {', '.join(SAVE_FORMATS)}.")
    if image.dtype == bool:
        image = image.astype(np.uint8) * 255
    options = {"quality": 95} if fmt == "JPEG" else {"lossless": True} if fmt == "WEBP" else {}
    try:
        Image.fromarray(image).save(path, format=fmt, **options)
    except OSError as exc:
        raise ICError(f"Cannot write {path} ({exc.strerror or exc}); choose a folder you can write to.") from None
    return path
