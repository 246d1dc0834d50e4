"""A sweep's input: images with object masks, from a folder or a ZIP, and optional expected labels.

Formats (ic/sweeps/formats.py reads the others, chosen by what the folder holds or by name):
- masks: `NAME_mask.png` beside `NAME.jpg`, or `masks/NAME.png`; labels in a CSV with columns `image,label`
  (the image's file name, or its stem);
- folders: class folders, `CLASS/NAME.jpg` (as torchvision's ImageFolder reads them), the folder's name the
  expected label, each image with its mask as above or its boxes in a box CSV;
- coco, voc, boxes: one item per annotated object (formats.py).
Every file or entry that cannot take part is listed with a reason and skipped: one bad entry never stops a
sweep. Images travel as bytes (a Ray cluster has none of the driver's files).
"""

from __future__ import annotations

import csv
import hashlib
import io
import stat
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath

from ic.errors import ICError
from ic.images import ACCEPTED_EXTENSIONS, MAX_PIXELS, check_mask, decode_image, decode_mask
from ic.zips import open_zip, read_member

MASK_SUFFIX = "_mask"
MASK_FOLDER = "masks"
LABEL_FILES = ("labels.csv",)
DOCUMENTS = (".md",)  # a dataset's README or SOURCES: not listed as skipped
MAX_IMAGES = 5000  # a sweep larger than this is a job for a cluster and a folder, not one upload


MASK_FROM = ("mask", "polygon", "rle", "segmentation", "box", "grabcut")  # how an item's mask was made


@dataclass(frozen=True)
class Item:
    """One object of the dataset (an image with one mask), ready to send anywhere."""
    name: str  # the image's path inside the dataset
    sha: str  # SHA-256 of the image's bytes: with `object`, the key a resumed sweep matches rows on
    image: bytes
    mask: bytes | None  # a PNG of the image's size; None when `box` is made into a mask by GrabCut at sweep time
    label: str | None = None  # the expected label (a class name or a WordNet id), or None
    category: str | None = None  # the annotation's category (COCO, VOC, a box CSV's label), or the folder's class
    object: str = ""  # which object of the image ("" where an image has one mask)
    box: tuple[float, float, float, float] | None = None  # left, top, right, bottom as shares of the image
    mask_from: str = "mask"  # one of MASK_FROM
    crowd: bool = False  # COCO's iscrowd: one region over several objects (CVAT and Datumaro mark every mask so)

    @property
    def uid(self) -> tuple[str, str]:
        return self.sha, self.object


@dataclass
class Dataset:
    items: list[Item] = field(default_factory=list)
    skipped: list[dict] = field(default_factory=list)  # {"file", "reason"}
    format: str = "masks"

    def skip(self, file: str, reason: str) -> None:
        self.skipped.append({"file": file, "reason": reason})


def _is_image(path: PurePosixPath) -> bool:
    return path.suffix.lower().lstrip(".") in ACCEPTED_EXTENSIONS


MAX_LABELS_BYTES = 16 * 1024 * 1024
MAX_LABEL_FIELD = 1000  # characters of an image name or a label in labels.csv


def _labels(text: str, source: str, dataset: Dataset) -> dict[str, str]:
    labels = {}
    rows = csv.reader(io.StringIO(text))
    number = 0
    while True:
        number += 1
        try:
            row = next(rows)
        except StopIteration:
            break
        except csv.Error as exc:  # a field over csv's 131,072 characters, a NUL: that row, not the sweep
            dataset.skip(f"{source}:{number}", f"not a CSV row ({exc}); row ignored")
            continue
        if not row or (number == 1 and [cell.strip().lower() for cell in row[:2]] == ["image", "label"]):
            continue
        if len(row) < 2 or not row[0].strip() or not row[1].strip():
            dataset.skip(f"{source}:{number}", "a labels row needs an image and a label (image,label); row ignored")
            continue
        if max(len(row[0]), len(row[1])) > MAX_LABEL_FIELD:
            dataset.skip(f"{source}:{number}", f"an image name or label over {MAX_LABEL_FIELD} characters; row ignored")
            continue
        labels[row[0].strip()] = row[1].strip()
    return labels


