"""Operators' use cases behind ``koepon`` commands: whose copy a leaked image is.

``trace_leak`` finds which content the image is (a 64-bit difference hash against every
watermarked content's original, so a resized, re-encoded copy still matches), then asks the
watermark which of that content's marked downloads it carries (non-blind: the original is
subtracted). ``None`` means "unknown": no content matches, or no mark clears the threshold.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict

from koepon.rewards.downloads import repository, watermark
from koepon.rewards.downloads.models import DownloadRow
from koepon.rewards.downloads.schemas import TraceResult
from koepon.rewards.downloads.service import Downloads

# Hash bits that may differ between an original and a leaked copy of it (of 64).
MAX_HASH_DISTANCE = 12
# Contents tried, closest hash first (near-duplicates in a catalogue are possible).
MAX_CONTENTS_TRIED = 3


async def trace_leak(downloads: Downloads, image: bytes) -> TraceResult | None:
    """The download whose mark ``image`` carries, or None. ``watermark.NotAnImage`` when the
    bytes are not an image."""
    leak_hash = await asyncio.to_thread(watermark.perceptual_hash, image)
    async with downloads.ctx.db.transaction(read_only=True) as session:
        rows = await repository.marked_downloads(session)
        by_content: dict[str, list[DownloadRow]] = defaultdict(list)
        for row in rows:
            if row.content_id is not None:
                by_content[row.content_id].append(row)
        contents = await downloads.contents.get_many(session, sorted(by_content))
    originals: dict[str, bytes] = {}
    distances: list[tuple[int, str]] = []
    learned: dict[str, str] = {}
    for content_id, marked in by_content.items():
        content_hash = next((r.content_hash for r in marked if r.content_hash), None)
        if content_hash is None:
            content = contents.get(content_id)
            if content is None:
                continue
            originals[content_id] = await downloads.contents.original(content)
            content_hash = await asyncio.to_thread(watermark.perceptual_hash, originals[content_id])
            learned[content_id] = content_hash
        distance = watermark.hash_distance(leak_hash, content_hash)
        if distance <= MAX_HASH_DISTANCE:
            distances.append((distance, content_id))
    if learned:
        async with downloads.ctx.db.transaction() as session:
            for content_id, content_hash in learned.items():
                await repository.set_content_hash(session, content_id, content_hash)
    best: TraceResult | None = None
    for _, content_id in sorted(distances)[:MAX_CONTENTS_TRIED]:
        content = contents.get(content_id)
        if content is None:
            continue
        original = originals.get(content_id) or await downloads.contents.original(content)
        candidates = {r.watermark_id: r for r in by_content[content_id] if r.watermark_id}
        match = await asyncio.to_thread(
            watermark.identify, original, image, downloads.watermark_key, sorted(candidates)
        )
        if match is not None and (best is None or match.score > best.score):
            row = candidates[match.watermark_id]
            best = TraceResult(
                user_id=row.user_id,
                download_id=row.id,
                entitlement_id=row.entitlement_id,
                content_id=content_id,
                watermark_id=match.watermark_id,
                score=match.score,
            )
    return best
