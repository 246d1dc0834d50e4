"""Small files the tests build: encoded images, a header-only PNG, ZIP archives, a sweep's dataset."""

import io
import json
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


# --- datasets as researchers keep them (ic/sweeps/formats.py) ---------------------------------------------

# Each sample's main object (assets/samples/masks) with the category a COCO annotator would give it, and
# the tripod of camera.png as a second object of that photo.
SAMPLE_OBJECTS = [("astronaut.png", "masks/astronaut.png", "person"), ("camera.png", "masks/camera.png", "person"),
                  ("camera.png", "camera_tripod_mask.png", "tripod"), ("chelsea.png", "masks/chelsea.png", "cat"),
                  ("coffee.png", "masks/coffee.png", "cup"), ("grace_hopper.jpg", "masks/grace_hopper.png", "person"),
                  ("rocket.jpg", "masks/rocket.png", "rocket")]


def small_sample(name: str, side: int = SWEEP_SIDE) -> np.ndarray:
    image = decode_image(SAMPLES / name)
    scale = side / max(image.shape[:2])
    return cv2.resize(image, (round(image.shape[1] * scale), round(image.shape[0] * scale)), interpolation=cv2.INTER_AREA)


def sample_mask(path: str, shape) -> np.ndarray:
    from ic.images import decode_mask

    return decode_mask(SAMPLES / path, shape)


def polygons(mask: np.ndarray) -> list[list[float]]:
    """COCO polygons ([x0, y0, x1, y1, ...]) of a mask's outer outlines."""
    contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    return [c.reshape(-1).astype(float).tolist() for c in contours if len(c) >= 3]


def bbox(mask: np.ndarray) -> list[float]:
    ys, xs = np.nonzero(mask)
    return [float(xs.min()), float(ys.min()), float(xs.max() + 1 - xs.min()), float(ys.max() + 1 - ys.min())]


def build_coco(folder: Path, side: int = SWEEP_SIDE, rle: tuple[str, ...] = ("chelsea.png",), extras: bool = True) -> Path:
    """The samples' objects as COCO instances: images/ and annotations/instances.json, polygons for most, an
    RLE for the photos in `rle`. With `extras`: a crowd object, an annotation whose image is missing, and one
    whose image_id is unknown."""
    from pycocotools import mask as coco_mask

    (folder / "images").mkdir(parents=True)
    (folder / "annotations").mkdir()
    categories = sorted({category for _, _, category in SAMPLE_OBJECTS})
    document = {"images": [], "annotations": [], "categories": [{"id": i + 1, "name": c} for i, c in enumerate(categories)]}
    ids = {}
    for image_name, mask_path, category in SAMPLE_OBJECTS:
        stem = Path(image_name).stem
        if image_name not in ids:
            pixels = small_sample(image_name, side)
            (folder / "images" / f"{stem}.jpg").write_bytes(encode(Image.fromarray(pixels), "JPEG", quality=92))
            ids[image_name] = len(ids) + 1
            document["images"].append({"id": ids[image_name], "file_name": f"{stem}.jpg", "height": pixels.shape[0],
                                       "width": pixels.shape[1]})
        entry = document["images"][ids[image_name] - 1]
        mask = sample_mask(mask_path, (entry["height"], entry["width"]))
        if image_name in rle:
            encoded = coco_mask.encode(np.asfortranarray(mask.astype(np.uint8)))
            segmentation = {"size": encoded["size"], "counts": encoded["counts"].decode()}
        else:
            segmentation = polygons(mask)
        document["annotations"].append({"id": len(document["annotations"]) + 1, "image_id": ids[image_name],
                                        "category_id": categories.index(category) + 1, "segmentation": segmentation,
                                        "area": float(mask.sum()), "bbox": bbox(mask), "iscrowd": 0})
    if extras:
        person = categories.index("person") + 1
        document["annotations"].append({"id": 100, "image_id": 1, "category_id": person, "iscrowd": 1,
                                        "segmentation": {"size": [4, 4], "counts": [0, 16]}, "area": 16.0,
                                        "bbox": [0, 0, 4, 4]})
        document["images"].append({"id": 99, "file_name": "gone.jpg", "height": 100, "width": 100})
        document["annotations"].append({"id": 101, "image_id": 99, "category_id": person, "iscrowd": 0,
                                        "segmentation": [[10, 10, 50, 10, 50, 50]], "area": 800.0,
                                        "bbox": [10, 10, 40, 40]})
        document["annotations"].append({"id": 102, "image_id": 12345, "category_id": person, "iscrowd": 0,
                                        "segmentation": [[10, 10, 50, 10, 50, 50]], "area": 800.0,
                                        "bbox": [10, 10, 40, 40]})
    (folder / "annotations" / "instances.json").write_text(json.dumps(document))
    return folder


