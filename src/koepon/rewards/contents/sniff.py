"""A file's type from its bytes, never from its name (pure: no I/O).

``sniff`` reads the magic numbers at the start; ``claimed_mismatch`` compares what the client
claimed (its Content-Type or file extension) with that; ``polyglot_reason`` says why bytes that
could be read as a second type (or that hide a document, archive or script) are refused.
"""

from __future__ import annotations

from dataclasses import dataclass

# Enough bytes to decide every supported type.
HEAD_BYTES = 64
# Readers look for some headers anywhere near the start (a PDF's within its first 1024 bytes,
# browsers sniff HTML in the first 512): a file whose start holds one is two types at once.
NEAR_START = 1024


@dataclass(frozen=True)
class FileType:
    kind: str  # image | audio | video | pdf
    mime_type: str
    extension: str


PNG = FileType("image", "image/png", "png")
JPEG = FileType("image", "image/jpeg", "jpg")
WEBP = FileType("image", "image/webp", "webp")
MP3 = FileType("audio", "audio/mpeg", "mp3")
WAV = FileType("audio", "audio/wav", "wav")
OGG = FileType("audio", "audio/ogg", "ogg")
M4A = FileType("audio", "audio/mp4", "m4a")
MP4 = FileType("video", "video/mp4", "mp4")
WEBM = FileType("video", "video/webm", "webm")
PDF = FileType("pdf", "application/pdf", "pdf")

TYPES = (PNG, JPEG, WEBP, MP3, WAV, OGG, M4A, MP4, WEBM, PDF)
BY_MIME = {t.mime_type: t for t in TYPES}

# What a client may claim for each type (Content-Type aliases and file extensions).
MIME_ALIASES: dict[str, FileType] = {
    **BY_MIME,
    "image/jpg": JPEG,
    "image/pjpeg": JPEG,
    "audio/mp3": MP3,
    "audio/x-mp3": MP3,
    "audio/mpeg3": MP3,
    "audio/x-wav": WAV,
    "audio/wave": WAV,
    "audio/vnd.wave": WAV,
    "audio/x-pn-wav": WAV,
    "application/ogg": OGG,
    "audio/vorbis": OGG,
    "audio/opus": OGG,
    "audio/x-m4a": M4A,
    "audio/m4a": M4A,
    "audio/aac": M4A,
    "application/x-pdf": PDF,
}
# Claims that say nothing about the type.
NEUTRAL_MIME = frozenset({"", "application/octet-stream", "binary/octet-stream"})
EXTENSIONS: dict[str, frozenset[FileType]] = {
    "png": frozenset({PNG}),
    "jpg": frozenset({JPEG}),
    "jpeg": frozenset({JPEG}),
    "jpe": frozenset({JPEG}),
    "webp": frozenset({WEBP}),
    "mp3": frozenset({MP3}),
    "wav": frozenset({WAV}),
    "wave": frozenset({WAV}),
    "ogg": frozenset({OGG}),
    "oga": frozenset({OGG}),
    "opus": frozenset({OGG}),
    "m4a": frozenset({M4A}),
    "mp4": frozenset({MP4, M4A}),
    "m4v": frozenset({MP4}),
    "webm": frozenset({WEBM}),
    "pdf": frozenset({PDF}),
}

AUDIO_BRANDS = frozenset({b"M4A ", b"M4B ", b"M4P "})
VIDEO_BRANDS = frozenset(
    {
        b"isom", b"iso2", b"iso3", b"iso4", b"iso5", b"iso6", b"mp41", b"mp42", b"avc1",
        b"dash", b"M4V ", b"MSNV", b"NDAS", b"mmp4", b"f4v ",
    }
)  # fmt: skip


def _mp3_frame(head: bytes) -> bool:
    """An MPEG audio frame header: 11 sync bits, a real version, layer, bitrate and rate."""
    if len(head) < 4 or head[0] != 0xFF or head[1] & 0xE0 != 0xE0:
        return False
    version = (head[1] >> 3) & 0b11
    layer = (head[1] >> 1) & 0b11
    bitrate = head[2] >> 4
    rate = (head[2] >> 2) & 0b11
    return version != 0b01 and layer != 0b00 and bitrate not in (0b0000, 0b1111) and rate != 0b11


def _candidates(head: bytes) -> list[FileType]:
    """Every type whose signature the start of the file carries."""
    found: list[FileType] = []
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        found.append(PNG)
    if head.startswith(b"\xff\xd8\xff"):
        found.append(JPEG)
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        found.append(WEBP)
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        found.append(WAV)
    if head.startswith(b"ID3") or _mp3_frame(head):
        found.append(MP3)
    if head.startswith(b"OggS"):
        found.append(OGG)
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in AUDIO_BRANDS:
            found.append(M4A)
        elif brand in VIDEO_BRANDS:
            found.append(MP4)
    if head.startswith(b"\x1a\x45\xdf\xa3") and b"\x42\x82\x84webm" in head[:HEAD_BYTES]:
        found.append(WEBM)
    if head.startswith(b"%PDF-"):
        found.append(PDF)
    return found