def _collect(files: dict[str, str | None], read, labels_text: str | None, labels_name: str,
             class_folders: bool = False) -> Dataset:
    """`files` maps each path in the dataset to None, or to why it cannot be read; `read(path)` gives its
    bytes or raises ICError. Linear in the number of files: the image limit is checked before anything is
    read. With `class_folders`, an image's top folder is its expected label and category."""
    dataset = Dataset(format="folders" if class_folders else "masks")
    labels = _labels(labels_text, labels_name, dataset) if labels_text is not None else {}
    paths = sorted(PurePosixPath(name) for name in files)
    masks = _masks(paths)
    mask_paths = set(masks.values())
    images = [p for p in paths if _is_image(p) and p not in mask_paths]
    if len(images) > MAX_IMAGES:
        raise ICError(f"The dataset holds {len(images)} images; a sweep takes at most {MAX_IMAGES}. Split it, "
                      "or run the command line on a Ray cluster in parts.")
    image_set = set(images)
    for path in paths:
        if path not in image_set and path not in mask_paths and path.name not in LABEL_FILES \
                and not path.name.startswith(".") and path.suffix.lower() not in DOCUMENTS:
            dataset.skip(str(path), files[str(path)] or
                         "not an image we read (" + ", ".join(ACCEPTED_EXTENSIONS) + "); ignored")
    used_masks, seen = set(), {}
    for path in images:
        mask_path = masks.get((str(path.parent), path.stem))
        if mask_path is None:
            dataset.skip(str(path), f"no mask: add {path.stem}{MASK_SUFFIX}.png beside it or {MASK_FOLDER}/{path.stem}.png")
            continue
        used_masks.add(mask_path)
        item = _item(path, mask_path, files, read, seen, dataset)
        if item is not None:
            seen[item.sha] = str(path)
            label = path.parts[0] if class_folders and len(path.parts) > 1 else labels.get(path.name, labels.get(path.stem))
            dataset.items.append(replace(item, label=label, category=label))
    for mask_path in sorted(mask_paths - used_masks):
        dataset.skip(str(mask_path), "a mask without its image; ignored")
    return dataset


def _masks(paths: list[PurePosixPath]) -> dict[tuple[str, str], PurePosixPath]:
    """(folder, image stem) -> its mask: NAME_mask.png beside it, or masks/NAME.png."""
    masks = {}
    for path in paths:
        if not _is_image(path):
            continue
        if path.parent.name == MASK_FOLDER:
            masks[(str(path.parent.parent), path.stem)] = path
        elif path.stem.endswith(MASK_SUFFIX):
            masks[(str(path.parent), path.stem[: -len(MASK_SUFFIX)])] = path
    return masks


def _item(path, mask_path, files: dict, read, seen: dict, dataset: Dataset) -> Item | None:
    """One photo with its mask, read and checked; None (with the reason skipped in `dataset`) when it cannot
    be swept."""
    problem = files[str(path)] or files[str(mask_path)]
    if problem:
        dataset.skip(str(path), problem)
        return None
    try:
        image_bytes, mask_bytes = read(str(path)), read(str(mask_path))
    except ICError as exc:
        dataset.skip(str(path), str(exc))
        return None
    sha = hashlib.sha256(image_bytes).hexdigest()
    if sha in seen:  # the same photo twice: one set of rows (a resumed sweep matches rows by the photo)
        dataset.skip(str(path), f"the same photo as {seen[sha]}; swept once")
        return None
    try:
        image = decode_image(image_bytes, what=path.name)
    except ICError as exc:
        dataset.skip(str(path), str(exc))
        return None
    try:
        check_mask(decode_mask(mask_bytes, image.shape[:2]))
    except ICError as exc:
        dataset.skip(str(mask_path), str(exc))
        return None
    return Item(str(path), sha, image_bytes, mask_bytes, None)