def build_voc(folder: Path, with_instances: tuple[str, ...] = ("chelsea.png", "camera.png")) -> Path:
    """Pascal VOC: JPEGImages/, Annotations/*.xml with a box per object, and SegmentationObject/*.png (object
    numbers in the XML's order, 255 along the edges) for the photos in `with_instances`."""
    for sub in ("JPEGImages", "Annotations", "SegmentationObject"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    by_image: dict[str, list] = {}
    for image_name, mask_path, category in SAMPLE_OBJECTS:
        by_image.setdefault(image_name, []).append((mask_path, category))
    for image_name, objects in by_image.items():
        stem = Path(image_name).stem
        pixels = small_sample(image_name)
        (folder / "JPEGImages" / f"{stem}.jpg").write_bytes(encode(Image.fromarray(pixels), "JPEG", quality=92))
        parts, instance = [], np.zeros(pixels.shape[:2], np.uint8)
        for number, (mask_path, category) in enumerate(objects, start=1):
            mask = sample_mask(mask_path, pixels.shape[:2])
            x, y, w, h = (int(v) for v in bbox(mask))
            parts.append(f"<object><name>{category}</name><difficult>0</difficult><bndbox><xmin>{x + 1}</xmin>"
                         f"<ymin>{y + 1}</ymin><xmax>{x + w}</xmax><ymax>{y + h}</ymax></bndbox></object>")
            instance[mask & (instance == 0)] = number
        edges = cv2.morphologyEx(instance, cv2.MORPH_GRADIENT, np.ones((3, 3), np.uint8)) > 0
        instance[edges] = 255
        if image_name in with_instances:
            palette = Image.fromarray(instance, mode="P")
            palette.putpalette([0, 0, 0, 128, 0, 0, 0, 128, 0] + [0, 0, 0] * 252 + [224, 224, 192])
            (folder / "SegmentationObject" / f"{stem}.png").write_bytes(encode(palette, "PNG"))
        (folder / "Annotations" / f"{stem}.xml").write_text(
            f"<annotation><folder>VOC</folder><filename>{stem}.jpg</filename><size><width>{pixels.shape[1]}</width>"
            f"<height>{pixels.shape[0]}</height><depth>3</depth></size>{''.join(parts)}</annotation>")
    (folder / "Annotations" / "broken.xml").write_text("<annotation><filename>x.jpg</filename>")  # cut short
    return folder


def build_class_folders(folder: Path) -> Path:
    """ImageNet-style class folders: CLASS/NAME.png with NAME_mask.png beside it; the cat under its WordNet id
    (n02123045, tabby), the cup under its name, and one folder no ImageNet model has a class for."""
    classes = {"n02123045": ["chelsea.png"], "espresso": ["coffee.png"], "photographer": ["camera.png"]}
    for label, names in classes.items():
        (folder / label).mkdir(parents=True)
        for name in names:
            pixels = small_sample(name)
            stem = Path(name).stem
            (folder / label / f"{stem}.png").write_bytes(encode_png(pixels))
            mask = sample_mask(f"masks/{stem}.png", pixels.shape[:2])
            (folder / label / f"{stem}_mask.png").write_bytes(encode_png(mask.astype(np.uint8) * 255))
            mirrored = pixels[:, ::-1].copy()
            (folder / label / f"{stem}_mirror.png").write_bytes(encode_png(mirrored))
            (folder / label / f"{stem}_mirror_mask.png").write_bytes(encode_png(mask[:, ::-1].astype(np.uint8) * 255))
    return folder


def build_box_csv(folder: Path) -> Path:
    """images/ and boxes.csv: boxes in pixels and in shares of the image, a box outside its image, a row for
    a missing image and a row that is not a box."""
    (folder / "images").mkdir(parents=True)
    lines = ["image,label,x0,y0,x1,y1"]
    for image_name, mask_path, category in SAMPLE_OBJECTS:
        stem = Path(image_name).stem
        pixels = small_sample(image_name)
        (folder / "images" / f"{stem}.png").write_bytes(encode_png(pixels))
        x, y, w, h = bbox(sample_mask(mask_path, pixels.shape[:2]))
        if category == "cup":  # as shares of the image
            height, width = pixels.shape[:2]
            lines.append(f"{stem}.png,{category},{x / width:.4f},{y / height:.4f},{(x + w) / width:.4f},{(y + h) / height:.4f}")
        else:
            lines.append(f"{stem}.png,{category},{x:.0f},{y:.0f},{x + w:.0f},{y + h:.0f}")
    lines += ["rocket.png,cloud,900,900,990,990", "nowhere.png,person,1,1,20,20", "coffee.png,cup,left,top,right,bottom"]
    (folder / "boxes.csv").write_text("\n".join(lines) + "\n")
    return folder


def zip_folder(root: Path) -> bytes:
    """A ZIP of every file under `root`, named relative to it (a dataset as a person uploads it)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in sorted(root.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(root).as_posix())
    return buffer.getvalue()
