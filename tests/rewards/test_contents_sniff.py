"""The pure checks of contents: types from bytes, claims, polyglots, image limits (no I/O)."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from koepon.rewards.contents import images, sniff
from koepon.rewards.contents.states import ContentStatus, may_move
from rewards.test_contents_files import (
    jpeg,
    jpeg_with_gps,
    mp3,
    pdf,
    png,
    png_bomb,
    png_with_chunk,
    wav,
    webp,
    zip_archive,
)


def test_types_come_from_the_bytes() -> None:
    assert sniff.sniff(png()) == sniff.PNG
    assert sniff.sniff(jpeg()) == sniff.JPEG
    assert sniff.sniff(webp()) == sniff.WEBP
    assert sniff.sniff(wav()) == sniff.WAV
    assert sniff.sniff(mp3()) == sniff.MP3
    assert sniff.sniff(b"\xff\xfb\x90\x00" + b"\x00" * 60) == sniff.MP3
    assert sniff.sniff(b"OggS\x00\x02" + b"\x00" * 30) == sniff.OGG
    assert sniff.sniff(b"\x00\x00\x00\x20ftypM4A \x00\x00\x00\x00") == sniff.M4A
    assert sniff.sniff(b"\x00\x00\x00\x20ftypisom\x00\x00\x02\x00") == sniff.MP4
    assert sniff.sniff(b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\x82\x84webm") == sniff.WEBM
    assert sniff.sniff(pdf()) == sniff.PDF
    assert sniff.sniff(b"<html><body>hi</body></html>") is None
    assert sniff.sniff(zip_archive()) is None
    assert sniff.sniff(b"\xff\xff\xff\xff") is None  # not a real MPEG frame header


def test_claims_must_agree_with_the_bytes() -> None:
    assert sniff.claimed_mismatch(sniff.PNG, "image/png", "絵.png") is None
    assert sniff.claimed_mismatch(sniff.PNG, None, None) is None
    assert sniff.claimed_mismatch(sniff.PNG, "application/octet-stream", "a") is None
    assert sniff.claimed_mismatch(sniff.JPEG, "image/jpg", "a.JPEG") is None
    assert sniff.claimed_mismatch(sniff.MP3, "audio/mp3", "voice.mp3") is None
    assert sniff.claimed_mismatch(sniff.M4A, "audio/x-m4a", "voice.mp4") is None
    assert sniff.claimed_mismatch(sniff.PNG, "image/jpeg", None)
    assert sniff.claimed_mismatch(sniff.PNG, "text/html", None)
    assert sniff.claimed_mismatch(sniff.PNG, None, "a.pdf")
    assert sniff.claimed_mismatch(sniff.PNG, "image/png", "a.png.exe")


def test_polyglots_are_named() -> None:
    assert sniff.polyglot_reason(sniff.PNG, png()) is None
    assert sniff.polyglot_reason(sniff.JPEG, jpeg()) is None
    assert sniff.polyglot_reason(sniff.JPEG, jpeg_with_gps()) is None
    assert sniff.polyglot_reason(sniff.WEBP, webp()) is None
    assert sniff.polyglot_reason(sniff.WAV, wav()) is None
    assert sniff.polyglot_reason(sniff.PDF, pdf()) is None
    # data after the image's end (a ZIP appended: the classic GIFAR / PNG+ZIP)
    assert "follow the end" in (sniff.polyglot_reason(sniff.PNG, png() + zip_archive()) or "")
    assert "follow the end" in (sniff.polyglot_reason(sniff.JPEG, jpeg() + pdf()) or "")
    assert sniff.polyglot_reason(sniff.WEBP, webp() + b"<script>") is not None
    assert sniff.polyglot_reason(sniff.WAV, wav() + zip_archive()) is not None
    # a PDF, HTML or ZIP inside an image
    assert sniff.polyglot_reason(sniff.PNG, png_with_chunk(b"tEXt", b"x\x00" + pdf()))
    assert sniff.polyglot_reason(sniff.PNG, png_with_chunk(b"zzZz", b"<ScRiPt>alert(1)"))
    assert sniff.polyglot_reason(sniff.PNG, png_with_chunk(b"zzZz", zip_archive()))
    # a PDF header near the start of any file
    assert sniff.polyglot_reason(sniff.MP3, mp3()[:10] + b"%PDF-1.7" + mp3()[10:])


def test_image_limits_refuse_before_decoding() -> None:
    bomb = png_bomb()
    assert len(bomb) < 100_000
    with pytest.raises(images.ImageRefused) as refused:
        images.clean(bomb, "image/png", max_pixels=40_000_000, max_side=12_000)
    assert refused.value.code == "decompression_bomb"
    with pytest.raises(images.ImageRefused) as refused:
        images.clean(png((300, 20)), "image/png", max_pixels=1000, max_side=12_000)
    assert refused.value.code == "decompression_bomb"
    with pytest.raises(images.ImageRefused) as refused:
        images.clean(png((300, 20)), "image/png", max_pixels=10**9, max_side=200)
    assert refused.value.code == "image_too_large"
    with pytest.raises(images.ImageRefused) as refused:
        images.clean(png()[:400], "image/png", max_pixels=10**9, max_side=12_000)
    assert refused.value.code == "image_unreadable"


def test_reencoding_strips_metadata() -> None:
    clean = images.clean(jpeg_with_gps(), "image/jpeg", max_pixels=10**8, max_side=12_000)
    with Image.open(io.BytesIO(clean.data)) as image:
        assert not image.getexif()
        assert "exif" not in image.info and "icc_profile" not in image.info
    assert b"SecretCam" not in clean.data and b"Exif" not in clean.data
    clean = images.clean(png(text="住所: 東京"), "image/png", max_pixels=10**8, max_side=12_000)
    with Image.open(io.BytesIO(clean.data)) as image:
        assert "Comment" not in image.info and "XML:com.adobe.xmp" not in image.info
    assert b"tEXt" not in clean.data and b"iTXt" not in clean.data


def test_states_move_forward_only() -> None:
    assert may_move("processing", ContentStatus.READY)
    assert may_move("ready", ContentStatus.RETIRED)
    assert not may_move("processing", ContentStatus.RETIRED)
    assert not may_move("retired", ContentStatus.READY)
    assert not may_move("ready", ContentStatus.PROCESSING)


def test_an_icc_profile_is_applied_then_dropped() -> None:
    from PIL import ImageCms

    # An embedded profile is applied, then removed: the pixels keep their colours.
    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    out = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 40, 90)).save(out, "JPEG", icc_profile=profile, quality=95)
    clean = images.clean(out.getvalue(), "image/jpeg", max_pixels=10**8, max_side=12_000)
    with Image.open(io.BytesIO(clean.data)) as image:
        assert "icc_profile" not in image.info
        red, green, blue = image.convert("RGB").getpixel((20, 15))
    assert abs(red - 200) < 8 and abs(green - 40) < 8 and abs(blue - 90) < 8
