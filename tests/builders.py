"""Small files the tests build: encoded images, a header-only PNG, ZIP archives, a sweep's dataset."""

import io
import struct
import zipfile
import zlib
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from ic.images import decode_image, encode_png

from conftest import SAMPLES


def encode(image: Image.Image, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def png_declaring(width: int, height: int) -> bytes:
    """A PNG whose header declares a size it does not contain: a decompression bomb's calling card."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = lambda kind, data: struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 16)) + chunk(b"IEND", b"")


def zip_of(files: dict) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def png_with_big_metadata() -> bytes:
    """A small PNG carrying a 20 MB compressed text chunk, past Pillow's limit for metadata."""
    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text("comment", "A" * (20 * 1024 * 1024), zip=True)
    return encode(Image.new("RGB", (8, 8), (200, 10, 10)), "PNG", pnginfo=info)


def small_jpeg() -> bytes:
    return encode(Image.new("RGB", (64, 64), (10, 120, 200)), "JPEG")


SWEEP_NAMES = ["astronaut.png", "camera.png", "chelsea.png", "coffee.png", "grace_hopper.jpg", "rocket.jpg"]
SWEEP_SIDE = 256  # small copies: a sweep's numbers do not depend on the size, its test time does


def ellipse(shape, share: float = 0.5) -> np.ndarray:
    height, width = shape
    mask = np.zeros(shape, np.uint8)
    cv2.ellipse(mask, (width // 2, height // 2), (int(width * share / 2), int(height * share / 2)), 0, 0, 360, 255, -1)
    return mask


def build_dataset(folder: Path) -> Path:
    """12 images (each sample, and its mirror image), half with NAME_mask.png beside them and half with
    masks/NAME.png; expected labels for some; and four files that cannot take part."""
    folder.mkdir(parents=True)
    (folder / "masks").mkdir()
    for number, name in enumerate(SWEEP_NAMES):
        image = decode_image(SAMPLES / name)
        scale = SWEEP_SIDE / max(image.shape[:2])
        image = cv2.resize(image, (round(image.shape[1] * scale), round(image.shape[0] * scale)), interpolation=cv2.INTER_AREA)
        for variant, pixels in (("", image), ("_mirror", image[:, ::-1].copy())):
            stem = Path(name).stem + variant
            (folder / f"{stem}.png").write_bytes(encode_png(pixels))
            mask = encode_png(ellipse(pixels.shape[:2], 0.4 + 0.05 * number))
            (folder / "masks" / f"{stem}.png" if number % 2 else folder / f"{stem}_mask.png").write_bytes(mask)
    (folder / "labels.csv").write_text("image,label\ncoffee.png,espresso\ncoffee_mirror.png,espresso\nchelsea.png,tabby\n")
    (folder / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a JPEG")
    (folder / "broken_mask.png").write_bytes(encode_png(np.full((10, 10), 255, np.uint8)))
    (folder / "lonely.png").write_bytes(encode_png(np.full((64, 64, 3), 128, np.uint8)))  # no mask
    (folder / "wide.png").write_bytes(encode_png(np.full((64, 128, 3), 90, np.uint8)))
    (folder / "wide_mask.png").write_bytes(encode_png(ellipse((64, 64))))  # another shape than its image
    (folder / "notes.txt").write_text("a file that is not an image")
    return folder
