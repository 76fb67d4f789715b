"""Images: decoded under limits, re-encoded without metadata, and their previews (pure: no I/O).

The size is read from the header before any pixel is decoded, so a small file that claims a huge
image (a decompression bomb) is refused before it costs memory. Re-encoding keeps the pixels and
drops everything else: EXIF (GPS included), XMP, ICC profiles, text chunks, comments.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

from PIL import Image, ImageCms, ImageFilter, ImageOps, UnidentifiedImageError

FORMATS = {"image/png": "PNG", "image/jpeg": "JPEG", "image/webp": "WEBP"}
_SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))


class ImageRefused(Exception):
    """The image cannot be accepted; ``code`` names why."""

    def __init__(self, code: str, detail: str, **extra: int) -> None:
        super().__init__(detail)
        self.code = code  # image_too_large | decompression_bomb | image_unreadable
        self.detail = detail
        self.extra = extra


@dataclass(frozen=True)
class CleanImage:
    data: bytes  # re-encoded, metadata stripped
    width: int
    height: int


@dataclass(frozen=True)
class Previews:
    preview: bytes  # small and blurred (public)
    thumbnail: bytes  # small and sharp (owners)
    mime_type: str


def _open(data: bytes, mime_type: str, *, max_pixels: int, max_side: int) -> Image.Image:
    """The image, its size checked against the limits before its pixels are decoded."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=[FORMATS[mime_type]])
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageRefused(
            "decompression_bomb", "The image decodes to too many pixels", max_pixels=max_pixels
        ) from exc
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise ImageRefused("image_unreadable", f"The image cannot be read: {exc}") from exc
    width, height = image.size
    if width < 1 or height < 1 or max(width, height) > max_side:
        raise ImageRefused(
            "image_too_large",
            f"The image is {width}×{height} pixels; the longest side may be {max_side}",
            width=width,
            height=height,
            max_side=max_side,
        )
    frames = getattr(image, "n_frames", 1)
    if width * height * frames > max_pixels:
        raise ImageRefused(
            "decompression_bomb",
            f"The image decodes to {width * height * frames} pixels; at most {max_pixels} are "
            "accepted",
            max_pixels=max_pixels,
        )
    if frames > 1:
        raise ImageRefused("image_unreadable", "Animated images are not accepted")
    return image


def clean(data: bytes, mime_type: str, *, max_pixels: int, max_side: int) -> CleanImage:
    """The image decoded under the limits and re-encoded in its own format with no metadata."""
    image = _open(data, mime_type, max_pixels=max_pixels, max_side=max_side)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image.load()
            upright = ImageOps.exif_transpose(image)
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombWarning) as exc:
        raise ImageRefused("image_unreadable", f"The image cannot be decoded: {exc}") from exc
    pixels = _plain_copy(_to_srgb(upright), mime_type)
    out = io.BytesIO()
    fmt = FORMATS[mime_type]
    if fmt == "JPEG":
        pixels.save(out, "JPEG", quality=92, optimize=True)
    elif fmt == "WEBP":
        pixels.save(out, "WEBP", quality=90, method=4)
    else:
        pixels.save(out, "PNG", optimize=False)
    return CleanImage(out.getvalue(), pixels.width, pixels.height)


def _to_srgb(image: Image.Image) -> Image.Image:
    """The image in sRGB when it carries another ICC profile, so dropping the profile keeps
    its colours; unchanged when it has none or the profile cannot be used."""
    icc = image.info.get("icc_profile")
    if not icc or image.mode not in ("RGB", "RGBA", "CMYK"):
        return image
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        mode = "RGBA" if image.mode == "RGBA" else "RGB"
        converted = ImageCms.profileToProfile(image, source, _SRGB, outputMode=mode)
    except (ImageCms.PyCMSError, OSError, ValueError):
        return image
    return converted if converted is not None else image


def _plain_copy(image: Image.Image, mime_type: str) -> Image.Image:
    """The pixels alone, in a mode the format saves, with no ``info`` (metadata) carried over."""
    mode = image.mode
    if mime_type == "image/jpeg":
        wanted = mode if mode in ("L", "RGB", "CMYK") else "RGB"
    elif mode in ("1", "L", "LA", "RGB", "RGBA", "P"):
        wanted = mode
    elif mode in ("I", "I;16", "I;16B", "I;16L", "F"):
        wanted = "L" if mime_type == "image/webp" else "I"
    else:
        wanted = "RGBA" if "A" in mode or "transparency" in image.info else "RGB"
    if mime_type == "image/webp" and wanted not in ("RGB", "RGBA"):
        wanted = "RGBA" if "A" in mode or "transparency" in image.info else "RGB"
    converted = image.convert(wanted) if wanted != mode else image
    plain = Image.new(converted.mode, converted.size)
    if converted.mode == "P":
        palette = converted.getpalette()
        if palette is not None:
            plain.putpalette(palette)
        transparency = converted.info.get("transparency")
        plain.frombytes(converted.tobytes())
        if transparency is not None:
            plain.info["transparency"] = transparency
        return plain
    plain.frombytes(converted.tobytes())
    return plain


def previews(data: bytes, mime_type: str, *, side: int) -> Previews:
    """A blurred preview and a sharp thumbnail (WebP), longest side ``side``, from a clean image."""
    with Image.open(io.BytesIO(data), formats=[FORMATS[mime_type]]) as image:
        image.load()
        small = image.convert("RGBA" if image.mode in ("RGBA", "LA", "P") else "RGB")
    small.thumbnail((side, side), Image.Resampling.LANCZOS)
    thumbnail = io.BytesIO()
    small.save(thumbnail, "WEBP", quality=80)
    # Blur hard enough that the preview shows colours and shapes, not the work itself.
    radius = max(4.0, max(small.size) / 24)
    blurred = small.filter(ImageFilter.GaussianBlur(radius))
    preview = io.BytesIO()
    blurred.save(preview, "WEBP", quality=60)
    return Previews(preview.getvalue(), thumbnail.getvalue(), "image/webp")
