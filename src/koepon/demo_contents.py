"""The demo VTuber's contents (the files behind the demo gachas' items), uploaded through the
rewards service's own use case so they are checked, previewed and stored like any upload.

Found again by title when seeding twice; returns item id → content id for the demo gachas.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import structlog

from koepon.demo_files import demo_picture, demo_voice

log = structlog.get_logger(__name__)

C5, E5, G5, A5, C6 = 523.25, 659.25, 783.99, 880.0, 1046.5

# item id → (title, file name, content type, how to draw the file)
DEMO_FILES: dict[str, tuple[str, str, str, Callable[[], bytes]]] = {
    "luna-voice-morning": (
        "おはようボイス",
        "morning.wav",
        "audio/wav",
        lambda: demo_voice((C5, E5, G5, C6)),
    ),
    "luna-voice-night": (
        "おやすみボイス",
        "night.wav",
        "audio/wav",
        lambda: demo_voice((C6, G5, E5, C5)),
    ),
    "luna-wallpaper-spring": (
        "春の壁紙",
        "spring.png",
        "image/png",
        lambda: demo_picture("Hoshimiya Luna - Spring", 330),
    ),
    "luna-wallpaper-summer": (
        "夏の壁紙",
        "summer.png",
        "image/png",
        lambda: demo_picture("Hoshimiya Luna - Summer", 190),
    ),
    "luna-illust-stage": (
        "ライブ衣装イラスト",
        "stage.png",
        "image/png",
        lambda: demo_picture("Luna on stage", 280),
    ),
    "luna-illust-casual": (
        "私服イラスト",
        "casual.png",
        "image/png",
        lambda: demo_picture("Luna off duty", 40),
    ),
    "luna-video-birthday": (
        "誕生日メッセージ",
        "birthday.png",
        "image/png",
        lambda: demo_picture("Happy birthday from Luna", 55),
    ),
    "luna-asmr-special": (
        "特別ASMR",
        "asmr.wav",
        "audio/wav",
        lambda: demo_voice((G5, A5, G5, E5, C5, E5), note_seconds=0.5),
    ),
    "luna-cheki-signed": (
        "直筆サイン入りチェキ",
        "cheki.png",
        "image/png",
        lambda: demo_picture("Signed cheki - Luna", 350, size=(540, 720)),
    ),
    "luna-voice-box": (
        "BOX限定ボイス",
        "box-voice.wav",
        "audio/wav",
        lambda: demo_voice((E5, G5, C6, G5)),
    ),
    "luna-sticker": (
        "デジタルステッカー",
        "sticker.png",
        "image/png",
        lambda: demo_picture("Luna sticker", 100, size=(512, 512)),
    ),
}


async def seed_contents(platform: Any, vtuber_id: str) -> dict[str, str]:
    """Upload whatever demo file is missing; item id → content id (empty without rewards)."""
    rewards = platform.units.get("rewards")
    if rewards is None:
        log.info("seed.skipped", part="contents", reason="rewards service not in this process")
        return {}
    from koepon.rewards.contents.schemas import Actor, Upload

    contents = rewards.services.contents
    author = Actor(vtuber_id, frozenset({"vtuber"}))
    existing: dict[str, str] = {}
    cursor: str | None = None
    while True:
        async with contents.ctx.db.transaction(read_only=True) as session:
            page = await contents.team_contents(
                session, author, vtuber_id, status=None, limit=100, cursor=cursor
            )
        existing.update({item.title: item.id for item in page.items if item.status != "retired"})
        cursor = page.next_cursor
        if cursor is None:
            break
    ids: dict[str, str] = {}
    for item_id, (title, filename, content_type, draw) in DEMO_FILES.items():
        if title in existing:
            ids[item_id] = existing[title]
            continue
        made = await contents.upload(
            author, vtuber_id, Upload(title, draw(), content_type, filename)
        )
        ids[item_id] = made.id
        log.info("seed.content_created", title=title, content_id=made.id, kind=made.kind)
    return ids
