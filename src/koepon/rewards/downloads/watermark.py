"""Per-fan watermarks on images (pure: numpy and Pillow on bytes in memory, no I/O).

Two marks on every image a fan downloads:

- **visible**: a small, semi-transparent ``koepon · <short id>`` in the bottom-right corner;
- **invisible**: a spread-spectrum mark in low frequencies. The image is cut into a grid of
  ``GRID × GRID`` cells (relative to its size, so resizing keeps the grid); a ±1 pattern seeded
  by HMAC(key, watermark id) adds ``AMPLITUDE`` levels of luminance to each cell. Coarse cells
  survive JPEG (their mean is the DCT's DC term) and resizing (a mean over a region).

Detection is non-blind: the original, resized to the leak's size, is subtracted from the leak;
the residual's per-cell means (the visible mark's corner left out) are correlated with each
candidate's pattern. The normalised correlation of an unrelated pattern is ~N(0, 1/GRID);
a leaked copy scores far above ``THRESHOLD``.
"""

from __future__ import annotations

import hashlib
import hmac
import io
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from numpy.typing import NDArray
from PIL import Image, ImageDraw, ImageFont, ImageOps

GRID = 32
MIN_CELL_PIXELS = 4
AMPLITUDE = 3.0
THRESHOLD = 0.25
HASH_SIDE = 8
BAND_ROWS = 256
Floats = NDArray[np.float64]

# Output format per input format; anything else becomes PNG.
_SAVE: dict[str, tuple[str, str, dict[str, object]]] = {
    "JPEG": ("JPEG", "image/jpeg", {"quality": 92, "subsampling": 0}),
    "PNG": ("PNG", "image/png", {"optimize": False}),
    "WEBP": ("WEBP", "image/webp", {"quality": 92}),
}


class NotAnImage(ValueError):
    """The bytes are not an image Pillow can read."""


@dataclass(frozen=True)
class Marked:
    data: bytes
    mime_type: str
    extension: str


@dataclass(frozen=True)
class Match:
    watermark_id: str
    score: float


def open_image(data: bytes, max_pixels: int = 80_000_000) -> Image.Image:
    try:
        image = Image.open(io.BytesIO(data))
        if image.width * image.height > max_pixels:
            raise NotAnImage("image too large")
        image.load()
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise NotAnImage(str(exc)) from None
    return image


