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
MAX_OBJECTS = 5000  # items (objects) a sweep takes, counted as they are made: after --min-area, photos found
MAX_CANDIDATES = 40 * MAX_OBJECTS  # annotations of the chosen categories read before any mask is made (val2017: 36,781)
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
    crowds: bool = True  # COCO's iscrowd regions: swept (marked crowd in the rows), or left out

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
    """The format a dataset's files say: a JSON is COCO's; VOC's are XML files under an Annotations folder or
    beside their photo (LabelImg), or instance masks in SegmentationObject/ (labelme's and CVAT's mask exports);
    images one folder deep in two or more folders are class folders, a CSV other than labels.csv holds boxes;
    else images with masks."""
    paths = _readable(files)
    if any(p.suffix.lower() == ".json" for p in paths):
        return "coco"
    if _voc_sources(paths) or any(INSTANCES in p.parts[:-1] and p.suffix.lower() == ".png" for p in paths):
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

    def find(self, name: str, *near: PurePosixPath) -> PurePosixPath | None:
        """An image named as an annotation names it: its path in the dataset, in one of the folders `near` (in
        their order), or its file name (or, with no extension, its stem) where only one image has it."""
        wanted = PurePosixPath(name.replace("\\", "/").lstrip("/"))
        for candidate in (wanted, *(folder / wanted for folder in near)):
            if candidate in self.paths:
                return candidate
        same = self.by_name.get(wanted.name) or ([] if wanted.suffix else self.by_stem.get(wanted.name, []))
        return same[0] if len(same) == 1 else None

    def named(self, name: str) -> int:
        """How many images have this file name (a name repeated across subsets is found by its folder only)."""
        return len(self.by_name.get(PurePosixPath(name.replace("\\", "/")).name, []))

    def with_stem(self, folder: PurePosixPath, stem: str) -> PurePosixPath | None:
        """The image FOLDER/STEM.<any image extension> (VOC's JPEGImages/ID.jpg, LabelImg's photo beside its XML)."""
        found = [p for p in self.by_stem.get(PurePosixPath(stem).name, []) if p.parent == folder / PurePosixPath(stem).parent]
        return found[0] if found else None

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


@dataclass(frozen=True)
class _Said:
    """What an annotation says of one object: its category, its id (unique on its photo), the label a model is
    expected to give (a class folder's name may stand in for the category), and whether it is a crowd region."""

    category: str
    object_id: str
    label: str | None
    crowd: bool = False


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

    def add(self, where: str, path: PurePosixPath, found, said: _Said, *, mask: np.ndarray | None, box=None,
            mask_from: str, taken: _Taken) -> None:
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
        if len(self.dataset.items) >= MAX_OBJECTS:
            narrower = (f"a larger --min-area than {self.options.min_area:g}" if self.options.min_area
                        else "--min-area (0.01 leaves out objects under 1% of the image)")
            raise ICError(f"The dataset holds more than {MAX_OBJECTS} objects to sweep; a sweep takes at most "
                          f"{MAX_OBJECTS}. Choose some with --categories or {narrower}, or split it.")
        self.dataset.items.append(Item(str(path), sha, data, None if mask_from == "grabcut" else _mask_png(mask),
                                       label=said.label, category=said.category, object=said.object_id, box=box,
                                       mask_from=mask_from, crowd=said.crowd))


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


# What else COCO's annotations folder holds (its download; Datumaro's and CVAT's exports), by the file's name:
# read as instances, these repeat objects (keypoints), or print a line per caption or panoptic segment.
COCO_OTHER_FILES = {"captions": "captions", "person_keypoints": "keypoints of the same people as the instances",
                    "labels": "image labels", "panoptic": "panoptic segments", "stuff": "stuff (background) regions",
                    "image_info": "image lists without annotations"}
_COCO_NAME = re.compile(r"^(instances|captions|person_keypoints|labels|panoptic|stuff|image_info)(?:_(.+))?$")


