"""Audio previews: a waveform image of a WAV file (pure: no I/O).

Honest and simple: the waveform is drawn from PCM samples read with the standard library, so it
needs no codec. Other audio formats (MP3, OGG, M4A) would need a decoder (ffmpeg); they get no
preview yet and are shown by title.
"""

from __future__ import annotations

import io
import sys
import wave
from array import array

from PIL import Image, ImageDraw

# The longest stretch of audio read for the waveform (a preview, not the work).
MAX_FRAMES = 48_000 * 60 * 10


def wav_duration_ms(data: bytes) -> int | None:
    """How long a WAV file plays, in milliseconds (None if it cannot be read)."""
    try:
        with wave.open(io.BytesIO(data)) as reader:
            rate = reader.getframerate()
            return reader.getnframes() * 1000 // rate if rate > 0 else None
    except (wave.Error, EOFError, ValueError):
        return None


def wav_waveform(data: bytes, *, side: int) -> bytes | None:
    """A PNG of the waveform (``side`` wide, a quarter as tall), or None if not plain PCM."""
    try:
        with wave.open(io.BytesIO(data)) as reader:
            channels = reader.getnchannels()
            width = reader.getsampwidth()
            frames = min(reader.getnframes(), MAX_FRAMES)
            raw = reader.readframes(frames)
    except (wave.Error, EOFError, ValueError):
        return None
    if width == 1:
        samples = [value - 128 for value in raw[::channels]]
        full_scale = 128
    elif width == 2:
        values = array("h")
        values.frombytes(raw[: len(raw) - len(raw) % 2])
        if sys.byteorder == "big":
            values.byteswap()
        samples = list(values[::channels])
        full_scale = 32768
    else:
        return None
    height = max(16, side // 4)
    image = Image.new("RGB", (side, height), (250, 246, 252))
    if samples:
        draw = ImageDraw.Draw(image)
        middle = height / 2
        per_column = max(1, len(samples) // side)
        for x in range(side):
            window = samples[x * per_column : (x + 1) * per_column]
            if not window:
                break
            peak = max(abs(v) for v in window) / full_scale
            reach = max(1.0, peak * (middle - 1))
            draw.line([(x, middle - reach), (x, middle + reach)], fill=(214, 51, 132))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()
