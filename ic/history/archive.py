"""History's ZIP format: a folder per experiment with its JSON and three PNG images.

Reading checks everything before anything is written: not a ZIP, a ZIP bomb, paths outside the
archive, damaged members, malformed JSON or dates, more pixels than an import may decode, and images
that do not decode are refused with a sentence.
"""

from __future__ import annotations

import io
import json
import zipfile
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime

from ic.errors import ICError
from ic.images import decode_image, decode_mask, encode_png, image_size

MAX_IMPORT_BYTES = 512 * 1024 * 1024
MAX_IMPORT_MEMBER_BYTES = 128 * 1024 * 1024
MAX_IMPORT_RATIO = 200  # uncompressed / compressed; real PNG and JSON stay far below
MAX_IMPORT_PIXELS = 256_000_000  # decoded pixels of a whole import, checked from the images' headers
IMAGE_ROLES = ("original", "edited", "mask")


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
            original = decode_image(_member(self._archive, self._files["original.png"], self.folder))
            edited = decode_image(_member(self._archive, self._files["edited.png"], self.folder))
            mask = decode_mask(_member(self._archive, self._files["mask.png"], self.folder), original.shape[:2])
        except ICError as exc:
            raise ICError(f"An image in the ZIP's folder {self.folder!r} cannot be read ({exc}) "
                          "The ZIP was not imported.") from None
        if edited.shape != original.shape:
            raise ICError(f"The ZIP's {self.folder} images differ in size; it was not imported.")
        return {"original": original, "edited": edited, "mask": mask}


def _member(archive: zipfile.ZipFile, member: zipfile.ZipInfo, folder: str) -> bytes:
    try:
        return archive.read(member)
    except (zipfile.BadZipFile, zlib.error, OSError, EOFError, ValueError) as exc:
        raise ICError(f"The ZIP's {member.filename} is damaged ({exc}); export the experiments again and "
                      "import the new ZIP. Nothing was imported.") from None


def _created_at(value, folder: str) -> str:
    """An ISO date, as UTC; a date in the future becomes now (it would otherwise never be pruned)."""
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        raise ICError(f"The ZIP's {folder}/experiment.json gives created_at {str(value)[:40]!r}, which is not a "
                      "date; import a ZIP exported by this app. Nothing was imported.") from None
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return min(moment.astimezone(UTC), datetime.now(UTC)).isoformat(timespec="seconds")


def read_archive(data: bytes) -> list[ArchivedExperiment]:
    """Check an export ZIP before anything is written; refuse anything unsafe with a sentence.

    Images are checked from their headers here (the decoded pixels of the whole import stay within
    MAX_IMPORT_PIXELS) and decoded later, one experiment at a time."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise ICError("That file is not a ZIP; import a ZIP exported from the History page.") from None
    members = archive.infolist()
    total = sum(member.file_size for member in members)
    compressed = sum(member.compress_size for member in members) or 1
    if total > MAX_IMPORT_BYTES or any(m.file_size > MAX_IMPORT_MEMBER_BYTES for m in members) \
            or total / compressed > MAX_IMPORT_RATIO:
        raise ICError("That ZIP unpacks to far more data than an export holds (a ZIP bomb?); it was not imported.")
    folders: dict[str, dict] = {}
    for member in members:
        if member.is_dir():
            continue
        parts = member.filename.split("/")
        if member.filename.startswith(("/", "\\")) or ".." in parts or "\\" in member.filename or ":" in parts[0] \
                or len(parts) != 2:
            raise ICError(f"The ZIP holds a path outside its folders ({member.filename!r}); it was not imported.")
        folders.setdefault(parts[0], {})[parts[1]] = member
    if not folders:
        raise ICError("The ZIP holds no experiments; import a ZIP exported from the History page.")
    experiments, pixels = [], 0
    for folder, files in folders.items():
        if set(files) != {"experiment.json", "original.png", "edited.png", "mask.png"}:
            raise ICError(f"The ZIP's folder {folder!r} lacks experiment.json or an image; "
                          "import a ZIP exported from the History page.")
        try:
            meta = json.loads(_member(archive, files["experiment.json"], folder))
        except (ValueError, UnicodeDecodeError) as exc:
            raise ICError(f"The ZIP's {folder}/experiment.json is not valid JSON ({exc}); it was not imported.") from None
        if not isinstance(meta, dict) or not isinstance(meta.get("summary"), dict):
            raise ICError(f"The ZIP's {folder}/experiment.json is not an experiment; it was not imported.")
        for role in IMAGE_ROLES:
            try:
                width, height = image_size(_member(archive, files[f"{role}.png"], folder), what=f"{role} image")
            except ICError as exc:
                raise ICError(f"An image in the ZIP's folder {folder!r} cannot be read ({exc}) "
                              "The ZIP was not imported.") from None
            pixels += width * height
        if pixels > MAX_IMPORT_PIXELS:
            raise ICError(f"That ZIP's images hold more than {MAX_IMPORT_PIXELS // 1_000_000} megapixels in all; "
                          "import fewer experiments at a time (export them in smaller groups). Nothing was imported.")
        experiments.append(ArchivedExperiment(folder, meta, _created_at(meta.get("created_at"), folder), archive, files))
    return experiments