def _coco_files(paths: list[PurePosixPath], dataset: Dataset) -> list[tuple[PurePosixPath, str | None]]:
    """(file, subset) of the instance files: instances_<subset>.json (and any other name, such as Roboflow's
    _annotations.coco.json), person_keypoints_<subset>.json only where no instances file of that subset is
    there (CVAT's "COCO Keypoints" export); every other kind named once."""
    chosen, by_kind = [], {}
    for path in (p for p in paths if p.suffix.lower() == ".json"):
        found = _COCO_NAME.match(path.stem)
        kind, subset = (found.group(1), found.group(2)) if found else ("instances", None)
        by_kind.setdefault(kind, []).append((path, subset))
    instance_subsets = {(path.parent, subset) for path, subset in by_kind.get("instances", [])}
    for kind, entries in sorted(by_kind.items()):
        for path, subset in entries:
            if kind == "instances" or (kind == "person_keypoints" and (path.parent, subset) not in instance_subsets):
                chosen.append((path, subset))
            else:
                dataset.skip(str(path), f"COCO {COCO_OTHER_FILES[kind]}, not object instances; not read")
    return sorted(chosen)


def _coco_wanted(document: _CocoFile, source: str, options: ReadOptions, taken: _Taken,
                 dataset: Dataset) -> list[tuple[dict, str, bool]]:
    """(annotation, category name, crowd) of the objects to sweep: other categories (and, when left out, crowds)
    counted, not taken; refused beyond MAX_CANDIDATES before any mask is made."""
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
        category = document.categories.get(annotation["category_id"], str(annotation["category_id"]))
        if not options.wants(category):
            taken.count("of other categories left out (--categories)")
            continue
        if crowd and not options.crowds:
            taken.count("marked iscrowd left out (--no-crowds)")
            continue
        wanted.append((annotation, category, crowd))
        if len(wanted) > MAX_CANDIDATES:
            raise ICError(f"{source} holds more than {MAX_CANDIDATES:,} objects of the chosen categories; a sweep "
                          f"takes at most {MAX_OBJECTS}. Choose some with --categories, or split the file.")
    return wanted


def _coco_folders(source: PurePosixPath, subset: str | None) -> list[PurePosixPath]:
    """Where a COCO file's photos lie: COCO's download (annotations/instances_val2017.json, val2017/), Datumaro's
    and CVAT's exports (annotations/instances_<subset>.json, images/<subset>/), beside the file (Roboflow)."""
    root = source.parent.parent if source.parent.name == "annotations" else source.parent
    folders = [root / "images" / subset, root / subset] if subset else []
    return [*folders, root / "images", source.parent]


def read_coco(files, read, dataset: Dataset, images: Images, options: ReadOptions) -> None:
    sources = _coco_files(_readable(files), dataset)
    for source, subset in sources:
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
            if isinstance(exc, ICError) and "objects of the chosen categories" in str(exc):
                raise
            dataset.skip(str(source), f"{str(exc)[:200]}; ignored")
            continue
        objects, missing, used = _Objects(dataset, images, options), set(), Counter()
        folders = _coco_folders(source, subset)
        for annotation, category, crowd in wanted:
            where = f"{source}: annotation {str(annotation.get('id'))[:40]}"
            entry = entries.get(annotation.get("image_id"))
            if entry is None:
                dataset.skip(where, f"its image_id {str(annotation.get('image_id'))[:40]} is not among the images; "
                                    "ignored")
                continue
            path = images.find(entry["file_name"], *folders)
            if path is None:
                if entry["file_name"] not in missing:
                    missing.add(entry["file_name"])
                    many = images.named(entry["file_name"])
                    dataset.skip(f"{source}: {entry['file_name']}", (
                        f"{many} photos have this name and none lies where {source.name} keeps its photos "
                        f"({folders[0]}/); its objects are skipped" if many > 1 else
                        "the image is not in the dataset; its objects are skipped"))
                continue
            found = images.get(path)
            if found is None:
                continue
            # an object's name: its id, with the subset's where several files are read; unique on its photo
            name = str(annotation.get("id", ""))[:40]
            name = f"{subset or source.stem} {name}" if len(sources) > 1 else name
            used[(path, name)] += 1
            name = name if used[(path, name)] == 1 else f"{name} ({used[(path, name)]})"
            _coco_object(objects, where, (path, found, entry), annotation, _Said(category, name, category, crowd),
                         taken)
        taken.say(dataset)


def _coco_object(objects: _Objects, where, photo: tuple, annotation, said: _Said, taken) -> None:
    """One COCO annotation on `photo` ((its path, what was found of it, its `images` entry))."""
    path, found, entry = photo
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
    objects.add(where, path, found, said, mask=mask, box=_clip(box) if box else None, mask_from=how, taken=taken)


