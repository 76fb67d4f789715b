"""The ``seeded`` fixture's copy of the session's seeded template (``seeded_template.py``) is the
whole demo seed: seeding it again finds everything, and every demo content's files are in this
test's own object store (its data dir, or its S3 prefix)."""

from __future__ import annotations

import hashlib

from koepon.app import Platform
from koepon.demo_contents import DEMO_FILES, seed_contents
from koepon.rewards.contents.schemas import Actor, ContentOut
from koepon.rewards.contents.service import content_prefix
from koepon.seed import DEMO_ACCOUNTS, _demo_vtuber_id, demo_gacha_id, seed_demo


async def demo_contents(platform: Platform, vtuber_id: str) -> list[ContentOut]:
    contents = platform.units["rewards"].services.contents
    author = Actor(vtuber_id, frozenset({"vtuber"}))
    async with contents.ctx.db.transaction(read_only=True) as session:
        page = await contents.team_contents(
            session, author, vtuber_id, status=None, limit=100, cursor=None
        )
    return list(page.items)


async def test_a_seeded_copy_holds_the_whole_seed(seeded: Platform) -> None:
    vtuber_id = await _demo_vtuber_id(seeded)
    assert vtuber_id is not None
    before = await demo_contents(seeded, vtuber_id)
    assert sorted(c.title for c in before) == sorted(f[0] for f in DEMO_FILES.values())
    assert all(c.status == "ready" for c in before)

    await seed_demo(seeded)  # finds every part: creates nothing
    assert [c.id for c in await demo_contents(seeded, vtuber_id)] == [c.id for c in before]
    ids = await seed_contents(seeded, vtuber_id)
    assert set(ids.values()) == {c.id for c in before}

    storage = seeded.units["rewards"].services.contents.ctx.storage
    for content in before:
        prefix = content_prefix(vtuber_id, content.id)
        original = await storage.get(prefix + "original")
        assert hashlib.sha256(original).hexdigest() == content.checksum_sha256
        assert len(await storage.keys(prefix)) >= 2  # the original and its preview

    auth = seeded.units["auth"].client.service
    async with auth.db.transaction(read_only=True) as session:
        for account in DEMO_ACCOUNTS:
            assert await auth.email_taken(session, account["email"])
    gacha = seeded.units["gacha"].services.authoring
    from koepon.gacha.catalog import repository as catalog_repository

    async with gacha.ctx.db.transaction(read_only=True) as session:
        for slug in ("luna-first", "luna-box"):
            row = await catalog_repository.gacha(session, demo_gacha_id(slug))
            assert row is not None and row.status == "approved"
