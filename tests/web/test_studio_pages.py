"""The studio pages: the home with the application form (422s field by field), invitations,
the gacha editor's live validation (rule ids with words), escaping of VTuber-supplied text,
refused cross-site posts, the upload forwarded to the API, the chart and CSV passed on."""

from __future__ import annotations

import re

import httpx

from koepon.app import Platform
from web.admin_kit import Api, demo_vtuber_id
from web.pages_kit import form_token, sign_in
from web.studio_kit import FAN, OWNER, PNG, XSS, draft, fan_joins


async def test_the_application_form_shows_the_apis_422_by_field_and_escapes_input(
    served: str, seeded: Platform
) -> None:
    async with httpx.AsyncClient(base_url=served, timeout=30) as http:
        await sign_in(http, FAN)
        home = await http.get("/studio")
        assert home.status_code == 200 and home.headers["cache-control"] == "no-store"
        answer = await http.post(
            "/studio/apply",
            data={
                "csrf_token": form_token(home.text),
                "display_name": XSS,
                "legal_name": "テスト 太郎",
                "bank_code": "12",
                "branch_code": "123",
                "account_type": "ordinary",
                "account_number": "1234567",
                "holder_kana": "テスト タロウ",
                "avatar_url": "http://not-https.example/a.png",
            },
        )
        assert answer.status_code == 422
        assert XSS not in answer.text and "&lt;script&gt;alert(1)&lt;/script&gt;" in answer.text
        errors = re.findall(r'id="f-(\w+)"[^>]*aria-invalid="true"', answer.text)
        assert "bank_code" in errors and "avatar_url" in errors, errors


async def test_invitations_page_lists_and_accepts(served: str, seeded: Platform) -> None:
    async with httpx.AsyncClient(base_url=served, timeout=30) as http:
        owner = await Api.sign_in(http, OWNER)
        vtuber_id = await demo_vtuber_id(owner)
        made = await owner.send(
            "POST", f"/api/v1/vtubers/{vtuber_id}/members", {"email": FAN, "role": "analyst"},
            status=201,
        )  # fmt: skip
        await sign_in(http, FAN)
        page = await http.get("/studio/invitations")
        assert page.status_code == 200 and made["id"] in page.text
        accepted = await http.post(
            f"/studio/invitations/{made['id']}/accept", data={"csrf_token": form_token(page.text)}
        )
        assert accepted.status_code == 303 and accepted.headers["location"] == "/studio"
        home = await http.get("/studio")
        assert f"/studio/{vtuber_id}" in home.text


async def test_live_validation_names_each_refused_rule_in_words(
    served: str, seeded: Platform
) -> None:
    async with httpx.AsyncClient(base_url=served, timeout=30) as http:
        vtuber_id, gacha_id = await draft(http)
        await sign_in(http, OWNER)
        editor = await http.get(f"/studio/{vtuber_id}/gachas/{gacha_id}")
        assert editor.status_code == 200
        assert XSS not in editor.text and "&lt;script&gt;alert(1)&lt;/script&gt;" in editor.text
        assert 'hx-trigger="change delay:500ms"' in editor.text
        token = form_token(editor.text)
        form = {
            "title": XSS,
            "kind": "weighted",
            "price_medals": "100",
            "price_jpy": "100",
            "starts_at": "2030-01-01T10:00",
            "name-0": "blank item",  # no content: a blank (G8)
            "rarity-0": "R",
            "weight-0": "0",  # a line without weight (G8)
        }
        check = await http.post(
            f"/studio/{vtuber_id}/gachas/{gacha_id}/check",
            data=form,
            headers={"X-CSRF-Token": token, "HX-Request": "true"},
        )
        assert check.status_code == 200, check.text
        assert 'data-rule="G8"' in check.text
        assert "ハズレなし" in check.text  # the rule in words
        assert "<html" not in check.text  # a partial


async def test_a_sound_config_shows_odds_and_expected_costs_and_submits(
    served: str, seeded: Platform
) -> None:
    async with httpx.AsyncClient(base_url=served, timeout=30) as http:
        vtuber_id, gacha_id = await draft(http)
        await sign_in(http, OWNER)
        editor = await http.get(f"/studio/{vtuber_id}/gachas/{gacha_id}")
        assert "data-sound" in editor.text, editor.text
        assert "90.0000%" in editor.text and "10.0000%" in editor.text
        submitted = await http.post(
            f"/studio/{vtuber_id}/gachas/{gacha_id}/submit",
            data={"csrf_token": form_token(editor.text)},
        )
        assert submitted.status_code == 303
        after = await http.get(submitted.headers["location"])
        assert "notice-success" in after.text and "data-phase" in after.text