def _inside(box) -> bool:
    left, top, right, bottom = box
    return right > max(0.0, left) and bottom > max(0.0, top) and left < 1 and top < 1 and right > 0 and bottom > 0


def _clip(box) -> tuple[float, float, float, float]:
    return tuple(float(np.clip(v, 0.0, 1.0)) for v in box)


# --- Pascal VOC ----------------------------------------------------------------------------------
#
# As the tools write it: the devkit's Annotations/ID.xml with JPEGImages/ID.jpg (ID may hold folders: CVAT's tasks
# with subfolders), LabelImg's photo.xml beside photo.jpg, and instance masks in SegmentationObject/ID.png, whose
# instance k is the XML's object k. The masks come paletted (the devkit, labelme) or as RGB in VOC's colours
# (Datumaro, CVAT); some exports have masks and no XML objects at all (labelme's instance export, CVAT's
# "Segmentation mask", CVAT's VOC export of brush masks): each instance is then an object, its category from
# SegmentationClass/ID.png and the label list beside it (labelmap.txt, class_names.txt, else VOC's classes).

ANNOTATIONS, IMAGES_FOLDER, INSTANCES, CLASSES = "Annotations", "JPEGImages", "SegmentationObject", "SegmentationClass"
VOC_CLASSES = ("background", "aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat", "chair", "cow",
               "diningtable", "dog", "horse", "motorbike", "person", "pottedplant", "sheep", "sofa", "train",
               "tvmonitor")
VOID = 255  # VOC's edge and don't-care pixels
MASK_IN_BOX = 0.9  # the share of an instance's pixels inside its object's box for the two to be one object


def voc_colormap() -> np.ndarray:
    """VOC's 256 colours (the devkit's VOClabelcolormap): index -> (r, g, b), as its masks are painted."""
    colours = np.zeros((256, 3), np.uint8)
    for index in range(256):
        value, r, g, b = index, 0, 0, 0
        for bit in range(8):
            r |= ((value >> 0) & 1) << (7 - bit)
            g |= ((value >> 1) & 1) << (7 - bit)
            b |= ((value >> 2) & 1) << (7 - bit)
            value >>= 3
        colours[index] = (r, g, b)
    return colours


def _voc_sources(paths: list[PurePosixPath]) -> list[PurePosixPath]:
    """VOC XML files: under a folder named Annotations (at any depth), or beside a photo of the same stem."""
    stems = {(p.parent, p.stem) for p in paths if _is_image(p)}
    return [p for p in paths if p.suffix.lower() == ".xml" and (ANNOTATIONS in p.parts[:-1] or (p.parent, p.stem) in stems)]


def _voc_root_and_id(path: PurePosixPath, folder: str) -> tuple[PurePosixPath, str] | None:
    """(the dataset's root, the ID) of ROOT/FOLDER/ID.ext, where ID may hold folders; None elsewhere."""
    parts = path.parts[:-1]
    if folder not in parts:
        return None
    at = len(parts) - 1 - parts[::-1].index(folder)
    return PurePosixPath(*parts[:at]) if at else PurePosixPath(), str(PurePosixPath(*path.parts[at + 1:]).with_suffix(""))


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
    labelimg = root.find("path") is not None  # LabelImg writes the photo's path; the devkit and Datumaro do not
    for obj in objects:
        obj["positions"] = labelimg
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


def _voc_box(corners: list, shape: tuple[int, int], positions: bool = False) -> tuple[float, float, float, float]:
    """A <bndbox> as shares of the image. The devkit's whole numbers count pixels from 1, both ends inside the
    box; numbers with a decimal point (labelme, Datumaro, CVAT), and LabelImg's (`positions`: its canvas's corners,
    cut to whole numbers, as its own reader draws them back), are positions from 0, the far end outside."""
    xmin, ymin, xmax, ymax = (float(v) for v in corners)
    height, width = shape
    first = 0.0 if positions or any("." in str(v) for v in corners) else 1.0
    return (xmin - first) / width, (ymin - first) / height, xmax / width, ymax / height


