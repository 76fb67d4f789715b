"""The fan site's public gacha pages over HTTP: the home page (live gachas, VTubers, the
no-cancel notice, OGP), a gacha's page with the full odds disclosure exactly as the API states
it (COMPLIANCE G6, G7: table, rarity totals, chart, rules, expected costs), the box's stock
partial, the odds change log, and every VTuber-supplied text shown as text."""

from __future__ import annotations

import re

import httpx

from koepon.app import Platform
from koepon.web.legal import NO_CANCEL_NOTICE
from web.fan_kit import BOX, ESCAPED, WEIGHTED, XSS, scripted_gacha


def meta(html: str, prop: str) -> str:
    found = re.search(rf'<meta property="{prop}" content="([^"]*)"', html)
    assert found, f"no {prop}"
    return found.group(1)


async def test_home_lists_live_gachas_and_vtubers_with_the_notice(
    served: str, seeded: Platform
) -> None:
    async with httpx.AsyncClient(base_url=served, timeout=30) as http:
        page = await http.get("/")
    assert page.status_code == 200
    assert page.headers["cache-control"].startswith("public")
    assert NO_CANCEL_NOTICE in page.text
    assert f'href="/gachas/{WEIGHTED}"' in page.text and f'href="/gachas/{BOX}"' in page.text
    assert "星宮ルナ 1stガチャ" in page.text and 'id="vtubers"' in page.text
    assert "<title>" in page.text and meta(page.text, "og:url") == served + "/"
    assert meta(page.text, "og:title") and meta(page.text, "og:description")
    assert "<script>" not in page.text.split("<body", 1)[1].replace("<script src=", ""), (
        "no inline script"
    )


async def test_gacha_page_discloses_the_odds_exactly_as_the_api(
    served: str, seeded: Platform
) -> None:
    async with httpx.AsyncClient(base_url=served, timeout=30) as http:
        api = (await http.get(f"/api/v1/gachas/{WEIGHTED}")).json()
        page = await http.get(f"/gachas/{WEIGHTED}")
    assert page.status_code == 200
    html = page.text
    assert meta(html, "og:url") == f"{served}/gachas/{WEIGHTED}"
    assert meta(html, "og:type") == "article" and api["title"] in meta(html, "og:title")
    assert api["title"] in html.split("<title>", 1)[1].split("</title>", 1)[0]
    assert "300円(税込)" in html and "3,000円(税込)" in html
    assert api["notice"] in html and api["no_cancellation_notice"] in html
    for name, lines in api["odds"]["tables"].items():
        section = html.split(f'data-odds-table="{name}"', 1)[1].split("</section>", 1)[0]
        for line in lines:
            row = section.split(f'data-item="{line["item_id"]}"', 1)[1].split("</tr>", 1)[0]
            assert f"{line['percent']}%" in row, (name, line["item_id"])
            if line["expected_cost_medals"] is not None:
                assert f"{line['expected_cost_medals']:,}" in row
                assert f"{line['expected_cost_jpy']:,}円(税込)" in row
        for total in api["odds"]["rarity_totals"][name]:
            found = section.split(f'data-rarity-total="{total["rarity"]}"', 1)[1]
            assert f"{total['percent']}%" in found.split("</tr>", 1)[0]
            bar = f'data-rarity="{total["rarity"]}" data-ppm="{total["rate_ppm"]}"'
            assert bar in section, "the chart draws every rarity total"
    assert 'id="pity-rule"' in html and "200" in html and 'id="exchange-rule"' in html
    assert 'id="expected-cost-flag"' in html, "a flagged expected cost is shown prominently"
    assert f'href="/gachas/{WEIGHTED}/confirm?count=1"' in html
    assert f'href="/gachas/{WEIGHTED}/confirm?count=10"' in html
    assert "style=" not in html, "no inline styles (CSP)"


async def test_box_page_and_stock_partial_show_what_is_left(served: str, seeded: Platform) -> None:
    async with httpx.AsyncClient(base_url=served, timeout=30) as http:
        api = (await http.get(f"/api/v1/gachas/{BOX}")).json()
        page = await http.get(f"/gachas/{BOX}")
        partial = await http.get(f"/gachas/{BOX}/stock")
    assert page.status_code == 200 and 'id="box-stock"' in page.text
    assert "fan-stock" in page.text
    assert partial.status_code == 200 and partial.headers["cache-control"] == "no-store"
    assert "<html" not in partial.text
    for line in api["odds"]["tables"]["box"]:
        assert f'data-remaining="{line["remaining"]}"' in partial.text


async def test_odds_change_log_lists_every_version(served: str, seeded: Platform) -> None:
    async with httpx.AsyncClient(base_url=served, timeout=30) as http:
        page = await http.get(f"/gachas/{WEIGHTED}/odds")
    assert page.status_code == 200
    assert f'href="/api/v1/gachas/{WEIGHTED}/odds/1"' in page.text


async def test_unknown_gacha_is_a_404_page(served: str, seeded: Platform) -> None:
    async with httpx.AsyncClient(base_url=served, timeout=30) as http:
        assert (await http.get("/gachas/no-such-gacha")).status_code == 404
        assert (await http.get("/gachas/no-such-gacha/stock")).status_code == 404


async def test_scripts_in_titles_item_and_vtuber_names_are_shown_as_text(
    served: str, seeded: Platform
) -> None:
    async with httpx.AsyncClient(base_url=served, timeout=30) as http:
        gacha_id, _vtuber_id = await scripted_gacha(http)
        for path in ("/", f"/gachas/{gacha_id}", f"/gachas/{gacha_id}/odds"):
            page = await http.get(path)
            assert page.status_code == 200, (path, page.text)
            assert XSS not in page.text, path
            assert ESCAPED in page.text, path