async def test_cross_site_and_tokenless_studio_posts_are_refused(
    served: str, seeded: Platform
) -> None:
    async with httpx.AsyncClient(base_url=served, timeout=30) as http:
        vtuber_id, gacha_id = await draft(http)
        await sign_in(http, OWNER)
        token = form_token((await http.get("/studio")).text)
        path = f"/studio/{vtuber_id}/gachas/{gacha_id}/submit"
        evil = await http.post(
            path, data={"csrf_token": token}, headers={"Origin": "https://evil.example"}
        )
        assert evil.status_code == 403
        cross = await http.post(
            path, data={"csrf_token": token}, headers={"Sec-Fetch-Site": "cross-site"}
        )
        assert cross.status_code == 403
        assert (await http.post(path, data={})).status_code == 403
        owner = await Api.sign_in(http, OWNER)
        mine = await owner.get(f"/api/v1/vtubers/{vtuber_id}/gachas")
        assert [g["status"] for g in mine["items"] if g["id"] == gacha_id] == ["draft"]


async def test_upload_is_forwarded_to_the_api_and_listed(served: str, seeded: Platform) -> None:
    async with httpx.AsyncClient(base_url=served, timeout=30) as http:
        await sign_in(http, OWNER)
        vtuber_id = await demo_vtuber_id(await Api.sign_in(http, OWNER))
        page = await http.get(f"/studio/{vtuber_id}/contents")
        token = form_token(page.text)
        scripted = await http.post(
            f"/studio/{vtuber_id}/contents/upload",
            files={"file": ("dot.png", PNG, "image/png")},
            data={"title": XSS},
            headers={"X-CSRF-Token": token},
        )
        assert scripted.status_code == 200, scripted.text
        assert scripted.json()["ok"] is True
        plain = await http.post(
            f"/studio/{vtuber_id}/contents/upload",
            files={"file": ("dot.png", PNG, "image/png")},
            data={"title": "plain", "csrf_token": token},
        )
        assert plain.status_code == 303
        listed = await http.get(f"/studio/{vtuber_id}/contents")
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in listed.text and XSS not in listed.text
        bad = await http.post(
            f"/studio/{vtuber_id}/contents/upload",
            files={"file": ("x.png", b"not a picture at all", "image/png")},
            data={"title": "bad"},
            headers={"X-CSRF-Token": token},
        )
        assert bad.status_code >= 400 and bad.json()["ok"] is False


async def test_sales_chart_and_csv_are_passed_on_with_their_headers(
    served: str, seeded: Platform
) -> None:
    async with httpx.AsyncClient(base_url=served, timeout=30) as http:
        vtuber_id = await demo_vtuber_id(await Api.sign_in(http, OWNER))
        await sign_in(http, OWNER)
        page = await http.get(f"/studio/{vtuber_id}/sales?month=2026-11")
        assert page.status_code == 200
        chart = await http.get(f"/studio/{vtuber_id}/sales/chart.svg?month=2026-11")
        assert chart.status_code == 200 and chart.headers["content-type"].startswith("image/svg")
        assert "default-src 'none'" in chart.headers["content-security-policy"]
        sheet = await http.get(f"/studio/{vtuber_id}/sales.csv?month=2026-11")
        assert sheet.status_code == 200 and "attachment" in sheet.headers["content-disposition"]


async def test_an_analyst_reads_sales_but_cannot_edit(served: str, seeded: Platform) -> None:
    async with httpx.AsyncClient(base_url=served, timeout=30) as http:
        vtuber_id, _fan = await fan_joins(http, "analyst")
        await sign_in(http, FAN)
        assert (await http.get(f"/studio/{vtuber_id}/sales")).status_code == 200
        assert (await http.get(f"/studio/{vtuber_id}/gachas")).status_code == 403
        token = form_token((await http.get(f"/studio/{vtuber_id}")).text)
        made = await http.post(
            f"/studio/{vtuber_id}/gachas/new", data={"csrf_token": token, "title": "x"}
        )
        assert made.status_code == 403


async def test_a_vtuber_name_and_bio_with_a_script_are_shown_as_text(
    served: str, seeded: Platform
) -> None:
    async with httpx.AsyncClient(base_url=served, timeout=30) as http:
        vtuber_id = await demo_vtuber_id(await Api.sign_in(http, OWNER))
        await sign_in(http, OWNER)
        page = await http.get(f"/studio/{vtuber_id}/profile")
        saved = await http.post(
            f"/studio/{vtuber_id}/profile",
            data={"csrf_token": form_token(page.text), "display_name": XSS, "bio": XSS},
        )
        assert saved.status_code == 303, saved.text
        for path in (f"/studio/{vtuber_id}/profile", f"/studio/{vtuber_id}", "/studio"):
            shown = await http.get(path)
            assert XSS not in shown.text and "&lt;script&gt;alert(1)&lt;/script&gt;" in shown.text
