"""ZIP files a stranger sends (a History import, a sweep's dataset), read under one set of rules.

Refused with a sentence before anything is read: not a ZIP, too many members, a ZIP bomb (more data than any
export or photo set, or a ratio no PNG or JPEG reaches), paths outside the archive, and members Python's
zipfile cannot read (encrypted ones, AES as 7-Zip and WinZip write it, Deflate64, other methods). Reading a
member turns every failure (a bad CRC, a truncated stream) into a sentence that names the member.
"""

from __future__ import annotations

import io
import lzma
import zipfile
import zlib

from ic.errors import ICError

MAX_BYTES = 512 * 1024 * 1024
MAX_MEMBER_BYTES = 128 * 1024 * 1024
MAX_RATIO = 200  # uncompressed / compressed; real PNG, JPEG and JSON stay far below
MAX_MEMBERS = 20_000
READABLE_METHODS = frozenset({zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA})
KNOWN_METHODS = {9: "Deflate64", 99: "AES encryption", 93: "Zstandard", 95: "XZ", 98: "PPMd", 6: "Implode"}
AGAIN = "make the ZIP again without a password and with ordinary compression (Deflate, as every system's "\
        "'Compress' does)"


def open_zip(data: bytes, not_a_zip: str, *, refuse_unreadable: bool = True) -> tuple[zipfile.ZipFile,
                                                                                      list[zipfile.ZipInfo]]:
    """The archive and its file members (folders left out), every member checked; `not_a_zip` is the sentence
    for bytes that are not a ZIP. With `refuse_unreadable` off, members zipfile cannot unpack are listed too,
    and `read_member` says why of each (a dataset skips them, one by one)."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError, EOFError):
        raise ICError(not_a_zip) from None
    if len(members) > MAX_MEMBERS:
        raise ICError(f"That ZIP holds {len(members):,} members; at most {MAX_MEMBERS:,} are read. Split it.")
    total = sum(m.file_size for m in members)
    compressed = sum(m.compress_size for m in members) or 1
    if total > MAX_BYTES or any(m.file_size > MAX_MEMBER_BYTES for m in members) or total / compressed > MAX_RATIO:
        raise ICError("That ZIP unpacks to far more data than a set of photos or an export (a ZIP bomb?); "
                      "it was not read.")
    files = []
    for member in members:
        name = member.filename
        parts = name.split("/")
        if name.startswith(("/", "\\")) or ".." in parts or "\\" in name or ":" in parts[0] or "\0" in name:
            raise ICError(f"The ZIP holds a path outside its folders ({name[:120]!r}); it was not read.")
        if member.is_dir():
            continue
        problem = unreadable(member)
        if problem and refuse_unreadable:
            raise ICError(f"The ZIP's member {name[:120]!r} {problem}; {AGAIN}. Nothing was read.")
        files.append(member)
    return archive, files


def unreadable(member: zipfile.ZipInfo) -> str | None:
    """Why zipfile cannot read `member` (a phrase), or None."""
    if member.flag_bits & 0x1:
        method = " with AES" if member.compress_type == 99 else ""
        return f"is encrypted{method} (it has a password)"
    if member.compress_type not in READABLE_METHODS:
        name = KNOWN_METHODS.get(member.compress_type, f"method {member.compress_type}")
        return f"is compressed with {name}, which this app cannot unpack"
    return None


def read_member(archive: zipfile.ZipFile, member: zipfile.ZipInfo) -> bytes:
    """A member's bytes, or ICError naming it (encrypted, an unknown method, or damaged: a bad CRC, a truncated
    or corrupt stream)."""
    problem = unreadable(member)
    if problem:
        raise ICError(f"The ZIP's member {member.filename[:120]!r} {problem}; {AGAIN}.")
    try:
        return archive.read(member)
    except (zipfile.BadZipFile, zlib.error, lzma.LZMAError, OSError, EOFError, ValueError, RuntimeError,
            NotImplementedError) as exc:
        raise ICError(f"The ZIP's member {member.filename[:120]!r} is damaged ({str(exc)[:160]}); "
                      "make the ZIP again from the original files.") from None