def grid_shape(width: int, height: int) -> tuple[int, int]:
    """(rows, cols) of the grid for an image of this size (coarser for tiny images)."""
    return (
        max(2, min(GRID, height // MIN_CELL_PIXELS)),
        max(2, min(GRID, width // MIN_CELL_PIXELS)),
    )


def pattern(key: bytes, watermark_id: str, rows: int, cols: int) -> Floats:
    """The ±1 pattern of one watermark id (deterministic from key and id)."""
    seed = hmac.new(key, f"wm:{watermark_id}".encode(), hashlib.sha256).digest()
    rng = np.random.default_rng(int.from_bytes(seed[:16], "big"))
    return rng.choice(np.array([-1.0, 1.0]), size=(rows, cols))


def _cell_index(size: int, cells: int) -> NDArray[np.intp]:
    return (np.arange(size) * cells) // size


def short_id(watermark_id: str) -> str:
    return watermark_id[:8]


@lru_cache(maxsize=32)
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    try:
        return ImageFont.load_default(size=size)
    except (OSError, ImportError):  # Pillow built without FreeType: the bitmap font
        return ImageFont.load_default()


def _label(watermark_id: str) -> str:
    return f"koepon · {short_id(watermark_id)}"


def mark_box(width: int, height: int) -> tuple[int, int, int, int]:
    """The corner the visible mark may cover (left, top, right, bottom), from the size alone
    (detection leaves it out)."""
    size = max(10, round(min(width, height) * 0.035))
    font = _font(size)
    left, top, right, bottom = ImageDraw.Draw(Image.new("L", (1, 1))).textbbox(
        (0, 0), "koepon · WWWWWWWW", font=font
    )
    margin = max(4, size // 2)
    box_w = min(width, round(right - left) + 2 * margin)
    box_h = min(height, round(bottom - top) + 2 * margin)
    return width - box_w, height - box_h, width, height


def _draw_visible(image: Image.Image, watermark_id: str) -> Image.Image:
    """``image`` (RGBA) with the label composited into its corner (only the corner is copied)."""
    width, height = image.size
    size = max(10, round(min(width, height) * 0.035))
    font = _font(size)
    left, top, right, bottom = mark_box(width, height)
    margin = max(4, size // 2)
    overlay = Image.new("RGBA", (right - left, bottom - top), (0, 0, 0, 0))
    draw = ImageDraw.Draw(overlay)
    text = _label(watermark_id)
    tb = draw.textbbox((0, 0), text, font=font)
    x = (right - left) - margin - (tb[2] - tb[0]) - tb[0]
    y = (bottom - top) - margin - (tb[3] - tb[1]) - tb[1]
    draw.text((x + 1, y + 1), text, font=font, fill=(0, 0, 0, 110))
    draw.text((x, y), text, font=font, fill=(255, 255, 255, 150))
    corner = Image.alpha_composite(image.crop((left, top, right, bottom)), overlay)
    image.paste(corner, (left, top))
    return image


def embed(data: bytes, key: bytes, watermark_id: str) -> Marked:
    """The image with both marks, in its own format (PNG when it has none of JPEG/PNG/WebP)."""
    source = open_image(data)
    fmt = (source.format or "PNG").upper()
    image = ImageOps.exif_transpose(source)
    has_alpha = image.mode in ("RGBA", "LA", "PA") or (
        image.mode == "P" and "transparency" in image.info
    )
    rgba = image.convert("RGBA")
    pixels = np.array(rgba, dtype=np.uint8)
    width, height = rgba.size
    rows, cols = grid_shape(width, height)
    cells = np.rint(pattern(key, watermark_id, rows, cols) * AMPLITUDE).astype(np.int16)
    row_cells, col_cells = _cell_index(height, rows), _cell_index(width, cols)
    # Band by band, in 16-bit integers: memory stays near one copy of the image in bytes.
    for start in range(0, height, BAND_ROWS):
        stop = min(height, start + BAND_ROWS)
        field = cells[row_cells[start:stop]][:, col_cells]
        band = pixels[start:stop, :, :3].astype(np.int16) + field[..., None]
        pixels[start:stop, :, :3] = np.clip(band, 0, 255).astype(np.uint8)
    marked = Image.fromarray(pixels, "RGBA")
    marked = _draw_visible(marked, watermark_id)
    save_format, mime, options = _SAVE.get(fmt, _SAVE["PNG"])
    if save_format == "JPEG" or not has_alpha:
        marked = marked.convert("RGB")
    out = io.BytesIO()
    marked.save(out, format=save_format, **options)
    extension = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp"}[save_format]
    return Marked(out.getvalue(), mime, extension)


def _luminance(image: Image.Image) -> Floats:
    rgb = np.asarray(image.convert("RGB"), dtype=np.float64)
    return rgb[..., 0] * 0.299 + rgb[..., 1] * 0.587 + rgb[..., 2] * 0.114


def residual_cells(original: bytes, leak: bytes) -> Floats:
    """Per-cell mean of (leak − original resized to the leak), the visible mark's corner left
    out (NaN there), on the original's grid."""
    source = ImageOps.exif_transpose(open_image(original))
    copy = ImageOps.exif_transpose(open_image(leak))
    width, height = copy.size
    base = source.convert("RGB").resize((width, height), Image.Resampling.LANCZOS)
    diff = _luminance(copy) - _luminance(base)
    rows, cols = grid_shape(source.width, source.height)
    left, top, _, _ = mark_box(source.width, source.height)
    mask = np.ones((height, width), dtype=bool)
    mask[int(top * height / source.height) :, int(left * width / source.width) :] = False
    labels = (_cell_index(height, rows)[:, None] * cols + _cell_index(width, cols)[None, :])[mask]
    sums = np.bincount(labels, weights=diff[mask], minlength=rows * cols)
    counts = np.bincount(labels, minlength=rows * cols)
    with np.errstate(invalid="ignore", divide="ignore"):
        means = np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)
    return means.reshape(rows, cols)


def scores(cells: Floats, key: bytes, watermark_ids: list[str]) -> list[Match]:
    """Each candidate's normalised correlation with the residual, best first."""
    rows, cols = cells.shape
    valid = ~np.isnan(cells)
    r = cells[valid] - cells[valid].mean() if valid.any() else np.zeros(0)
    norm_r = float(np.linalg.norm(r))
    found = []
    for watermark_id in watermark_ids:
        p = pattern(key, watermark_id, rows, cols)[valid]
        p = p - p.mean()
        denominator = norm_r * float(np.linalg.norm(p))
        found.append(Match(watermark_id, float(r @ p) / denominator if denominator else 0.0))
    return sorted(found, key=lambda match: match.score, reverse=True)


def identify(original: bytes, leak: bytes, key: bytes, watermark_ids: list[str]) -> Match | None:
    """The candidate whose mark the leak carries, or None when none clears ``THRESHOLD``."""
    ranked = scores(residual_cells(original, leak), key, watermark_ids)
    if ranked and ranked[0].score >= THRESHOLD:
        return ranked[0]
    return None


def perceptual_hash(data: bytes) -> str:
    """A 64-bit difference hash (16 hex digits): equal-ish for resized/re-encoded copies."""
    image = ImageOps.exif_transpose(open_image(data)).convert("L")
    small = np.asarray(
        image.resize((HASH_SIDE + 1, HASH_SIDE), Image.Resampling.LANCZOS), dtype=np.float64
    )
    bits = (small[:, 1:] > small[:, :-1]).flatten()
    return f"{int(''.join('1' if bit else '0' for bit in bits), 2):016x}"


def hash_distance(a: str, b: str) -> int:
    return (int(a, 16) ^ int(b, 16)).bit_count()
