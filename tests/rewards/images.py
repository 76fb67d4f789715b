"""Pictures for the rewards tests: an illustration-like image, and what a leaker does to it."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image, ImageDraw


def picture(width: int = 640, height: int = 480, seed: int = 1, fmt: str = "PNG") -> bytes:
    """A smooth, illustration-like image with shapes and a little noise."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width]
    base = np.stack(
        [
            128 + 100 * np.sin(x / 70 + seed),
            128 + 90 * np.cos(y / 50),
            128 + 60 * np.sin((x + y) / 90),
        ],
        -1,
    )
    noisy = np.clip(base + rng.normal(0, 6, base.shape), 0, 255).astype(np.uint8)
    image = Image.fromarray(noisy)
    draw = ImageDraw.Draw(image)
    for _ in range(30):
        x0, y0 = int(rng.integers(0, width)), int(rng.integers(0, height))
        size = rng.integers(10, 120, 2)
        colour = tuple(int(v) for v in rng.integers(0, 255, 3))
        draw.ellipse([x0, y0, x0 + int(size[0]), y0 + int(size[1])], fill=colour)
    out = io.BytesIO()
    image.save(out, fmt)
    return out.getvalue()


def leak(data: bytes, *, quality: int = 70, scale: float = 0.5) -> bytes:
    """What a leaker does: re-encode as JPEG at ``quality`` after resizing by ``scale``."""
    image = Image.open(io.BytesIO(data)).convert("RGB")
    image = image.resize(
        (round(image.width * scale), round(image.height * scale)), Image.Resampling.BILINEAR
    )
    out = io.BytesIO()
    image.save(out, "JPEG", quality=quality)
    return out.getvalue()
