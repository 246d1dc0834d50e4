"""History's ZIP format: a folder per experiment with its JSON and three PNG images.

Reading checks everything before anything is written: not a ZIP, a ZIP bomb, paths outside the archive,
members that cannot be unpacked (encrypted, AES, Deflate64) or are damaged, malformed JSON or dates, JSON that
is not an experiment as this app writes one (every field's type, every kept map's image and shape), images
larger than any experiment this app keeps or more pixels than an import may decode, and images that do not
decode are refused with a sentence. Images are decoded later, one at a time (`ArchivedExperiment.images`).
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime

from ic.errors import ICError
from ic.images import DETAIL_SIDES, decode_image, decode_mask, encode_png, image_size
from ic.zips import open_zip, read_member

MAX_IMPORT_PIXELS = 256_000_000  # decoded pixels of a whole import, checked from the images' headers
MAX_IMPORT_SIDE = max(DETAIL_SIDES)  # an experiment's images are its working copy: at most this a side
MAX_MAP_SIDE = 64
MAX_TEXT = 10_000
IMAGE_ROLES = ("original", "edited", "mask")
MAP_IMAGES = ("original", "edited")


def write_archive(experiments) -> bytes:
    """A ZIP of (folder, meta, images) triples: `folder/experiment.json` and `folder/<role>.png` each."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for folder, meta, images in experiments:
            archive.writestr(f"{folder}/experiment.json", json.dumps(meta, indent=2))
            for role in IMAGE_ROLES:
                archive.writestr(f"{folder}/{role}.png", encode_png(images[role]))
    return buffer.getvalue()


@dataclass
class ArchivedExperiment:
    """One experiment of an import ZIP, checked; its images are decoded when asked for, one experiment at a time."""

    folder: str
    meta: dict
    created_at: str
    _archive: zipfile.ZipFile
    _files: dict

    def images(self) -> dict:
        try:
            original = decode_image(read_member(self._archive, self._files["original.png"]))
            edited = decode_image(read_member(self._archive, self._files["edited.png"]))
            mask = decode_mask(read_member(self._archive, self._files["mask.png"]), original.shape[:2])
        except ICError as exc:
            raise ICError(f"An image in the ZIP's folder {self.folder!r} cannot be read ({exc})") from None
        if edited.shape != original.shape:
            raise ICError(f"The ZIP's {self.folder} images differ in size.")
        return {"original": original, "edited": edited, "mask": mask}


def _created_at(value, folder: str) -> str:
    """An ISO date, as UTC; a date in the future becomes now (it would otherwise never be pruned)."""
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        raise ICError(f"The ZIP's {folder}/experiment.json gives created_at {str(value)[:40]!r}, which is not a "
                      "date; import a ZIP exported by this app. Nothing was imported.") from None
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return min(moment.astimezone(UTC), datetime.now(UTC)).isoformat(timespec="seconds")


# --- the experiment's JSON, field by field ----------------------------------------------------------

class _Wrong(Exception):
    """A field of an experiment.json that is not what this app writes: where, and what it should be."""

    def __init__(self, where: str, should: str, value):
        shown = json.dumps(value)[:60] if not isinstance(value, (dict, list)) else type(value).__name__
        super().__init__(f"{where} should be {should}, not {shown}")


def _text(value, where: str, *, empty: bool = True) -> str:
    if not isinstance(value, str) or len(value) > MAX_TEXT or (not empty and not value.strip()):
        raise _Wrong(where, "a text" if empty else "a non-empty text", value)
    return value


