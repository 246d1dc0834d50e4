"""Datasets as researchers keep them, read into one `Item` per object: COCO instances, Pascal VOC, class
folders, box CSVs, and our own masks layout (ic/sweeps/dataset.py).

Each reader is chosen by what the folder or ZIP holds (`detect`), or named (`--format`). Every entry that
cannot take part is skipped with its reason (an annotation whose image is missing, a box outside its image,
a crowd object), never the whole dataset; entries left out by choice (`--categories`, `--min-area`) are
counted in one line each. A box without a mask becomes one: the box itself, or with `box_to_mask="grabcut"`
the object GrabCut finds in it (Explore's object selection), made when the sweep runs.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from xml.etree import ElementTree

import ijson
import numpy as np
from PIL import Image

from ic.errors import ICError
from ic.images import ACCEPTED_EXTENSIONS, check_mask, decode_image, encode_png
from ic.sweeps.dataset import (
    LABEL_FILES,
    MASK_FOLDER,
    MASK_SUFFIX,
    MAX_IMAGES,
    Dataset,
    Item,
    _collect,
    folder_files,
    labels_file,
    read_labels,
    zip_files,
)

FORMATS = ("auto", "masks", "folders", "coco", "voc", "boxes")
BOX_TO_MASK = ("box", "grabcut")
MAX_OBJECTS = 5000  # items (objects) a sweep takes: more is a job for --categories, --min-area or a cluster
MAX_ANNOTATION_BYTES = 256 * 2**20  # a COCO JSON (val2017's instances are 25 MB), a VOC XML, a box CSV
BOX_COLUMNS = ("image", "label", "x0", "y0", "x1", "y1")
IMAGENET_LOC_COLUMNS = ("imageid", "predictionstring")  # ImageNet's LOC_val_solution.csv
WORDNET_ID = re.compile(r"n\d{8}")


@dataclass(frozen=True)
class ReadOptions:
    """Which objects to take and how a box becomes a mask."""
    categories: tuple[str, ...] = ()  # category names (any case); empty: all
    min_area: float = 0.0  # the least share of the image an object covers
    box_to_mask: str = "box"

    def check(self) -> ReadOptions:
        if not 0 <= self.min_area < 1:
            raise ICError(f"--min-area is a share of the image from 0 to 1 (0.01 is 1%); {self.min_area} is not.")
        if self.box_to_mask not in BOX_TO_MASK:
            raise ICError(f"A box becomes a mask by {' or '.join(BOX_TO_MASK)}, not {self.box_to_mask!r}.")
        return self

    def wants(self, category: str) -> bool:
        return not self.categories or category.casefold() in {c.casefold() for c in self.categories}


# --- finding the format and the images ---------------------------------------------------------------

def _readable(files: dict[str, str | None]) -> list[PurePosixPath]:
    return sorted(PurePosixPath(name) for name, problem in files.items() if problem is None)


def _is_image(path: PurePosixPath) -> bool:
    return path.suffix.lower().lstrip(".") in ACCEPTED_EXTENSIONS


def _box_csvs(paths: list[PurePosixPath]) -> list[PurePosixPath]:
    return [p for p in paths if p.suffix.lower() == ".csv" and p.name not in LABEL_FILES]


def _class_folders(paths: list[PurePosixPath]) -> set[str]:
    """The top folders, when every image (masks aside) lies one folder deep: CLASS/NAME.jpg."""
    images = [p for p in paths if _is_image(p) and p.parent.name != MASK_FOLDER and not p.stem.endswith(MASK_SUFFIX)]
    if not images or any(len(p.parts) != 2 for p in images):
        return set()
    return {p.parts[0] for p in images}


def detect(files: dict[str, str | None]) -> str:
    """The format a dataset's files say: a JSON is COCO's, Annotations/*.xml VOC's, images one folder deep in
    two or more folders are class folders, a CSV other than labels.csv holds boxes; else images with masks."""
    paths = _readable(files)
    if any(p.suffix.lower() == ".json" for p in paths):
        return "coco"
    if any(p.suffix.lower() == ".xml" and p.parent.name == "Annotations" for p in paths):
        return "voc"
    if len(_class_folders(paths)) >= 2:
        return "folders"
    if _box_csvs(paths):
        return "boxes"
    return "masks"


class Images:
    """The dataset's images by path, each read and decoded once, whatever number of objects it holds; one
    that cannot be read (or is a copy of another) is skipped once, with its reason."""

    def __init__(self, files: dict[str, str | None], read, dataset: Dataset):
        self.files, self.read, self.dataset = files, read, dataset
        self.paths = {p for p in _readable(files) if _is_image(p)}
        self.by_name: dict[str, list[PurePosixPath]] = {}
        self.by_stem: dict[str, list[PurePosixPath]] = {}
        for path in sorted(self.paths):
            self.by_name.setdefault(path.name, []).append(path)
            self.by_stem.setdefault(path.stem, []).append(path)
        self._found: dict[str, tuple | None] = {}
        self._shas: dict[str, str] = {}

    def find(self, name: str, near: PurePosixPath | None = None) -> PurePosixPath | None:
        """An image named as an annotation names it: its path in the dataset, beside the annotation file, or
        its file name (or, with no extension, its stem) where only one image has it."""
        wanted = PurePosixPath(name.replace("\\", "/").lstrip("/"))
        for candidate in (wanted, *((near / wanted,) if near is not None else ())):
            if candidate in self.paths:
                return candidate
        same = self.by_name.get(wanted.name) or ([] if wanted.suffix else self.by_stem.get(wanted.name, []))
        return same[0] if len(same) == 1 else None

    def get(self, path: PurePosixPath) -> tuple[bytes, str, tuple[int, int]] | None:
        """(bytes, SHA-256, (height, width)), or None when it cannot take part (said once)."""
        key = str(path)
        if key not in self._found:
            self._found[key] = self._load(key)
        return self._found[key]

    def _load(self, key: str):
        problem = self.files.get(key)
        if problem:
            self.dataset.skip(key, problem)
            return None
        try:
            data = self.read(key)
            image = decode_image(data, what=PurePosixPath(key).name)
        except ICError as exc:
            self.dataset.skip(key, str(exc))
            return None
        sha = hashlib.sha256(data).hexdigest()
        if sha in self._shas:
            self.dataset.skip(key, f"the same photo as {self._shas[sha]}; swept once")
            return None
        self._shas[sha] = key
        return data, sha, image.shape[:2]

    def __len__(self) -> int:
        return len(self.paths)


def _mask_png(mask: np.ndarray) -> bytes:
    return encode_png(mask.astype(np.uint8) * 255)


def box_mask(box: tuple[float, float, float, float], shape: tuple[int, int]) -> np.ndarray:
    """A box given as shares of the image (left, top, right, bottom), as a mask of `shape`."""
    height, width = shape
    left, top = int(np.floor(box[0] * width)), int(np.floor(box[1] * height))
    right, bottom = max(left + 1, int(np.ceil(box[2] * width))), max(top + 1, int(np.ceil(box[3] * height)))
    mask = np.zeros(shape, bool)
    mask[top:bottom, left:right] = True
    return mask


@dataclass
class _Taken:
    """Counts of what a reader left out by choice or by rule, said once each at the end."""
    where: str
    counts: Counter = field(default_factory=Counter)

    def count(self, why: str) -> None:
        self.counts[why] += 1

    def say(self, dataset: Dataset) -> None:
        for why, number in sorted(self.counts.items()):
            dataset.skip(self.where, f"{number} object{'s' if number != 1 else ''} {why}")


class _Objects:
    """Builds the items of one annotation file, each checked as a removal's mask would be."""

    def __init__(self, dataset: Dataset, images: Images, options: ReadOptions):
        self.dataset, self.images, self.options = dataset, images, options

    def add(self, where: str, path: PurePosixPath, found, *, mask: np.ndarray | None, box=None, label: str | None,
            category: str, object_id: str, mask_from: str, taken: _Taken) -> None:
        data, sha, shape = found
        if mask is None:  # a box: itself, or GrabCut's object in it when the sweep runs
            mask = box_mask(box, shape)
            if self.options.box_to_mask == "grabcut":
                mask_from = "grabcut"
        elif mask.shape != shape:
            self.dataset.skip(where, f"the annotation is for a {mask.shape[1]}x{mask.shape[0]} image, but "
                                     f"{path} is {shape[1]}x{shape[0]}; ignored")
            return
        share = float(mask.mean())
        if share < self.options.min_area:
            taken.count(f"under --min-area {self.options.min_area:g} of the image left out")
            return
        try:
            check_mask(mask)
        except ICError as exc:
            self.dataset.skip(where, str(exc))
            return
        self.dataset.items.append(Item(str(path), sha, data, None if mask_from == "grabcut" else _mask_png(mask),
                                       label=label, category=category, object=object_id, box=box,
                                       mask_from=mask_from))


def _annotation_text(read, name: str) -> bytes:
    data = read(name)
    if len(data) > MAX_ANNOTATION_BYTES:
        raise ICError(f"it holds {len(data) / 1e6:.0f} MB; an annotation file of at most "
                      f"{MAX_ANNOTATION_BYTES // 2**20} MB is read")
    return data


# --- COCO ----------------------------------------------------------------------------------------

# pycocotools trusts its input: a polygon's buffers are sized from its perimeter (a NaN or a coordinate of 1e8
# crashed the process, 1e7 took 1.7 GB), and an RLE is decoded without checking its counts against the image. So
# every segmentation is checked here first, each failure a sentence for that object.
MAX_POLYGON_POINTS = 50_000  # an object's points, all its polygons together
PERIMETER_SIDES = 100  # an object's outline at most this many times the image's height plus width


def _checked_polygons(segmentation: list, height: int, width: int) -> list[list[float]]:
    polygons = []
    for polygon in segmentation:
        if isinstance(polygon, list) and None in polygon:  # NaN and Infinity arrive as null (_coco_document)
            raise ValueError("a polygon has a coordinate that is not a number (NaN, infinite or null)")
        if not isinstance(polygon, list) or not all(type(v) in (int, float) for v in polygon):
            raise ValueError("a polygon is a list of numbers")
        if len(polygon) % 2:
            raise ValueError("a polygon has an x and a y for every point")
        if len(polygon) >= 6:
            polygons.append(polygon)
    if not polygons:
        raise ValueError("no polygon with three points")
    points = np.array([v for polygon in polygons for v in polygon], dtype=np.float64).reshape(-1, 2)
    if len(points) > MAX_POLYGON_POINTS:
        raise ValueError(f"its polygons have {len(points):,} points; at most {MAX_POLYGON_POINTS:,} are read")
    if not np.isfinite(points).all():
        raise ValueError("a polygon has a coordinate that is not a number (NaN or infinite)")
    low, high = np.array([-width, -height]), np.array([2 * width, 2 * height])  # the image, give or take its size
    if (points < low).any() or (points > high).any():
        raise ValueError(f"a polygon reaches far outside the {width}x{height} image")
    perimeter = sum(float(np.hypot(*np.diff(np.array(polygon).reshape(-1, 2), axis=0, append=[polygon[:2]]).T).sum())
                    for polygon in polygons)
    if perimeter > PERIMETER_SIDES * (height + width):
        raise ValueError(f"its outline is {perimeter:,.0f} pixels long, more than an object of a {width}x{height} "
                         "image has")
    return polygons


def _string_counts(text: str) -> list[int]:
    """The counts of COCO's compressed RLE string (pycocotools' rleFrString, read in Python so that nothing
    malformed reaches the C decoder, which reads past a string that ends mid-number)."""
    counts, at = [], 0
    while at < len(text):
        value = shift = 0
        more = True
        while more:
            if at >= len(text) or shift > 6:
                raise ValueError("its RLE string is cut short or holds a number too large for an image")
            code = ord(text[at]) - 48
            if not 0 <= code < 64:
                raise ValueError("its RLE string has a character that RLE strings do not")
            value |= (code & 0x1F) << 5 * shift
            more = bool(code & 0x20)
            at, shift = at + 1, shift + 1
            if not more and code & 0x10:
                value |= -1 << 5 * shift
        if len(counts) > 2:
            value += counts[-2]
        counts.append(value)
    return counts


def _checked_rle(segmentation: dict, height: int, width: int) -> dict:
    size = segmentation.get("size", [height, width])
    if not isinstance(size, list) or len(size) != 2 or not all(type(v) is int for v in size):
        raise ValueError("its RLE's size is not [height, width]")
    if size != [height, width]:
        raise ValueError(f"its RLE is {size[1]}x{size[0]}, the image {width}x{height}")
    raw = segmentation["counts"]
    if isinstance(raw, list):
        if not all(type(v) is int for v in raw):
            raise ValueError("its RLE counts are not whole numbers")
        counts = raw
    elif isinstance(raw, str):
        counts = _string_counts(raw)
    else:
        raise ValueError("its RLE counts are neither a list nor a string")
    if any(v < 0 for v in counts) or sum(counts) != height * width:
        raise ValueError(f"its RLE counts do not add up to the image's {height * width:,} pixels")
    return {"size": size, "counts": raw}


def _coco_mask(segmentation, height: int, width: int) -> tuple[np.ndarray, str]:
    from pycocotools import mask as coco_mask  # the C decoder of polygons and RLE

    if isinstance(segmentation, list):
        polygons = _checked_polygons(segmentation, height, width)
        rle = coco_mask.merge(coco_mask.frPyObjects(polygons, height, width))
        how = "polygon"
    elif isinstance(segmentation, dict) and "counts" in segmentation:
        checked = _checked_rle(segmentation, height, width)
        if isinstance(checked["counts"], list):  # uncompressed RLE
            rle = coco_mask.frPyObjects(checked, height, width)
        else:
            rle = {"size": checked["size"], "counts": checked["counts"].encode()}
        how = "rle"
    else:
        raise ValueError("a segmentation is a list of polygons or an RLE")
    return coco_mask.decode(rle).astype(bool), how


# COCO files are streamed (ijson): only the images, the categories and the annotations are built, one entry at a
# time, so a key nobody reads holding 15 million small objects costs nothing (json.loads of a 120 MB file took the
# server from 0.9 to 3.3 GB), and counts are checked as they are read.
MAX_COCO_IMAGES = 200_000  # image entries of one file (train2017 has 118,287)
_NOT_JSON_NUMBERS = re.compile(rb'"(?:[^"\\]|\\.)*"|(-?Infinity|NaN)')  # a string, or a bare NaN / Infinity
_BARE_NOT_NUMBER = re.compile(rb'[\[,:]\s*-?(?:NaN|Infinity)\s*[,\]}]')  # where a bare one can stand (or a string)


@dataclass
class _CocoFile:
    data: bytes
    categories: dict
    images: list

    def annotations(self):
        return _json_items(self.data, "annotations.item")


def _json_items(data: bytes, prefix: str):
    return ijson.items(data, prefix, use_float=True)  # the C parser (yajl2_c), streaming


def _coco_document(read, name: str, dataset: Dataset) -> _CocoFile:
    data = _annotation_text(read, name)
    if not data.lstrip()[:1] == b"{" or not re.search(rb'"images"\s*:\s*\[', data) \
            or not re.search(rb'"annotations"\s*:\s*\[', data):
        raise ICError("not a COCO instances file (it needs lists of images and annotations)")
    if _BARE_NOT_NUMBER.search(data):  # not JSON, but Python writes them: the entry says so, not the file
        data = _nulls_for_not_numbers(data)
    categories = {}
    if re.search(rb'"categories"\s*:\s*\[', data):
        for entry in _json_items(data, "categories.item"):
            if isinstance(entry, dict) and _an_id(entry.get("id")) and isinstance(entry.get("name"), (str, int)):
                categories.setdefault(entry["id"], str(entry["name"]))
            if len(categories) > MAX_COCO_IMAGES:
                raise ICError(f"it names more than {MAX_COCO_IMAGES:,} categories")
    elif re.search(rb'"categories"\s*:', data):
        dataset.skip(name, "its categories are not a list: objects are named by their category ids")
    images = []
    for entry in _json_items(data, "images.item"):
        images.append(entry)
        if len(images) > MAX_COCO_IMAGES:
            raise ICError(f"it lists more than {MAX_COCO_IMAGES:,} images; split the file")
    return _CocoFile(data, categories, images)


def _nulls_for_not_numbers(data: bytes) -> bytes:
    """`data` with every bare NaN and Infinity (outside strings) made null. Only their places are collected, so a
    file of millions of strings costs time here, not memory (a re.sub built a piece per string: gigabytes)."""
    spots = [found.span(1) for found in _NOT_JSON_NUMBERS.finditer(data) if found.group(1)]
    pieces, last = [], 0
    for start, end in spots:
        pieces += [data[last:start], b"null"]
        last = end
    return b"".join([*pieces, data[last:]])


def _an_id(value) -> bool:
    """COCO's ids are numbers (some tools write names); a list, an object or a true/false is no id."""
    return type(value) in (int, str, float)


def _flag(value) -> bool | None:
    """COCO's iscrowd as a yes or no: 0/1 (and "0"/"1", true/false, as tools write them); None for anything else."""
    if value in (None, 0, 1, "0", "1") or isinstance(value, bool):
        return value in (1, "1", True)
    return None


def _coco_entries(document: _CocoFile, source: str, dataset: Dataset) -> dict:
    """{image id: entry}, each entry checked: an id, a file name; a repeated id keeps its first entry, said."""
    entries = {}
    for number, entry in enumerate(document.images):
        where = f"{source}: image entry {number + 1}"
        if not isinstance(entry, dict) or not _an_id(entry.get("id")):
            dataset.skip(where, "it has no id (a number or a name); ignored")
        elif not isinstance(entry.get("file_name"), str) or not entry["file_name"].strip():
            dataset.skip(where, "its file_name is not a file name; ignored")
        elif not all(entry.get(side) is None or (type(entry.get(side)) is int and 0 < entry[side] <= 100_000)
                     for side in ("height", "width")):
            dataset.skip(where, "its height and width are not sizes in pixels; ignored")
        elif entry["id"] in entries:
            dataset.skip(where, f"its id {entry['id']!r} was given to {entries[entry['id']]['file_name']!r} before; "
                                "the first is used")
        else:
            entries[entry["id"]] = entry
    return entries


def _coco_wanted(document: _CocoFile, source: str, options: ReadOptions, taken: _Taken,
                 dataset: Dataset) -> list[tuple[dict, str]]:
    """(annotation, category name) of the objects to sweep: crowds and other categories counted, not taken; at
    most MAX_OBJECTS, refused as soon as one more is found."""
    wanted = []
    for annotation in document.annotations():
        if not isinstance(annotation, dict):
            taken.count("that are not annotations (not a JSON object) ignored")
            continue
        crowd = _flag(annotation.get("iscrowd"))
        if crowd is None or not _an_id(annotation.get("image_id")) or not _an_id(annotation.get("category_id")):
            dataset.skip(f"{source}: annotation {str(annotation.get('id'))[:40]}", "its iscrowd, image_id or "
                         "category_id is not a plain number; ignored")
            continue
        if crowd:
            taken.count("marked iscrowd skipped (a crowd's mask covers many objects)")
            continue
        category = document.categories.get(annotation["category_id"], str(annotation["category_id"]))
        if not options.wants(category):
            taken.count("of other categories left out (--categories)")
            continue
        wanted.append((annotation, category))
        if len(dataset.items) + len(wanted) > MAX_OBJECTS:
            raise ICError(f"{source} holds more than {MAX_OBJECTS} objects to sweep; a sweep takes at most "
                          f"{MAX_OBJECTS}. Choose some with --categories or --min-area, or split the file.")
    return wanted


def read_coco(files, read, dataset: Dataset, images: Images, options: ReadOptions) -> None:
    for source in [p for p in _readable(files) if p.suffix.lower() == ".json"]:
        try:
            document = _coco_document(read, str(source), dataset)
            entries = _coco_entries(document, str(source), dataset)
            taken = _Taken(str(source))
            wanted = _coco_wanted(document, str(source), options, taken, dataset)
        except ValueError as exc:  # ijson's: not JSON (or cut short) from some byte on
            dataset.skip(str(source), f"it is not a JSON file we can read ({str(exc).splitlines()[0][:160]}); "
                                      "ignored")
            continue
        except (ICError, RecursionError) as exc:
            if isinstance(exc, ICError) and "objects to sweep" in str(exc):
                raise
            dataset.skip(str(source), f"{str(exc)[:200]}; ignored")
            continue
        objects, missing = _Objects(dataset, images, options), set()
        for annotation, category in wanted:
            where = f"{source}: annotation {str(annotation.get('id'))[:40]}"
            entry = entries.get(annotation.get("image_id"))
            if entry is None:
                dataset.skip(where, f"its image_id {str(annotation.get('image_id'))[:40]} is not among the images; "
                                    "ignored")
                continue
            path = images.find(entry["file_name"], source.parent)
            if path is None:
                if entry["file_name"] not in missing:
                    missing.add(entry["file_name"])
                    dataset.skip(f"{source}: {entry['file_name']}", "the image is not in the dataset; its "
                                 "objects are skipped")
                continue
            found = images.get(path)
            if found is None:
                continue
            _coco_object(objects, where, path, found, entry, annotation, category, taken)
        taken.say(dataset)


def _coco_object(objects: _Objects, where, path, found, entry, annotation, category, taken) -> None:
    height, width = found[2]
    if (entry.get("height"), entry.get("width")) not in ((height, width), (None, None)):
        objects.dataset.skip(where, f"the annotation is for a {entry.get('width')}x{entry.get('height')} image, but "
                                    f"{path} is {width}x{height}; ignored")
        return
    segmentation = annotation.get("segmentation")
    box = None
    try:
        if segmentation:
            mask, how = _coco_mask(segmentation, height, width)
        else:
            x, y, w, h = (float(v) for v in annotation["bbox"])
            mask, how, box = None, "box", (x / width, y / height, (x + w) / width, (y + h) / height)
    except (ValueError, TypeError, KeyError) as exc:
        objects.dataset.skip(where, f"its segmentation cannot be read ({str(exc)[:120]}); ignored")
        return
    if box is not None and not _inside(box):
        objects.dataset.skip(where, f"its box lies outside the {width}x{height} image; ignored")
        return
    objects.add(where, path, found, mask=mask, box=_clip(box) if box else None, label=category, category=category,
                object_id=str(annotation.get("id", "")), mask_from=how, taken=taken)


def _inside(box) -> bool:
    left, top, right, bottom = box
    return right > max(0.0, left) and bottom > max(0.0, top) and left < 1 and top < 1 and right > 0 and bottom > 0


def _clip(box) -> tuple[float, float, float, float]:
    return tuple(float(np.clip(v, 0.0, 1.0)) for v in box)


# --- Pascal VOC ----------------------------------------------------------------------------------

def _voc_objects(data: bytes) -> tuple[str, tuple[int, int] | None, list[dict]]:
    root = ElementTree.fromstring(data)
    if root.tag != "annotation":
        raise ValueError("not a VOC annotation (its root is not <annotation>)")
    size = root.find("size")
    shape = None
    if size is not None and size.findtext("height") and size.findtext("width"):
        shape = _voc_size(size.findtext("height"), size.findtext("width"))
    objects = []
    for number, element in enumerate(root.findall("object"), start=1):
        box = element.find("bndbox")
        objects.append({"number": number, "name": (element.findtext("name") or "").strip(),
                        "box": None if box is None else [box.findtext(k) for k in ("xmin", "ymin", "xmax", "ymax")]})
    return (root.findtext("filename") or "").strip(), shape, objects


def _voc_size(height: str, width: str) -> tuple[int, int]:
    """<size>'s height and width: whole numbers of pixels from 1 to 100,000 (0, inf or 1e9 is no image's size)."""
    try:
        sides = [float(height), float(width)]
    except ValueError:
        raise ValueError(f"its <size> ({width[:20]}x{height[:20]}) is not a width and height in pixels") from None
    if not all(np.isfinite(side) and side == int(side) and 1 <= side <= 100_000 for side in sides):
        raise ValueError(f"its <size> says {width[:20]}x{height[:20]}, which is no image's size")
    return int(sides[0]), int(sides[1])


def _voc_instances(files, read, images: Images, stem: str, dataset: Dataset) -> np.ndarray | None:
    """SegmentationObject/STEM.png: each object's pixels hold its number (in the XML's order), 255 its edge."""
    candidates = [p for p in images.paths if p.parent.name == "SegmentationObject" and p.stem == stem]
    if not candidates:
        return None
    try:
        picture = Image.open(io.BytesIO(read(str(candidates[0]))))
        return np.asarray(picture if picture.mode in ("P", "L") else picture.convert("L"))
    except (OSError, ValueError, ICError) as exc:
        dataset.skip(str(candidates[0]), f"cannot be read ({str(exc)[:120]}); its objects use their boxes")
        return None


def read_voc(files, read, dataset: Dataset, images: Images, options: ReadOptions) -> None:
    for source in [p for p in _readable(files) if p.suffix.lower() == ".xml" and p.parent.name == "Annotations"]:
        try:
            filename, declared, objects = _voc_objects(_annotation_text(read, str(source)))
        except ElementTree.ParseError as exc:
            dataset.skip(str(source), f"not an XML file we can read ({str(exc)[:160]}); ignored")
            continue
        except (ICError, ValueError) as exc:
            dataset.skip(str(source), f"{str(exc)[:200]}; ignored")
            continue
        path = images.find(f"JPEGImages/{filename}", source.parent.parent) or images.find(filename or source.stem)
        if path is None:
            dataset.skip(str(source), f"its image {filename or source.stem} is not in the dataset; ignored")
            continue
        found = images.get(path)
        if found is None:
            continue
        if declared is not None and abs(declared[0] * found[2][1] - declared[1] * found[2][0]) > 0.02 * declared[0] * found[2][1]:
            dataset.skip(str(source), f"it is for a {declared[1]}x{declared[0]} image, but {path} is "
                                      f"{found[2][1]}x{found[2][0]} (another shape); its objects are ignored")
            continue
        instances = _voc_instances(files, read, images, path.stem, dataset)
        taken, made = _Taken(str(source)), _Objects(dataset, images, options)
        for obj in objects:
            where = f"{source}: object {obj['number']} ({obj['name']})"
            if not options.wants(obj["name"]):
                taken.count("of other categories left out (--categories)")
                continue
            _voc_object(made, where, path, found, declared, obj, instances, taken)
        taken.say(dataset)


def _voc_object(made: _Objects, where, path, found, declared, obj, instances, taken) -> None:
    height, width = found[2]
    if instances is not None and instances.shape == (height, width) and (instances == obj["number"]).any():
        made.add(where, path, found, mask=instances == obj["number"], label=obj["name"], category=obj["name"],
                 object_id=str(obj["number"]), mask_from="segmentation", taken=taken)
        return
    try:
        xmin, ymin, xmax, ymax = (float(v) for v in obj["box"])
    except (TypeError, ValueError):
        made.dataset.skip(where, "it has neither a box (bndbox) nor an instance mask; ignored")
        return
    scale_h, scale_w = declared or (height, width)
    box = ((xmin - 1) / scale_w, (ymin - 1) / scale_h, xmax / scale_w, ymax / scale_h)  # VOC counts from 1
    if not _inside(box):
        made.dataset.skip(where, f"its box lies outside the {width}x{height} image; ignored")
        return
    made.add(where, path, found, mask=None, box=_clip(box), label=obj["name"], category=obj["name"],
             object_id=str(obj["number"]), mask_from="box", taken=taken)


# --- box CSVs ------------------------------------------------------------------------------------

def _box_rows(text: str, source: str, dataset: Dataset):
    """(object id, row number, image, label, (x0, y0, x1, y1)) of a box CSV: image,label,x0,y0,x1,y1, or ImageNet's
    ImageId,PredictionString ("LABEL x0 y0 x1 y1" repeated)."""
    rows = csv.reader(io.StringIO(text))
    try:
        header = [cell.strip().lower() for cell in next(rows)]
    except (StopIteration, csv.Error):
        dataset.skip(source, "an empty CSV; ignored")
        return
    loc = tuple(header[:2]) == IMAGENET_LOC_COLUMNS
    if not loc and tuple(header[:6]) != BOX_COLUMNS:
        dataset.skip(source, "a box CSV's first line is image,label,x0,y0,x1,y1 (or ImageNet's ImageId,"
                             "PredictionString); ignored")
        return
    number = 1
    while True:
        number += 1
        try:
            row = next(rows)
        except StopIteration:
            return
        except csv.Error as exc:
            dataset.skip(f"{source}:{number}", f"not a CSV row ({exc}); row ignored")
            continue
        if not row:
            continue
        try:
            if loc:
                parts = row[1].split()
                if not parts or len(parts) % 5:
                    raise ValueError("a PredictionString is LABEL x0 y0 x1 y1, repeated")
                boxes = [(parts[at], tuple(float(v) for v in parts[at + 1: at + 5])) for at in range(0, len(parts), 5)]
                for part, (label, box) in enumerate(boxes, start=1):
                    yield f"row {number}" + (f" box {part}" if len(boxes) > 1 else ""), number, row[0].strip(), label, box
            else:
                yield f"row {number}", number, row[0].strip(), row[1].strip(), tuple(float(v) for v in row[2:6])
        except (ValueError, IndexError) as exc:
            dataset.skip(f"{source}:{number}", f"a box row needs an image, a label and four numbers ({exc}); "
                                               "row ignored")


def read_boxes(files, read, dataset: Dataset, images: Images, options: ReadOptions,
               folder_labels: bool = False) -> None:
    """Boxes in pixels, or in shares of the image where a row's four numbers are all at most 1."""
    csvs = _box_csvs(_readable(files))
    for source in csvs:
        try:
            text = _annotation_text(read, str(source)).decode("utf-8-sig", errors="replace")
        except ICError as exc:
            dataset.skip(str(source), f"{str(exc)[:200]}; ignored")
            continue
        taken, made = _Taken(str(source)), _Objects(dataset, images, options)
        before, rows = len(dataset.items), 0
        for object_id, number, name, label, box in _box_rows(text, str(source), dataset):
            where = f"{source}:{number}"
            if not options.wants(label):
                taken.count("of other categories left out (--categories)")
                continue
            rows += 1
            if before + rows > MAX_OBJECTS:  # counted as rows are read, before any photo is opened
                raise ICError(f"{source} holds more than {MAX_OBJECTS} boxes to sweep; a sweep takes at most "
                              f"{MAX_OBJECTS}. Choose some with --categories or --min-area, or split the file.")
            path = images.find(name, source.parent)
            if path is None:
                dataset.skip(where, f"the image {name[:120]} is not in the dataset; row ignored")
                continue
            found = images.get(path)
            if found is None:
                continue
            height, width = found[2]
            shares = box if max(box) <= 1 else (box[0] / width, box[1] / height, box[2] / width, box[3] / height)
            if not _inside(shares):
                dataset.skip(where, f"the box {', '.join(f'{v:g}' for v in box)} lies outside the {width}x{height} "
                                    "image; row ignored")
                continue
            expected = path.parts[0] if folder_labels and len(path.parts) > 1 else label
            made.add(where, path, found, mask=None, box=_clip(shares), label=expected, category=label,
                     object_id=object_id if len(csvs) == 1 else f"{source.name} {object_id}", mask_from="box", taken=taken)
        taken.say(dataset)


# --- the readers together ------------------------------------------------------------------------

def read_dataset(files: dict[str, str | None], read, *, fmt: str = "auto", labels: bytes | str | None = None,
                 options: ReadOptions | None = None) -> Dataset:
    """The dataset in `files` (from `folder_files` or `zip_files`) as the format says, or as `detect` finds."""
    options = (options or ReadOptions()).check()
    if fmt not in FORMATS:
        raise ICError(f"There is no dataset format {fmt!r}; choose one of {', '.join(FORMATS)}.")
    fmt = detect(files) if fmt == "auto" else fmt
    paths = _readable(files)
    if fmt == "masks" or (fmt == "folders" and not _box_csvs(paths)):
        text, name = labels_file(files, read, labels)
        dataset = _collect(files, read, None if fmt == "folders" else text, name, class_folders=fmt == "folders")
    else:
        dataset = Dataset(format=fmt)
        images = Images(files, read, dataset)
        if len(images) > MAX_IMAGES:
            raise ICError(f"The dataset holds {len(images)} images; a sweep takes at most {MAX_IMAGES}. Split it, "
                          "or run the command line on a Ray cluster in parts.")
        reader = {"coco": read_coco, "voc": read_voc, "boxes": read_boxes, "folders": read_boxes}[fmt]
        extra = {"folder_labels": True} if fmt == "folders" else {}
        reader(files, read, dataset, images, options, **extra)
        if not any(p.suffix.lower() in {"coco": (".json",), "voc": (".xml",)}.get(fmt, (".csv",)) for p in paths):
            dataset.skip("(dataset)", f"no {fmt} annotation file found; give --format to say what the folder holds")
    if len(dataset.items) > MAX_OBJECTS:
        raise ICError(f"The dataset holds {len(dataset.items)} objects; a sweep takes at most {MAX_OBJECTS}. Choose "
                      "some with --categories or --min-area, or split it.")
    return dataset


def load_folder(folder: str | Path, labels: str | Path | None = None, *, within: Path | None = None,
                fmt: str = "auto", options: ReadOptions | None = None) -> Dataset:
    """A folder in any of the formats; `labels` (or a labels.csv in it) gives expected labels of the masks
    layout. A file that is a link leading outside `within` (by default the folder) is skipped, never read."""
    files, read = folder_files(folder, within=within)
    return read_dataset(files, read, fmt=fmt, labels=read_labels(labels) if labels else None, options=options)


def load_zip(data: bytes, labels: bytes | None = None, *, fmt: str = "auto",
             options: ReadOptions | None = None) -> Dataset:
    """A ZIP of such a folder, under the same limits as History's imports."""
    files, read = zip_files(data)
    dataset = read_dataset(files, read, fmt=fmt, labels=labels, options=options)
    if not dataset.items and not dataset.skipped:
        raise ICError("The ZIP holds no images; put images with NAME_mask.png masks in it, class folders, COCO or "
                      "VOC annotations with their images, or a box CSV with its images.")
    return dataset


def load(source: str | Path, labels: str | Path | None = None, *, fmt: str = "auto",
         options: ReadOptions | None = None) -> Dataset:
    path = Path(source)
    if path.is_file() and path.suffix.lower() == ".zip":
        return load_zip(path.read_bytes(), read_labels(labels).encode() if labels else None, fmt=fmt, options=options)
    return load_folder(path, labels, fmt=fmt, options=options)


__all__ = ["BOX_TO_MASK", "FORMATS", "MAX_OBJECTS", "ReadOptions", "box_mask", "detect", "load", "load_folder",
           "load_zip", "read_dataset"]