class _Labels:
    """A VOC export's classes: its label list (Datumaro's labelmap.txt, with colours; labelme's class_names.txt,
    one per line from index 0), else VOC's 20 classes and background."""

    def __init__(self, files, read, root: PurePosixPath, dataset: Dataset):
        self.names, self.colours, self.source = list(VOC_CLASSES), {}, "VOC's classes"
        for name in ("labelmap.txt", "class_names.txt"):
            path = str(root / name) if str(root) != "." else name
            if files.get(path, "missing") is not None:
                continue
            try:
                text = _annotation_text(read, path).decode("utf-8-sig", errors="replace")
            except ICError as exc:
                dataset.skip(path, f"{str(exc)[:160]}; VOC's classes are used")
                continue
            lines = [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]
            if name == "labelmap.txt":  # name:r,g,b:parts:actions
                self.names = [line.split(":")[0] for line in lines]
                for index, line in enumerate(lines):
                    fields = line.split(":")
                    try:
                        colour = tuple(int(v) for v in fields[1].split(","))
                    except (IndexError, ValueError):
                        continue
                    if len(colour) == 3:
                        self.colours[colour] = index
            else:
                self.names = lines
            self.source = path
            break

    def name(self, index: int) -> str | None:
        return self.names[index] if 0 < index < len(self.names) else None


def _indices(picture: Image.Image, colours: dict[tuple, int] | None = None) -> np.ndarray:
    """A VOC mask as numbers: a paletted or grey PNG's own values; an RGB one's colours mapped back through VOC's
    colour map (or `colours`, a labelmap's); a colour neither knows is an error."""
    if picture.mode in ("P", "L"):
        return np.asarray(picture)
    if picture.mode not in ("RGB", "RGBA", "LA", "I;16", "I"):
        picture = picture.convert("RGB")
    if picture.mode != "RGB":
        picture = picture.convert("RGB")
    pixels = np.asarray(picture)
    table = {tuple(int(c) for c in colour): index for index, colour in enumerate(voc_colormap())}
    table.update(colours or {})
    found, inverse = np.unique(pixels.reshape(-1, 3), axis=0, return_inverse=True)
    numbers = np.zeros(len(found), np.int64)
    for at, colour in enumerate(found):
        key = tuple(int(c) for c in colour)
        if key not in table:
            raise ValueError(f"its colour {key} is none of VOC's colours")
        numbers[at] = table[key]
    return numbers[inverse.reshape(-1)].reshape(pixels.shape[:2])


@dataclass
class _VocPhoto:
    """One photo of a VOC dataset: its XML and its masks' files (any may be missing), and once read, what they
    hold: the XML's objects, the instance and class numbers, the label list."""
    path: PurePosixPath
    xml: PurePosixPath | None
    instances: PurePosixPath | None
    classes: PurePosixPath | None
    root: PurePosixPath
    found: tuple | None = None  # Images.get's (bytes, SHA-256, (height, width))
    declared: tuple[int, int] | None = None  # the XML's <size>
    objects: list[dict] = field(default_factory=list)
    instance_numbers: np.ndarray | None = None
    class_numbers: np.ndarray | None = None
    names: _Labels | None = None

    @property
    def source(self) -> str:
        return str(self.xml or self.instances)


def _voc_masks(root: PurePosixPath, ident: str, images: Images) -> tuple[PurePosixPath | None, PurePosixPath | None]:
    found = []
    for folder in (INSTANCES, CLASSES):
        path = root / folder / f"{ident}.png"
        found.append(path if path in images.paths else None)
    return found[0], found[1]


