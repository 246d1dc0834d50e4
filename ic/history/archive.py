"""History's ZIP format: a folder per experiment with its JSON and three PNG images.

Reading checks everything before anything is written: not a ZIP, a ZIP bomb, paths outside the
archive, malformed JSON and images that do not decode are refused with a sentence.
"""

from __future__ import annotations

import io
import json
import zipfile

from ic.errors import ICError
from ic.images import decode_image, decode_mask, encode_png

MAX_IMPORT_BYTES = 512 * 1024 * 1024
MAX_IMPORT_MEMBER_BYTES = 128 * 1024 * 1024
MAX_IMPORT_RATIO = 200  # uncompressed / compressed; real PNG and JSON stay far below
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


def read_archive(data: bytes) -> dict[str, tuple[dict, dict]]:
    """Validate an export ZIP before anything is written; refuse anything unsafe with a sentence."""
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
    experiments = {}
    for folder, files in folders.items():
        if set(files) != {"experiment.json", "original.png", "edited.png", "mask.png"}:
            raise ICError(f"The ZIP's folder {folder!r} lacks experiment.json or an image; "
                          "import a ZIP exported from the History page.")
        try:
            meta = json.loads(archive.read(files["experiment.json"]))
        except (ValueError, UnicodeDecodeError) as exc:
            raise ICError(f"The ZIP's {folder}/experiment.json is not valid JSON ({exc}); it was not imported.") from None
        if not isinstance(meta, dict) or not isinstance(meta.get("summary"), dict):
            raise ICError(f"The ZIP's {folder}/experiment.json is not an experiment; it was not imported.")
        try:
            original = decode_image(archive.read(files["original.png"]))
            edited = decode_image(archive.read(files["edited.png"]))
            mask = decode_mask(archive.read(files["mask.png"]), original.shape[:2])
        except ICError as exc:
            raise ICError(f"An image in the ZIP's folder {folder!r} cannot be read ({exc}) "
                          "The ZIP was not imported.") from None
        if edited.shape != original.shape:
            raise ICError(f"The ZIP's {folder} images differ in size; it was not imported.")
        experiments[folder] = (meta, {"original": original, "edited": edited, "mask": mask})
    return experiments
