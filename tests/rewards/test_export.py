"""The collection export: a ZIP of every live entitlement's file (images watermarked per fan,
traceable) and a manifest; stored under exports/{user}/{id}.zip; served only to its owner,
until it expires; rate-limited per day."""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import uuid
import zipfile
from dataclasses import replace

import httpx
import pytest
from sqlalchemy import select

from clocks import MovableClock
from koepon.rewards.downloads import tokens
from koepon.rewards.downloads.commands import trace_leak
from koepon.rewards.downloads.exports import ARCHIVE_KEEP
from koepon.rewards.downloads.models import DownloadFetchRow
from payment.fixtures.shop import shop_fixture  # noqa: F401 - the shop fixture
from rewards.test_downloads_fakes import Kit, kit_fixture, leak  # noqa: F401 - the kit fixture


def assert_problem(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == code


async def test_the_archive_holds_every_live_file_and_a_manifest(kit: Kit) -> None:
    owner = await kit.fan()
    other = await kit.fan()
    art = await kit.contents.image(seed=5, title="Art one")
    photo = await kit.contents.image(seed=6, title="Signed photo", fmt="JPEG")
    voice = await kit.contents.audio(title="Voice")
    kept = [
        kit.entitlements.grant(owner.id, art),
        kit.entitlements.grant(owner.id, photo, serial=12),
        kit.entitlements.grant(owner.id, voice),
    ]
    revoked = kit.entitlements.grant(owner.id, await kit.contents.image(seed=7, title="Gone"))
    kit.entitlements.revoke(revoked)
    kit.entitlements.grant(other.id, art)  # someone else's: not in this archive

    made = await kit.http.post("/api/v1/collection/export", headers=owner.headers)
    assert made.status_code == 201, made.text
    assert made.headers["cache-control"] == "no-store"
    body = made.json()
    assert body["files"] == 3
    assert await kit.ctx.storage.keys(f"exports/{owner.id}/") == [
        f"exports/{owner.id}/{body['export_id']}.zip"
    ]

    served = await kit.get(body["url"])
    assert served.status_code == 200, served.text
    assert served.headers["content-type"] == "application/zip"
    assert served.headers["content-disposition"].startswith("attachment; filename")
    assert "koepon-collection-" in served.headers["content-disposition"]
    assert hashlib.sha256(served.content).hexdigest() == body["checksum_sha256"]
    archive = zipfile.ZipFile(io.BytesIO(served.content))
    manifest = json.loads(archive.read("manifest.json"))
    assert manifest["user_id"] == owner.id and manifest["export_id"] == body["export_id"]
    entries = {entry["entitlement_id"]: entry for entry in manifest["files"]}
    assert set(entries) == set(kept)
    assert set(archive.namelist()) == {"manifest.json", *(e["file"] for e in entries.values())}
    for entry in entries.values():
        data = archive.read(entry["file"])
        assert hashlib.sha256(data).hexdigest() == entry["sha256"]
        assert entry["size_bytes"] == len(data)
    assert entries[kept[1]]["serial"] == 12 and entries[kept[1]]["serial_of"] == 100
    assert entries[kept[0]]["title"] == "Art one" and entries[kept[0]]["watermarked"]
    # Audio is the original; images are the fan's own marked copies, which trace back to them.
    voice_entry = entries[kept[2]]
    assert archive.read(voice_entry["file"]) == await kit.contents.original(voice)
    assert voice_entry["sha256"] == voice.checksum_sha256 == voice_entry["original_sha256"]
    photo_copy = archive.read(entries[kept[1]]["file"])
    assert photo_copy != await kit.contents.original(photo)
    traced = await trace_leak(kit.downloads, leak(photo_copy))
    assert traced is not None and traced.user_id == owner.id
    assert traced.entitlement_id == kept[1]


async def test_only_the_owner_gets_the_archive(kit: Kit) -> None:
    owner = await kit.fan()
    other = await kit.fan()
    admin = await kit.fan(roles=["admin"])
    kit.entitlements.grant(owner.id, await kit.contents.audio())
    assert (await kit.http.post("/api/v1/collection/export")).status_code == 401
    made = (await kit.http.post("/api/v1/collection/export", headers=owner.headers)).json()
    relink = f"/api/v1/collection/exports/{made['export_id']}/download"

    assert (await kit.http.post(relink)).status_code == 401
    assert_problem(await kit.http.post(relink, headers=other.headers), 404, "export_not_found")
    assert_problem(await kit.http.post(relink, headers=admin.headers), 404, "export_not_found")
    unknown = f"/api/v1/collection/exports/{uuid.uuid4()}/download"
    assert_problem(await kit.http.post(unknown, headers=owner.headers), 404, "export_not_found")
    bad = await kit.http.post("/api/v1/collection/exports/nope/download", headers=owner.headers)
    assert bad.status_code == 422
    again = await kit.http.post(relink, headers=owner.headers)
    assert again.status_code == 200 and again.json()["export_id"] == made["export_id"]
    assert (await kit.get(again.json()["url"])).status_code == 200

    # The export's URL re-bound to another fan (even with the real key) is refused.
    token = made["url"].rsplit("/", 1)[1]
    claims = tokens.verify(token, kit.downloads.token_key, kit.ctx.now())
    forged = tokens.sign(replace(claims, user_id=other.id), kit.downloads.token_key)
    assert_problem(await kit.http.get("/api/v1/downloads/" + forged), 403, "download_link_invalid")
    # Another fan's own (empty) export is theirs only, with nothing of the owner's in it.
    theirs = (await kit.http.post("/api/v1/collection/export", headers=other.headers)).json()
    assert theirs["files"] == 0


async def test_the_url_and_the_archive_expire(kit: Kit) -> None:
    clock = MovableClock(kit.ctx.now())
    kit.ctx.clock.use(clock)
    owner = await kit.fan()
    kit.entitlements.grant(owner.id, await kit.contents.audio())
    made = (await kit.http.post("/api/v1/collection/export", headers=owner.headers)).json()
    clock.advance(seconds=300)
    assert_problem(await kit.http.get(made["url"]), 410, "download_link_expired")
    relink = f"/api/v1/collection/exports/{made['export_id']}/download"
    fresh = await kit.http.post(relink, headers=owner.headers)
    assert fresh.status_code == 200
    assert (await kit.get(fresh.json()["url"])).status_code == 200

    # Past the keep time the archive is gone: a URL still within its minutes is refused, no
    # new URL is issued, and the sweeper deletes the file.
    clock.advance(seconds=ARCHIVE_KEEP.total_seconds() - 400)
    late = await kit.http.post(relink, headers=owner.headers)
    assert late.status_code == 200
    clock.advance(seconds=100)
    assert_problem(await kit.http.get(late.json()["url"]), 410, "download_link_expired")
    async with kit.ctx.db.transaction(read_only=True) as session:
        outcomes = [
            f.outcome
            for f in await session.scalars(select(DownloadFetchRow).order_by(DownloadFetchRow.id))
        ]
    assert outcomes == ["expired", "served", "refused"]
    assert_problem(await kit.http.post(relink, headers=owner.headers), 410, "download_link_expired")
    assert await kit.exports.sweep() == 1
    assert await kit.ctx.storage.keys(f"exports/{owner.id}/") == []
    assert await kit.exports.sweep() == 0


@pytest.mark.service_settings(rewards={"exports_per_day": 2})
async def test_exports_are_rate_limited_per_day(kit: Kit) -> None:
    owner = await kit.fan()
    other = await kit.fan()
    for _ in range(2):
        made = await kit.http.post("/api/v1/collection/export", headers=owner.headers)
        assert made.status_code == 201
    refused = await kit.http.post("/api/v1/collection/export", headers=owner.headers)
    assert_problem(refused, 429, "exports_rate_limited")
    assert int(refused.headers["retry-after"]) >= 1
    assert len(await kit.ctx.storage.keys(f"exports/{owner.id}/")) == 2
    ok = await kit.http.post("/api/v1/collection/export", headers=other.headers)
    assert ok.status_code == 201


@pytest.mark.service_settings(rewards={"exports_per_day": 2})
async def test_a_replayed_idempotency_key_answers_the_same_archive(kit: Kit) -> None:
    owner = await kit.fan()
    kit.entitlements.grant(owner.id, await kit.contents.image(seed=9, title="Art"))
    key = {**owner.headers, "Idempotency-Key": f"export-{uuid.uuid4()}"}
    answers = [await kit.http.post("/api/v1/collection/export", headers=key) for _ in range(2)]
    answers += await asyncio.gather(
        *(kit.http.post("/api/v1/collection/export", headers=key) for _ in range(3))
    )
    assert [a.status_code for a in answers] == [201] * 5, [a.text for a in answers]
    assert len({a.json()["export_id"] for a in answers}) == 1
    assert len(await kit.ctx.storage.keys(f"exports/{owner.id}/")) == 1
    # Replays did not count: one more archive (another key, or none) is still allowed today.
    assert (
        await kit.http.post("/api/v1/collection/export", headers=owner.headers)
    ).status_code == 201
    bad = await kit.http.post(
        "/api/v1/collection/export", headers={**owner.headers, "Idempotency-Key": "x" * 300}
    )
    assert bad.status_code in (400, 422) and bad.json()["code"]
