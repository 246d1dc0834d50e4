"""A sweep's input: images with object masks, from a folder or a ZIP, and optional expected labels.

Layouts: `NAME_mask.png` beside `NAME.jpg`, or `masks/NAME.png`; labels in a CSV with columns `image,label`
(the image's file name, or its stem). Every file that cannot take part is listed with a reason and skipped:
one bad file never stops a sweep. Images travel as bytes (a Ray cluster has none of the driver's files).
"""

from __future__ import annotations

import csv
import hashlib
import io
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from ic.errors import ICError
from ic.history.archive import MAX_IMPORT_BYTES, MAX_IMPORT_MEMBER_BYTES, MAX_IMPORT_RATIO
from ic.images import ACCEPTED_EXTENSIONS, MAX_PIXELS, check_mask, decode_image, decode_mask

MASK_SUFFIX = "_mask"
MASK_FOLDER = "masks"
LABEL_FILES = ("labels.csv",)
DOCUMENTS = (".md",)  # a dataset's README or SOURCES: not listed as skipped
MAX_IMAGES = 5000  # a sweep larger than this is a job for a cluster and a folder, not one upload


@dataclass(frozen=True)
class Item:
    """One image of the dataset with its mask, ready to send anywhere."""
    name: str  # the image's path inside the dataset
    sha: str  # SHA-256 of the image's bytes: the key a resumed sweep matches rows on
    image: bytes
    mask: bytes
    label: str | None = None


@dataclass
class Dataset:
    items: list[Item] = field(default_factory=list)
    skipped: list[dict] = field(default_factory=list)  # {"file", "reason"}

    def skip(self, file: str, reason: str) -> None:
        self.skipped.append({"file": file, "reason": reason})


def _is_image(path: PurePosixPath) -> bool:
    return path.suffix.lower().lstrip(".") in ACCEPTED_EXTENSIONS


def _labels(text: str, source: str, dataset: Dataset) -> dict[str, str]:
    labels = {}
    rows = csv.reader(io.StringIO(text))
    for number, row in enumerate(rows, 1):
        if not row or (number == 1 and [cell.strip().lower() for cell in row[:2]] == ["image", "label"]):
            continue
        if len(row) < 2 or not row[0].strip() or not row[1].strip():
            dataset.skip(f"{source}:{number}", "a labels row needs an image and a label (image,label); row ignored")
            continue
        labels[row[0].strip()] = row[1].strip()
    return labels


def _collect(files: dict[str, bytes | None], read, labels_text: str | None, labels_name: str) -> Dataset:
    """`files` maps each path in the dataset to nothing yet; `read(path)` gives its bytes."""
    dataset = Dataset()
    labels = _labels(labels_text, labels_name, dataset) if labels_text is not None else {}
    paths = sorted(PurePosixPath(name) for name in files)
    masks = {}
    for path in paths:
        if not _is_image(path):
            continue
        if path.parent.name == MASK_FOLDER:
            masks[(str(path.parent.parent), path.stem)] = path
        elif path.stem.endswith(MASK_SUFFIX):
            masks[(str(path.parent), path.stem[: -len(MASK_SUFFIX)])] = path
    images = [p for p in paths if _is_image(p) and p not in masks.values()]
    used_masks = set()
    for path in paths:
        if path not in images and path not in masks.values() and path.name not in LABEL_FILES \
                and not path.name.startswith(".") and path.suffix.lower() not in DOCUMENTS:
            dataset.skip(str(path), "not an image we read (" + ", ".join(ACCEPTED_EXTENSIONS) + "); ignored")
    if len(images) > MAX_IMAGES:
        raise ICError(f"The dataset holds {len(images)} images; a sweep takes at most {MAX_IMAGES}. Split it, "
                      "or run the command line on a Ray cluster in parts.")
    for path in images:
        mask_path = masks.get((str(path.parent), path.stem))
        if mask_path is None:
            dataset.skip(str(path), f"no mask: add {path.stem}{MASK_SUFFIX}.png beside it or {MASK_FOLDER}/{path.stem}.png")
            continue
        used_masks.add(mask_path)
        image_bytes, mask_bytes = read(str(path)), read(str(mask_path))
        try:
            image = decode_image(image_bytes, what=path.name)
        except ICError as exc:
            dataset.skip(str(path), str(exc))
            continue
        try:
            check_mask(decode_mask(mask_bytes, image.shape[:2]))
        except ICError as exc:
            dataset.skip(str(mask_path), str(exc))
            continue
        label = labels.get(path.name, labels.get(path.stem))
        dataset.items.append(Item(str(path), hashlib.sha256(image_bytes).hexdigest(), image_bytes, mask_bytes, label))
    for mask_path in sorted(set(masks.values()) - used_masks):
        dataset.skip(str(mask_path), "a mask without its image; ignored")
    return dataset


def load_folder(folder: str | Path, labels: str | Path | None = None) -> Dataset:
    """A folder of images and masks; `labels` (or a labels.csv in the folder) gives expected labels."""
    root = Path(folder)
    if not root.is_dir():
        raise ICError(f"{root} is not a folder; give a folder of images with NAME_mask.png masks, or a ZIP of one.")
    files = {p.relative_to(root).as_posix(): None for p in root.rglob("*") if p.is_file()}
    labels_path = Path(labels) if labels else (root / LABEL_FILES[0] if (root / LABEL_FILES[0]).is_file() else None)
    text = labels_path.read_text(encoding="utf-8-sig", errors="replace") if labels_path else None
    return _collect(files, lambda name: (root / name).read_bytes(), text, labels_path.name if labels_path else "")


def load_zip(data: bytes, labels: bytes | None = None) -> Dataset:
    """A ZIP of such a folder, under the same limits as History's imports (no bombs, no paths outside it)."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise ICError("That file is not a ZIP; upload a ZIP of images with NAME_mask.png masks beside them.") from None
    members = [m for m in archive.infolist() if not m.is_dir()]
    total = sum(m.file_size for m in members)
    compressed = sum(m.compress_size for m in members) or 1
    if total > MAX_IMPORT_BYTES or any(m.file_size > MAX_IMPORT_MEMBER_BYTES for m in members) \
            or total / compressed > MAX_IMPORT_RATIO:
        raise ICError("That ZIP unpacks to far more data than a set of photos (a ZIP bomb?); it was not read.")
    files = {}
    for member in members:
        parts = member.filename.split("/")
        if member.filename.startswith(("/", "\\")) or ".." in parts or "\\" in member.filename or ":" in parts[0]:
            raise ICError(f"The ZIP holds a path outside its folder ({member.filename!r}); it was not read.")
        if "__MACOSX" in parts:
            continue
        files[member.filename] = None
    text = None
    if labels is not None:
        text = labels.decode("utf-8-sig", errors="replace")
    else:
        found = [name for name in files if PurePosixPath(name).name in LABEL_FILES]
        if found:
            text = archive.read(sorted(found, key=len)[0]).decode("utf-8-sig", errors="replace")
    dataset = _collect(files, archive.read, text, LABEL_FILES[0])
    if not dataset.items and not dataset.skipped:
        raise ICError("The ZIP holds no images; put images with NAME_mask.png masks in it.")
    return dataset


def load(source: str | Path, labels: str | Path | None = None) -> Dataset:
    path = Path(source)
    if path.is_file() and path.suffix.lower() == ".zip":
        return load_zip(path.read_bytes(), Path(labels).read_bytes() if labels else None)
    return load_folder(path, labels)


__all__ = ["Dataset", "Item", "MAX_PIXELS", "load", "load_folder", "load_zip"]