def _voc_photos(files, read, images: Images, dataset: Dataset) -> list[_VocPhoto]:
    """Every photo with an XML or an instance mask, paired as the devkit pairs them: Annotations/ID.xml with
    JPEGImages/ID.*, an XML beside its photo; <filename> where that finds nothing, said where the two disagree."""
    paths = _readable(files)
    photos, taken = [], set()
    for source in _voc_sources(paths):
        try:
            filename, _, _ = _voc_objects(_annotation_text(read, str(source)))
        except ElementTree.ParseError as exc:
            dataset.skip(str(source), f"not an XML file we can read ({str(exc)[:160]}); ignored")
            continue
        except (ICError, ValueError) as exc:
            dataset.skip(str(source), f"{str(exc)[:200]}; ignored")
            continue
        placed = _voc_root_and_id(source, ANNOTATIONS)
        if placed:
            root, ident = placed
            by_id = images.with_stem(root / IMAGES_FOLDER, ident)
            near = (root / IMAGES_FOLDER, source.parent)
        else:  # LabelImg: beside its photo
            root, ident = source.parent, source.stem
            by_id = images.with_stem(source.parent, source.stem)
            near = (source.parent,)
        by_name = images.find(filename, *near) if filename else None
        path = by_id or by_name
        if path is None:
            dataset.skip(str(source), f"its photo ({filename or ident}) is not in the dataset; its objects are skipped")
            continue
        if by_id and filename and PurePosixPath(filename.replace("\\", "/")).name != by_id.name:
            dataset.skip(str(source), f"its <filename> says {filename[:120]}, but the devkit pairs it by its own name "
                                      f"with {by_id}, which is used")
        taken.add(path)
        instances, classes = _voc_masks(root, ident, images)
        photos.append(_VocPhoto(path, source, instances, classes, root))
    for mask in (p for p in paths if p.suffix.lower() == ".png"):
        placed = _voc_root_and_id(mask, INSTANCES)
        if not placed:
            continue
        root, ident = placed
        path = images.with_stem(root / IMAGES_FOLDER, ident)
        if path is None:
            dataset.skip(str(mask), f"an instance mask without its photo ({root / IMAGES_FOLDER / ident}.jpg); ignored")
        elif path not in taken:
            taken.add(path)
            photos.append(_VocPhoto(path, None, mask, _voc_masks(root, ident, images)[1], root))
    return photos


def _voc_mask_file(read, path: PurePosixPath | None, dataset: Dataset, colours=None) -> np.ndarray | None:
    if path is None:
        return None
    try:
        return _indices(Image.open(io.BytesIO(read(str(path)))), colours)
    except (OSError, ValueError, ICError) as exc:
        dataset.skip(str(path), f"cannot be read ({str(exc)[:120]}); its objects use their boxes, if they have any")
        return None


def read_voc(files, read, dataset: Dataset, images: Images, options: ReadOptions) -> None:
    labels: dict[PurePosixPath, _Labels] = {}
    for photo in _voc_photos(files, read, images, dataset):
        photo.found = images.get(photo.path)
        if photo.found is None:
            continue
        shape = photo.found[2]
        if photo.xml is not None:
            _, photo.declared, photo.objects = _voc_objects(_annotation_text(read, str(photo.xml)))
            height, width = photo.declared or shape
            if abs(height * shape[1] - width * shape[0]) > 0.02 * height * shape[1]:
                dataset.skip(photo.source, f"it is for a {width}x{height} image, but {photo.path} is "
                                           f"{shape[1]}x{shape[0]} (another shape); its objects are ignored")
                continue
        if photo.root not in labels:
            labels[photo.root] = _Labels(files, read, photo.root, dataset)
        photo.names = labels[photo.root]
        photo.instance_numbers = _fitting(_voc_mask_file(read, photo.instances, dataset), photo.instances, photo, dataset)
        photo.class_numbers = _fitting(_voc_mask_file(read, photo.classes, dataset, photo.names.colours), photo.classes,
                                       photo, dataset)
        if not photo.objects and photo.instance_numbers is None:
            if photo.instances is None:  # else its mask could not be read, and said so
                dataset.skip(photo.source, "it names no object and has no instance mask; nothing to sweep on "
                                           f"{photo.path.name}")
            continue
        _voc_photo_objects(_Objects(dataset, images, options), photo)


def _fitting(numbers: np.ndarray | None, path, photo: _VocPhoto, dataset: Dataset) -> np.ndarray | None:
    """A mask's numbers where they are the photo's size; else None, said."""
    shape = photo.found[2]
    if numbers is not None and numbers.shape != shape:
        dataset.skip(str(path), f"it is {numbers.shape[1]}x{numbers.shape[0]}, but {photo.path} is "
                                f"{shape[1]}x{shape[0]}; not used")
        return None
    return numbers


def _voc_photo_objects(made: _Objects, photo: _VocPhoto) -> None:
    """The XML's objects (each with its instance mask where SegmentationObject has it inside the object's box,
    else its box) and the instances no XML object stands for (their category from SegmentationClass)."""
    taken = _Taken(photo.source)
    instances = photo.instance_numbers
    numbers = set() if instances is None else {int(v) for v in np.unique(instances)} - {0, VOID}
    claimed = {number for obj in photo.objects for number in [_voc_xml_object(made, photo, obj, numbers, taken)]
               if number is not None}
    for number in sorted(numbers - claimed):
        mask = instances == number
        where = f"{photo.instances}: instance {number}"
        category = _instance_class(mask, photo.class_numbers, photo.names)
        if category is None:
            made.dataset.skip(where, f"no class for it ({photo.classes or 'no SegmentationClass mask'}, "
                                     f"{photo.names.source}); swept without a category")
        if not made.options.wants(category or ""):
            taken.count("of other categories left out (--categories)")
            continue
        made.add(where, photo.path, photo.found, _Said(category, f"instance {number}", category), mask=mask,
                 mask_from="segmentation", taken=taken)
    taken.say(made.dataset)


