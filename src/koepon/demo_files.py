"""Files for the demo data: drawn at seed time (no binary files in the repository).

Pictures are gradients with a caption (the demo VTuber's wallpapers, illustrations, cheki…), and
voices are short WAV melodies; both are real files that go through the rewards service's upload
checks, previews and watermarks like any VTuber's.
"""

from __future__ import annotations

import io
import math
import struct
import wave
import zlib

from PIL import Image, ImageDraw, ImageFont

SAMPLE_RATE = 22_050


def demo_picture(caption: str, hue: int, *, size: tuple[int, int] = (960, 540)) -> bytes:
    """A PNG: a diagonal gradient around ``hue`` (0–359) with ``caption`` (ASCII) centred."""
    width, height = size
    gradient = Image.linear_gradient("L").resize(size).rotate(30, expand=False)
    base = Image.merge(
        "HSV",
        (
            Image.new("L", size, round(hue * 255 / 360)),
            Image.new("L", size, 150),
            gradient.point(lambda v: 120 + v // 2),
        ),
    ).convert("RGB")
    draw = ImageDraw.Draw(base)
    for k in range(12):  # a few soft stars, placed by the caption so each picture differs
        x = zlib.crc32(f"{caption}:{k}:x".encode()) % width
        y = zlib.crc32(f"{caption}:{k}:y".encode()) % height
        r = 6 + k % 5
        draw.ellipse((x - r, y - r, x + r, y + r), fill=(255, 255, 240))
    font = ImageFont.load_default(size=max(24, height // 12))
    box = draw.textbbox((0, 0), caption, font=font)
    x = int(width - (box[2] - box[0])) // 2
    y = int(height - (box[3] - box[1])) // 2
    draw.text((x + 3, y + 3), caption, font=font, fill=(40, 30, 60))
    draw.text((x, y), caption, font=font, fill=(255, 255, 255))
    out = io.BytesIO()
    base.save(out, format="PNG", optimize=True)
    return out.getvalue()


def demo_voice(notes: tuple[float, ...], *, note_seconds: float = 0.35) -> bytes:
    """A mono 16-bit WAV playing ``notes`` (Hz) with soft attack and release."""
    frames = bytearray()
    per_note = int(SAMPLE_RATE * note_seconds)
    for frequency in notes:
        for i in range(per_note):
            envelope = min(1.0, i / 400.0, (per_note - i) / 800.0)
            sample = 0.4 * envelope * math.sin(2 * math.pi * frequency * i / SAMPLE_RATE)
            frames += struct.pack("<h", int(sample * 32767))
    out = io.BytesIO()
    with wave.open(out, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(SAMPLE_RATE)
        wav.writeframes(bytes(frames))
    return out.getvalue()
