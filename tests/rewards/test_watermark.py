"""Per-fan watermarks (pure): the invisible mark survives JPEG q70 + a 50% resize and names the
right fan among several; an unmarked copy is "unknown"; the visible mark is there."""

from __future__ import annotations

import io
import secrets

import numpy as np
import pytest
from PIL import Image

from koepon.rewards.downloads import watermark
from rewards.images import leak, picture

KEY = secrets.token_bytes(32)


FANS = [secrets.token_hex(8) for _ in range(6)]


@pytest.mark.parametrize("culprit", [0, 3, 5])
def test_a_jpeg_q70_half_size_copy_names_the_right_fan(culprit: int) -> None:
    original = picture(seed=culprit + 1)
    marked = watermark.embed(original, KEY, FANS[culprit])
    found = watermark.identify(original, leak(marked.data), KEY, FANS)
    assert found is not None and found.watermark_id == FANS[culprit]
    others = watermark.scores(watermark.residual_cells(original, leak(marked.data)), KEY, FANS)
    assert others[0].watermark_id == FANS[culprit]
    assert all(match.score < watermark.THRESHOLD for match in others[1:]), others


def test_an_unmarked_copy_is_unknown() -> None:
    original = picture(seed=7)
    assert watermark.identify(original, leak(original), KEY, FANS) is None
    # Another fan's copy is not blamed on a fan outside the candidates.
    marked = watermark.embed(original, KEY, secrets.token_hex(8))
    assert watermark.identify(original, leak(marked.data), KEY, FANS) is None


def test_a_mark_made_with_another_key_is_unknown() -> None:
    original = picture(seed=8)
    marked = watermark.embed(original, secrets.token_bytes(32), FANS[0])
    assert watermark.identify(original, leak(marked.data), KEY, FANS) is None


def test_the_visible_mark_is_in_the_corner_and_small() -> None:
    original = picture(seed=2)
    marked = watermark.embed(original, KEY, FANS[1])
    before = np.asarray(Image.open(io.BytesIO(original)).convert("RGB"), dtype=np.int16)
    after = np.asarray(Image.open(io.BytesIO(marked.data)).convert("RGB"), dtype=np.int16)
    assert before.shape == after.shape
    left, top, right, bottom = watermark.mark_box(640, 480)
    corner = np.abs(after - before)[top:bottom, left:right]
    rest = np.abs(after - before)[: top - 1]
    # The text changes pixels a lot in its corner; elsewhere only the ±3 invisible mark.
    assert (corner.max(axis=2) > 40).sum() > 50
    assert rest.max() <= watermark.AMPLITUDE + 1
    assert right - left < 640 * 0.5 and bottom - top < 480 * 0.2


def test_formats_and_alpha_are_kept() -> None:
    jpeg = watermark.embed(picture(fmt="JPEG"), KEY, FANS[0])
    assert jpeg.mime_type == "image/jpeg" and jpeg.data[:3] == b"\xff\xd8\xff"
    png = watermark.embed(picture(fmt="PNG"), KEY, FANS[0])
    assert png.mime_type == "image/png" and png.data[:8] == b"\x89PNG\r\n\x1a\n"
    webp = watermark.embed(picture(fmt="WEBP"), KEY, FANS[0])
    assert webp.mime_type == "image/webp"
    rgba = Image.new("RGBA", (200, 120), (10, 200, 30, 128))
    out = io.BytesIO()
    rgba.save(out, "PNG")
    marked = Image.open(io.BytesIO(watermark.embed(out.getvalue(), KEY, FANS[0]).data))
    assert marked.mode == "RGBA"


def test_tiny_images_still_work() -> None:
    image = Image.new("RGB", (12, 9), (120, 130, 140))
    out = io.BytesIO()
    image.save(out, "PNG")
    marked = watermark.embed(out.getvalue(), KEY, FANS[0])
    assert Image.open(io.BytesIO(marked.data)).size == (12, 9)


def test_not_an_image_is_refused() -> None:
    with pytest.raises(watermark.NotAnImage):
        watermark.embed(b"%PDF-1.7 not an image", KEY, FANS[0])


def test_the_content_hash_survives_the_leak_and_tells_pictures_apart() -> None:
    original = picture(seed=3)
    copied = leak(watermark.embed(original, KEY, FANS[0]).data)
    same = watermark.hash_distance(
        watermark.perceptual_hash(original), watermark.perceptual_hash(copied)
    )
    other = watermark.hash_distance(
        watermark.perceptual_hash(original), watermark.perceptual_hash(picture(seed=11))
    )
    assert same <= 6 < 20 <= other