def read_labels(path: str | Path) -> str:
    """A labels file's text: a regular file of at most MAX_LABELS_BYTES, or ICError saying what to give."""
    path = Path(path)
    try:
        info = path.stat()
    except (OSError, ValueError) as exc:
        raise ICError(f"The labels file {str(path)[:200]} cannot be read ({exc}); give a CSV file with columns "
                      "image,label.") from None
    if not stat.S_ISREG(info.st_mode):
        kind = "a folder" if stat.S_ISDIR(info.st_mode) else "not a regular file (a device or a pipe)"
        raise ICError(f"The labels file {str(path)[:200]} is {kind}; give a CSV file with columns image,label.")
    if info.st_size > MAX_LABELS_BYTES:
        raise ICError(f"The labels file {str(path)[:200]} holds {info.st_size / 1e6:.0f} MB; a labels CSV of "
                      f"at most {MAX_LABELS_BYTES // 2**20} MB is read.")
    try:
        return path.read_bytes().decode("utf-8-sig", errors="replace")
    except OSError as exc:
        raise ICError(f"The labels file {str(path)[:200]} cannot be read ({exc}).") from None


def folder_files(folder: str | Path, *, within: Path | None = None) -> tuple[dict[str, str | None], Callable]:
    """A folder's files ({path: None, or why it cannot be read}) and a reader of their bytes. A file that is a
    link leading outside `within` (by default the folder) is listed with its reason, never read."""
    root = Path(folder)
    if not root.is_dir():
        raise ICError(f"{str(root)[:200]} is not a folder; give a folder (or a ZIP) of images with NAME_mask.png "
                      "masks, class folders, COCO or Pascal VOC annotations, or a box CSV.")
    inside = (within or root).resolve()
    files: dict[str, str | None] = {}
    for path in root.rglob("*"):
        if path.is_dir():
            continue
        name = path.relative_to(root).as_posix()
        try:
            real = path.resolve(strict=True)
        except (OSError, RuntimeError):
            files[name] = "a link that leads nowhere; ignored"
            continue
        if not real.is_relative_to(inside):
            files[name] = "a link to a file outside the dataset's folder; ignored"
        elif not real.is_file():
            files[name] = "not a regular file; ignored"
        else:
            files[name] = None
    return files, lambda name: (root / name).read_bytes()


def zip_files(data: bytes) -> tuple[dict[str, str | None], Callable]:
    """A ZIP's members as `folder_files` lists a folder's, under the same limits as History's imports (no
    bombs, no paths outside it); a member that cannot be unpacked (encrypted, AES, Deflate64) or is damaged
    is listed and skipped with its reason when read."""
    archive, members = open_zip(data, "That file is not a ZIP; upload a ZIP of images with NAME_mask.png masks "
                                      "beside them, class folders, COCO or VOC annotations, or a box CSV.",
                                refuse_unreadable=False)
    by_name = {member.filename: member for member in members if "__MACOSX" not in member.filename.split("/")}
    return {name: None for name in by_name}, lambda name: read_member(archive, by_name[name])


def labels_file(files: dict[str, str | None], read, given: bytes | str | None) -> tuple[str | None, str]:
    """The expected labels' text and its name: `given` (a file's text or bytes), else the dataset's own
    labels.csv (the shallowest one), else None."""
    if given is not None:
        return (given.decode("utf-8-sig", errors="replace") if isinstance(given, bytes) else given), LABEL_FILES[0]
    found = [name for name, problem in files.items() if PurePosixPath(name).name in LABEL_FILES and problem is None]
    if not found:
        return None, ""
    name = sorted(found, key=len)[0]
    return read(name).decode("utf-8-sig", errors="replace"), name


__all__ = ["Dataset", "Item", "MASK_FROM", "MAX_PIXELS", "folder_files", "labels_file", "read_labels", "zip_files"]