def _index(value, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 1_000_000:
        raise _Wrong(where, "a class index (a whole number from 0)", value)
    return value


def _number(value, where: str, low: float = -math.inf, high: float = math.inf) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
            or not low <= value <= high:
        raise _Wrong(where, f"a number in [{low:g}, {high:g}]", value)
    return float(value)


def _list(value, where: str, *, least: int = 0, most: int = 10_000) -> list:
    if not isinstance(value, list) or not least <= len(value) <= most:
        raise _Wrong(where, f"a list of {least} to {most} entries", value)
    return value


def _object(value, where: str) -> dict:
    if not isinstance(value, dict):
        raise _Wrong(where, "an object", value)
    return value


def _top(value, where: str) -> list[dict]:
    rows = _list(_object(value, where).get("top"), f"{where}.top", least=1, most=1000)
    return [{"index": _index(_object(row, f"{where}.top[{i}]").get("index"), f"{where}.top[{i}].index"),
             "label": _text(row.get("label"), f"{where}.top[{i}].label"),
             "prob": _number(row.get("prob"), f"{where}.top[{i}].prob", 0, 1)} for i, row in enumerate(rows)]


def _change(row, where: str) -> dict:
    row = _object(row, where)
    checked = {"index": _index(row.get("index"), f"{where}.index"), "label": _text(row.get("label"), f"{where}.label"),
               "before": _number(row.get("before"), f"{where}.before", 0, 1),
               "after": _number(row.get("after"), f"{where}.after", 0, 1),
               "delta": _number(row.get("delta"), f"{where}.delta", -1, 1)}
    if "pinned" in row:
        checked["pinned"] = bool(row["pinned"])
    return checked


OPTIONAL_TEXTS = ("image", "weights_hash", "preprocess", "created_at")


def checked_summary(summary) -> dict:
    """The summary as the app writes it, every field's type checked; fields it does not know are left out."""
    summary = _object(summary, "summary")
    checked = {"model": _text(summary.get("model"), "summary.model", empty=False),
               "inpainter": _text(summary.get("inpainter"), "summary.inpainter", empty=False),
               "original": {"top": _top(summary.get("original"), "summary.original")},
               "edited": {"top": _top(summary.get("edited"), "summary.edited")},
               "changes": [_change(row, f"summary.changes[{i}]") for i, row in
                           enumerate(_list(summary.get("changes"), "summary.changes", least=1, most=2000))]}
    for key in OPTIONAL_TEXTS:
        if key in summary:
            checked[key] = _text(summary[key], f"summary.{key}")
    if "kind" in summary:
        if summary["kind"] not in ("removal", "background"):
            raise _Wrong("summary.kind", "'removal' or 'background'", summary["kind"])
        checked["kind"] = summary["kind"]
    if "seed" in summary:
        checked["seed"] = int(_number(summary["seed"], "summary.seed", 0, 2**63 - 1))
    if "top1_changed" in summary:
        checked["top1_changed"] = bool(summary["top1_changed"])
    if "removed_fraction" in summary:
        checked["removed_fraction"] = _number(summary["removed_fraction"], "summary.removed_fraction", 0, 1)
    if "timings_ms" in summary:
        timings = _object(summary["timings_ms"], "summary.timings_ms")
        checked["timings_ms"] = {_text(key, "summary.timings_ms key"): _number(value, f"summary.timings_ms.{key}", 0)
                                 for key, value in list(timings.items())[:20]}
    return checked


def checked_map(item, where: str) -> dict:
    """A kept map as the app writes it: an image the experiment has, a method, a class, a rectangular grid."""
    item = _object(item, where)
    if item.get("image") not in MAP_IMAGES:
        raise _Wrong(f"{where}.image", "'original' or 'edited' (an image the experiment holds)", item.get("image"))
    rows = _list(item.get("cells"), f"{where}.cells", least=1, most=MAX_MAP_SIDE)
    width = len(_list(rows[0], f"{where}.cells[0]", least=1, most=MAX_MAP_SIDE))
    cells = [[_number(value, f"{where}.cells[{r}][{c}]", -1, 1) for c, value in
              enumerate(_list(row, f"{where}.cells[{r}]", least=width, most=width))] for r, row in enumerate(rows)]
    details = _object(item.get("details", {}), f"{where}.details")
    json.dumps(details)  # plain JSON, as it was read
    return {"image": item["image"], "method": _text(item.get("method"), f"{where}.method", empty=False),
            "class_index": _index(item.get("class_index"), f"{where}.class_index"),
            "label": _text(item.get("label"), f"{where}.label"), "cells": cells, "details": details,
            "created_at": _text(item.get("created_at", ""), f"{where}.created_at")}


def _checked_meta(meta, folder: str) -> dict:
    """An experiment.json's contents, checked; ICError with the field and the folder otherwise."""
    if not isinstance(meta, dict) or not isinstance(meta.get("summary"), dict):
        raise ICError(f"The ZIP's {folder}/experiment.json is not an experiment; it was not imported.")
    try:
        checked = {"summary": checked_summary(meta["summary"]),
                   "image_name": _text(meta.get("image_name", meta["summary"].get("image", "image")), "image_name"),
                   "note": _text(meta.get("note", ""), "note"),
                   "starred": bool(meta.get("starred", False)),
                   "explanations": [checked_map(item, f"explanations[{i}]") for i, item in
                                    enumerate(_list(meta.get("explanations") or [], "explanations", most=100))]}
        for key in ("id", "group_id"):
            if meta.get(key) is not None:
                checked[key] = _text(meta[key], key)
    except _Wrong as wrong:
        raise ICError(f"The ZIP's {folder}/experiment.json is not an experiment as this app exports it ({wrong}); "
                      "import a ZIP exported from the History page. Nothing was imported.") from None
    return checked


def _image_pixels(archive, files: dict, folder: str) -> int:
    """The pixels of one experiment's three images, from their headers: each at most MAX_IMPORT_SIDE a side,
    all three the same size."""
    sizes, pixels = set(), 0
    for role in IMAGE_ROLES:
        try:
            width, height = image_size(read_member(archive, files[f"{role}.png"]), what=f"{role} image")
        except ICError as exc:
            raise ICError(f"An image in the ZIP's folder {folder!r} cannot be read ({exc}) "
                          "The ZIP was not imported.") from None
        if max(width, height) > MAX_IMPORT_SIDE:
            raise ICError(f"The ZIP's {folder}/{role}.png is {width}x{height} pixels; an experiment's images are "
                          f"at most {MAX_IMPORT_SIDE} a side (the copy the app edits), so this is not an export "
                          "of this app. Nothing was imported.")
        sizes.add((width, height))
        pixels += width * height
    if len(sizes) > 1:
        raise ICError(f"The ZIP's {folder} images differ in size; it was not imported.")
    return pixels


def read_archive(data: bytes) -> list[ArchivedExperiment]:
    """Check an export ZIP before anything is written; refuse anything unsafe with a sentence.

    Images are checked from their headers here (each at most MAX_IMPORT_SIDE a side, the three of a folder the
    same size, the decoded pixels of the whole import within MAX_IMPORT_PIXELS) and decoded later, one
    experiment at a time."""
    archive, members = open_zip(data, "That file is not a ZIP; import a ZIP exported from the History page.")
    folders: dict[str, dict] = {}
    for member in members:
        parts = member.filename.split("/")
        if len(parts) != 2:
            raise ICError(f"The ZIP holds a path outside its folders ({member.filename[:120]!r}); it was not imported.")
        folders.setdefault(parts[0], {})[parts[1]] = member
    if not folders:
        raise ICError("The ZIP holds no experiments; import a ZIP exported from the History page.")
    experiments, pixels = [], 0
    for folder, files in folders.items():
        if set(files) != {"experiment.json", "original.png", "edited.png", "mask.png"}:
            raise ICError(f"The ZIP's folder {folder!r} lacks experiment.json or an image; "
                          "import a ZIP exported from the History page.")
        try:
            raw = read_member(archive, files["experiment.json"])
            meta = json.loads(raw)
        except (ValueError, UnicodeDecodeError, RecursionError) as exc:
            raise ICError(f"The ZIP's {folder}/experiment.json is not valid JSON ({str(exc)[:120]}); "
                          "it was not imported.") from None
        except ICError as exc:
            raise ICError(f"{exc} Nothing was imported.") from None
        checked = _checked_meta(meta, folder)
        if not checked.get("id"):  # one derived from the experiment itself: importing the ZIP again finds it
            checked["id"] = hashlib.sha256(folder.encode() + b"\n" + raw).hexdigest()[:32]
        pixels += _image_pixels(archive, files, folder)
        if pixels > MAX_IMPORT_PIXELS:
            raise ICError(f"That ZIP's images hold more than {MAX_IMPORT_PIXELS // 1_000_000} megapixels in all; "
                          "import fewer experiments at a time (export them in smaller groups). Nothing was imported.")
        experiments.append(ArchivedExperiment(folder, checked, _created_at(meta.get("created_at"), folder),
                                              archive, files))
    return experiments
