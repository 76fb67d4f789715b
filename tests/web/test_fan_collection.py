"""The collection pages: an album per VTuber with owned items (serials, counts) and the rest of
their gachas greyed out, an item's page, downloads through signed URLs (only the owner's), and
the whole-collection export."""

from __future__ import annotations

import re

import httpx

from koepon.app import Platform
from web.admin_kit import Api
from web.fan_kit import VTUBER, WEIGHTED, confirmation, signed_in_fan
from web.pages_kit import form_token, sign_in


async def drawn_collection(http: httpx.AsyncClient, fan: Api) -> list[dict[str, object]]:
    form = await confirmation(http, WEIGHTED)
    made = await http.post(f"/gachas/{WEIGHTED}/draws", data=form)
    assert made.status_code == 303, made.text
    for _ in range(100):
        items = (await fan.get("/api/v1/collection"))["items"]
        if items:
            return list(items)
    raise AssertionError("the draw's item never reached the collection")


async def test_collection_album_download_and_export(served: str, seeded: Platform) -> None:
    async with httpx.AsyncClient(base_url=served, timeout=30) as http:
        fan = await signed_in_fan(http, medals=300)
        owned = await drawn_collection(http, fan)
        entry = owned[0]
        page = await http.get("/collection")
        assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
        assert f'data-entitlement="{entry["id"]}"' in page.text
        assert page.text.count("data-unowned=") == 7 + 3, "the rest of both live gachas, greyed"
        assert "grayscale" in page.text
        # Blurred previews (the public ones the gacha pages may show), never the originals.
        preview = f'src="/api/v1/previews/{entry["content_id"]}"'
        assert preview in page.text and page.text.count("data-preview") >= 7 + 3 + 1
        shown = await http.get(f"/api/v1/previews/{entry['content_id']}")
        assert shown.status_code in (200, 404)

        item = await http.get(f"/collection/{entry['id']}")
        assert item.status_code == 200 and str(entry["title"]) in item.text
        download = await http.post(
            f"/collection/{entry['id']}/download", data={"csrf_token": form_token(item.text)}
        )
        assert download.status_code == 303
        url = download.headers["location"]
        assert "/api/v1/downloads/" in url
        async with httpx.AsyncClient(base_url=served, timeout=30) as outside:
            assert (await outside.get(url, follow_redirects=True)).status_code == 200

        export = await http.post(
            "/collection/export",
            data={
                "csrf_token": form_token(page.text),
                "idempotency_key": re.findall(
                    r'name="idempotency_key" value="([0-9a-f]+)"', page.text
                )[0],
            },
        )
        assert export.status_code == 303, export.text
        archive = await http.get(export.headers["location"])
        assert archive.status_code == 200 and 'id="export-download"' in archive.text
        export_id = export.headers["location"].split("/")[3].split("?")[0]
        link = await http.post(
            f"/collection/exports/{export_id}/download",
            data={"csrf_token": form_token(archive.text)},
        )
        assert link.status_code == 303
        async with httpx.AsyncClient(base_url=served, timeout=30) as outside:
            zipped = await outside.get(link.headers["location"], follow_redirects=True)
        assert zipped.status_code == 200 and zipped.content[:2] == b"PK"

        async with httpx.AsyncClient(base_url=served, timeout=30) as other:
            await sign_in(other, VTUBER)
            assert (await other.get(f"/collection/{entry['id']}")).status_code == 404
            other_page = await other.get("/collection")
            refused = await other.post(
                f"/collection/{entry['id']}/download",
                data={"csrf_token": form_token(other_page.text)},
            )
            assert refused.status_code == 404
        cross = await http.post(
            f"/collection/{entry['id']}/download",
            data={"csrf_token": form_token(item.text)},
            headers={"Origin": "https://evil.example"},
        )
        assert cross.status_code == 403


async def test_an_empty_collection_invites_to_draw(served: str, seeded: Platform) -> None:
    async with httpx.AsyncClient(base_url=served, timeout=30) as http:
        await signed_in_fan(http)
        page = await http.get("/collection")
    assert page.status_code == 200 and 'id="owned-total">0<' in page.text