class Ambiguous(Exception):
    """The start of the file carries the signatures of two types."""


def sniff(head: bytes) -> FileType | None:
    """The type the first bytes say (None: not a supported type). ``Ambiguous`` if two."""
    found = _candidates(head[:HEAD_BYTES])
    if len(found) > 1:
        raise Ambiguous(", ".join(t.mime_type for t in found))
    return found[0] if found else None


def claimed_mismatch(
    actual: FileType, content_type: str | None, filename: str | None
) -> str | None:
    """Why the client's claim disagrees with the bytes, or None when it agrees (or says nothing)."""
    media = (content_type or "").split(";", 1)[0].strip().lower()
    if media not in NEUTRAL_MIME:
        claimed = MIME_ALIASES.get(media)
        if claimed is None or claimed.mime_type != actual.mime_type:
            return f"The file was sent as {media!r} but its bytes are {actual.mime_type}"
    name = (filename or "").strip()
    if "." in name:
        extension = name.rsplit(".", 1)[1].lower()
        if actual not in EXTENSIONS.get(extension, frozenset()):
            return f"The file is named .{extension} but its bytes are {actual.mime_type}"
    return None


# Markers of another format hidden in a file: a document, an archive, markup or a script.
# (Not ``<?xml``: photos carry XMP metadata packets, which re-encoding removes anyway.)
_FOREIGN_NEAR_START = (b"%pdf-", b"<html", b"<!doctype", b"<script", b"<?php", b"<svg")
_FOREIGN_ANYWHERE = (b"%pdf-", b"<script", b"<html", b"<?php", b"<!doctype html")
_ZIP_LOCAL = b"PK\x03\x04"
_ZIP_DIRECTORY = b"PK\x01\x02"
_ZIP_END = b"PK\x05\x06"


def _hidden_zip(data: bytes) -> bool:
    """A ZIP needs its local headers and its central directory: both present means an archive."""
    return _ZIP_LOCAL in data and (_ZIP_DIRECTORY in data or _ZIP_END in data)


def _png_end(data: bytes) -> int | None:
    """Where a PNG's IEND chunk ends, walking the chunks (None: malformed)."""
    offset = 8
    while offset + 12 <= len(data):
        length = int.from_bytes(data[offset : offset + 4], "big")
        kind = data[offset + 4 : offset + 8]
        offset += 12 + length
        if kind == b"IEND":
            return offset
    return None


def _jpeg_end(data: bytes) -> int | None:
    """Where a JPEG's EOI marker ends, walking the segments and scans (None: malformed)."""
    offset = 2
    size = len(data)
    while offset + 4 <= size:
        if data[offset] != 0xFF:
            return None
        marker = data[offset + 1]
        if marker == 0xFF:  # fill byte
            offset += 1
            continue
        if marker == 0xD9:
            return offset + 2
        if 0xD0 <= marker <= 0xD7 or marker == 0x01:
            offset += 2
            continue
        length = int.from_bytes(data[offset + 2 : offset + 4], "big")
        offset += 2 + length
        if marker == 0xDA:  # a scan: entropy-coded data up to the next real marker
            while offset + 1 < size:
                if data[offset] == 0xFF:
                    following = data[offset + 1]
                    if following != 0x00 and not 0xD0 <= following <= 0xD7:
                        break
                offset += 1
    if offset + 2 <= size and data[offset : offset + 2] == b"\xff\xd9":
        return offset + 2
    return None


def _riff_end(data: bytes) -> int:
    length = int.from_bytes(data[4:8], "little")
    return 8 + length + (length & 1)


def image_end(actual: FileType, data: bytes) -> int | None:
    if actual == PNG:
        return _png_end(data)
    if actual == JPEG:
        return _jpeg_end(data)
    if actual == WEBP:
        return _riff_end(data)
    return None


def polyglot_reason(actual: FileType, data: bytes) -> str | None:
    """Why ``data`` (sniffed as ``actual``) is also something else, or None.

    Everywhere: another format's header near the start. Images (re-encoded, so never needing
    foreign bytes): data after the image's end, a PDF, HTML, script or ZIP archive inside."""
    if actual.kind == "image":
        end = image_end(actual, data)
        # A malformed image (end not found) is left to the decoder, which refuses it.
        if end is not None and end < len(data):
            return f"{len(data) - end} bytes follow the end of the image"
    if actual == WAV or actual == WEBP:
        if _riff_end(data) < len(data):
            return "The file goes on after its RIFF container ends"
    start = data[:NEAR_START].lower()
    for marker in _FOREIGN_NEAR_START:
        if marker == b"%pdf-" and actual == PDF:
            continue
        if marker in start:
            return f"The file's start also holds {marker.decode(errors='replace')!r}"
    if actual.kind != "image":
        return None
    lowered = data.lower()
    for marker in _FOREIGN_ANYWHERE:
        if marker in lowered:
            return f"The image holds {marker.decode(errors='replace')!r}"
    if _hidden_zip(data):
        return "The image holds a ZIP archive"
    return None