def _voc_xml_object(made: _Objects, photo: _VocPhoto, obj: dict, numbers: set[int], taken: _Taken) -> int | None:
    """One XML object, with its instance's pixels or its box; the instance number it stands for, if any."""
    where, shape = f"{photo.source}: object {obj['number']} ({obj['name']})", photo.found[2]
    try:
        box = _voc_box(obj["box"], photo.declared or shape, obj["positions"]) if obj["box"] is not None else None
    except (TypeError, ValueError):
        box = None
    mask = photo.instance_numbers == obj["number"] if obj["number"] in numbers else None
    if mask is not None and box is not None and _share_inside(mask, box) < MASK_IN_BOX:
        made.dataset.skip(where, f"instance {obj['number']} of {photo.instances} lies outside this object's box; the "
                                 "box is used, and the instance read as an object of its own")
        mask = None
    claimed = obj["number"] if mask is not None else None
    if not made.options.wants(obj["name"]):
        taken.count("of other categories left out (--categories)")
        return claimed
    if mask is not None:
        made.add(where, photo.path, photo.found, _Said(obj["name"], str(obj["number"]), obj["name"]), mask=mask,
                 mask_from="segmentation", taken=taken)
        return claimed
    if box is None:
        made.dataset.skip(where, "it has neither a box (bndbox) nor an instance mask; ignored")
    elif not _inside(box):
        made.dataset.skip(where, f"its box lies outside the {shape[1]}x{shape[0]} image; ignored")
    else:
        if photo.instance_numbers is not None and obj["number"] not in numbers:
            made.dataset.skip(where, f"{photo.instances} has no instance {obj['number']}; its box is used")
        made.add(where, photo.path, photo.found, _Said(obj["name"], str(obj["number"]), obj["name"]), mask=None,
                 box=_clip(box), mask_from="box", taken=taken)
    return None


def _share_inside(mask: np.ndarray, box) -> float:
    height, width = mask.shape
    left, top = max(0, int(np.floor(box[0] * width)) - 1), max(0, int(np.floor(box[1] * height)) - 1)
    right, bottom = int(np.ceil(box[2] * width)) + 1, int(np.ceil(box[3] * height)) + 1
    return float(mask[top:bottom, left:right].sum() / max(1, mask.sum()))


def _instance_class(mask: np.ndarray, classes: np.ndarray | None, names: _Labels) -> str | None:
    """The class most of an instance's pixels have in SegmentationClass (void and background aside)."""
    if classes is None:
        return None
    values, counts = np.unique(classes[mask], return_counts=True)
    keep = (values != 0) & (values != VOID)
    if not keep.any():
        return None
    return names.name(int(values[keep][np.argmax(counts[keep])]))


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
            # counted as rows are read, before any photo is opened: with no --min-area every box is swept
            limit = MAX_CANDIDATES if options.min_area else MAX_OBJECTS
            if before + rows > limit:
                raise ICError(f"{source} holds more than {limit} boxes to sweep; a sweep takes at most {MAX_OBJECTS}. "
                              "Choose some with --categories or --min-area, or split the file.")
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
            said = _Said(label, object_id if len(csvs) == 1 else f"{source.name} {object_id}", expected)
            made.add(where, path, found, said, mask=None, box=_clip(shares), mask_from="box", taken=taken)
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
        if not any(p.suffix.lower() in {"coco": (".json",), "voc": (".xml",)}.get(fmt, (".csv",)) for p in paths) \
                and not (fmt == "voc" and any(INSTANCES in p.parts for p in paths)):
            dataset.skip("(dataset)", f"no {fmt} annotation file found; give --format to say what the folder holds")
    if len(dataset.items) > MAX_OBJECTS:  # the masks and folders layouts: one object an image
        raise ICError(f"The dataset holds {len(dataset.items)} objects; a sweep takes at most {MAX_OBJECTS}. Split it.")
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
