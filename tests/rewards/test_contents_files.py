"""Files for the contents tests: real images, audio and documents, and hostile ones."""

from __future__ import annotations

import io
import math
import struct
import wave
import zlib

from PIL import Image, PngImagePlugin


def checkerboard(size: tuple[int, int] = (256, 256), cell: int = 8) -> Image.Image:
    image = Image.new("RGB", size, (255, 255, 255))
    pixels = image.load()
    assert pixels is not None
    for y in range(size[1]):
        for x in range(size[0]):
            if (x // cell + y // cell) % 2:
                pixels[x, y] = (20, 20, 160)
    return image


def png(size: tuple[int, int] = (256, 256), *, text: str | None = None) -> bytes:
    out = io.BytesIO()
    info = None
    if text is not None:
        info = PngImagePlugin.PngInfo()
        info.add_text("Comment", text)
        info.add_itxt("XML:com.adobe.xmp", f'<?xml version="1.0"?><x:xmpmeta>{text}</x:xmpmeta>')
    checkerboard(size).save(out, "PNG", pnginfo=info)
    return out.getvalue()


def jpeg_with_gps() -> bytes:
    image = checkerboard((200, 120))
    exif = image.getexif()
    exif[0x010F] = "SecretCam"  # Make
    exif[0x0131] = "koepon-test"  # Software
    gps = exif.get_ifd(0x8825)
    gps[1] = "N"
    gps[2] = (35.0, 39.0, 29.0)
    gps[3] = "E"
    gps[4] = (139.0, 41.0, 5.0)
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif, quality=90)
    return out.getvalue()


def jpeg() -> bytes:
    out = io.BytesIO()
    checkerboard((128, 96)).save(out, "JPEG", quality=85)
    return out.getvalue()


def webp() -> bytes:
    out = io.BytesIO()
    checkerboard((96, 96)).save(out, "WEBP", quality=80)
    return out.getvalue()


def wav(seconds: float = 0.5, rate: int = 8000) -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(rate)
        frames = b"".join(
            struct.pack("<h", int(12000 * math.sin(2 * math.pi * 440 * i / rate)))
            for i in range(int(seconds * rate))
        )
        writer.writeframes(frames)
    return out.getvalue()


def mp3() -> bytes:
    # An ID3v2 header and MPEG-1 Layer III frames (128 kbit/s, 44.1 kHz) of silence.
    frame = b"\xff\xfb\x90\x00" + b"\x00" * 413
    return b"ID3\x03\x00\x00\x00\x00\x00\x00" + frame * 4


def pdf() -> bytes:
    return (
        b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
        b"2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\n"
        b"trailer<</Root 1 0 R>>\n%%EOF\n"
    )


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_bomb(width: int = 11_000, height: int = 11_000) -> bytes:
    """A small, well-formed PNG that decodes to width × height pixels (1-bit grey, all zero)."""
    row = b"\x00" * (1 + (width + 7) // 8)
    packer = zlib.compressobj(9)
    idat = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", idat)
        + _chunk(b"IEND", b"")
    )


def png_with_chunk(kind: bytes, data: bytes) -> bytes:
    """A valid PNG with an extra ancillary chunk before IEND."""
    base = png((32, 32))
    end = base.rindex(b"IEND") - 4
    return base[:end] + _chunk(kind, data) + base[end:]


def zip_archive() -> bytes:
    import zipfile

    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("evil.html", "<script>alert(1)</script>")
    return out.getvalue()


def noise_png(size: tuple[int, int] = (64, 64)) -> bytes:
    """A PNG that does not compress (random pixels): its size is about width × height × 3."""
    import os

    out = io.BytesIO()
    Image.frombytes("RGB", size, os.urandom(size[0] * size[1] * 3)).save(out, "PNG")
    return out.getvalue()
