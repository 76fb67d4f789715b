"""The gacha editor's form and a gacha configuration, both ways (pure: no I/O).

One row per item: its content, name, rarity, and its line in each table — the main table's
weight (a box's count), the 10連 guaranteed slot's weight, the pity table's weight, the
exchange cost. A blank cell leaves the item out of that table. Numbers that are not numbers go
to the API as typed, so its checks name the field. Times are typed in Japan time.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from koepon.kernel.clock import JST

RARITIES = ("N", "R", "SR", "SSR", "UR")
ROW_FIELDS = ("item_id", "content_id", "name", "rarity", "weight", "guaranteed", "pity", "exchange")
MAX_ROWS = 60
# Keys the form does not edit are kept as the draft has them (a collab's revenue split, steps).
KEPT_KEYS = ("revenue_shares", "step_up")


def number(text: str | None) -> int | str | None:
    text = (text or "").strip().replace(",", "")
    if not text:
        return None
    try:
        return int(text)
    except ValueError:
        return text


def moment(text: str | None) -> str | None:
    """``2026-12-01T10:00`` typed in Japan time → an ISO time with its offset."""
    text = (text or "").strip()
    if not text:
        return None
    try:
        return datetime.fromisoformat(text).replace(tzinfo=JST).isoformat()
    except ValueError:
        return text


def local(value: Any) -> str:
    """An ISO time → the ``datetime-local`` value in Japan time."""
    if not value:
        return ""
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return str(value)
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(JST)
    return parsed.strftime("%Y-%m-%dT%H:%M")


def rows_of(form: Mapping[str, str]) -> list[dict[str, str]]:
    rows = []
    for index in range(MAX_ROWS):
        row = {name: form.get(f"{name}-{index}", "").strip() for name in ROW_FIELDS}
        if any(row[name] for name in ("content_id", "name", "weight")):
            rows.append(row)
    return rows


def config_from_form(form: Mapping[str, str], kept: Mapping[str, Any]) -> dict[str, Any]:
    kind = form.get("kind", "weighted")
    rows = rows_of(form)
    config: dict[str, Any] = {k: kept[k] for k in KEPT_KEYS if k in kept}
    config.update(
        kind=kind,
        price_medals=number(form.get("price_medals")) or 0,
        price_jpy=number(form.get("price_jpy")) or 0,
        period={"starts_at": moment(form.get("starts_at")), "ends_at": moment(form.get("ends_at"))},
        items=[
            {
                "item_id": row["item_id"] or f"item-{index + 1}",
                "content_id": row["content_id"],
                "rarity": row["rarity"] or "N",
                "name": row["name"],
            }
            for index, row in enumerate(rows)
        ],
    )
    ids = [item["item_id"] for item in config["items"]]
    lines = [(item_id, number(row["weight"])) for item_id, row in zip(ids, rows, strict=True)]
    if kind == "box":
        config["box"] = [{"item_id": i, "count": n} for i, n in lines if n is not None]
    else:
        config["main"] = [{"item_id": i, "weight": n} for i, n in lines if n is not None]
    if form.get("multi") == "on":
        multi: dict[str, Any] = {
            "count": 10,
            "price_medals": number(form.get("multi_price_medals")) or 0,
            "price_jpy": number(form.get("multi_price_jpy")) or 0,
        }
        guaranteed = _table(ids, rows, "guaranteed")
        if form.get("guaranteed_min_rarity") and guaranteed:
            multi["guaranteed"] = {"min_rarity": form["guaranteed_min_rarity"], "table": guaranteed}
        config["multi"] = multi
    if form.get("pity_draws"):
        config["pity"] = {
            "draws": number(form.get("pity_draws")),
            "min_rarity": form.get("pity_min_rarity") or "SSR",
            "table": _table(ids, rows, "pity"),
        }
    if form.get("exchange_points"):
        config["exchange"] = {
            "points_per_paid_draw": number(form.get("exchange_points")),
            "offers": [
                {"item_id": i, "cost_points": number(row["exchange"])}
                for i, row in zip(ids, rows, strict=True)
                if row["exchange"]
            ],
        }
    config["limits"] = {
        "max_draws": number(form.get("max_draws")),
        "max_draws_per_day": number(form.get("max_draws_per_day")),
    }
    return config


def _table(ids: list[str], rows: list[dict[str, str]], column: str) -> list[dict[str, Any]]:
    return [
        {"item_id": i, "weight": number(row[column])}
        for i, row in zip(ids, rows, strict=True)
        if row[column]
    ]


def form_from_config(config: Mapping[str, Any]) -> tuple[dict[str, str], list[dict[str, str]]]:
    """The editor's fields and item rows for a stored configuration."""
    period = config.get("period") or {}
    multi = config.get("multi") or {}
    guaranteed = multi.get("guaranteed") or {}
    pity = config.get("pity") or {}
    exchange = config.get("exchange") or {}
    limits = config.get("limits") or {}
    values = {
        "kind": str(config.get("kind") or "weighted"),
        "price_medals": _text(config.get("price_medals")),
        "price_jpy": _text(config.get("price_jpy")),
        "starts_at": local(period.get("starts_at")),
        "ends_at": local(period.get("ends_at")),
        "multi": "on" if multi else "",
        "multi_price_medals": _text(multi.get("price_medals")),
        "multi_price_jpy": _text(multi.get("price_jpy")),
        "guaranteed_min_rarity": str(guaranteed.get("min_rarity") or ""),
        "pity_draws": _text(pity.get("draws")),
        "pity_min_rarity": str(pity.get("min_rarity") or ""),
        "exchange_points": _text(exchange.get("points_per_paid_draw")),
        "max_draws": _text(limits.get("max_draws")),
        "max_draws_per_day": _text(limits.get("max_draws_per_day")),
    }
    main = _weights(config.get("box") or [], "count")
    main = main or _weights(config.get("main") or [], "weight")
    in_guaranteed = _weights(guaranteed.get("table") or [], "weight")
    in_pity = _weights(pity.get("table") or [], "weight")
    costs = _weights(exchange.get("offers") or [], "cost_points")
    rows = []
    for item in config.get("items") or []:
        item_id = str(item.get("item_id", ""))
        rows.append(
            {
                "item_id": item_id,
                "content_id": str(item.get("content_id", "")),
                "name": str(item.get("name", "")),
                "rarity": str(item.get("rarity", "N")),
                "weight": main.get(item_id, ""),
                "guaranteed": in_guaranteed.get(item_id, ""),
                "pity": in_pity.get(item_id, ""),
                "exchange": costs.get(item_id, ""),
            }
        )
    return values, rows


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _weights(lines: list[Any], key: str) -> dict[str, str]:
    return {
        str(line.get("item_id")): _text(line.get(key)) for line in lines if isinstance(line, dict)
    }


def rarity_preview(config: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Per table, each rarity's rate in ppm truncated, as the disclosure computes it (the
    weights' sum per rarity over the table's total); shown only once the API finds the
    configuration sound."""
    rarity_of = {
        str(i.get("item_id")): str(i.get("rarity"))
        for i in config.get("items") or []
        if isinstance(i, dict)
    }
    guaranteed = ((config.get("multi") or {}).get("guaranteed") or {}).get("table") or []
    tables: list[tuple[str, list[Any], str]] = [
        ("box", config.get("box") or [], "count"),
        ("main", config.get("main") or [], "weight"),
        ("guaranteed", guaranteed, "weight"),
        ("pity", (config.get("pity") or {}).get("table") or [], "weight"),
    ]
    shown = []
    for name, lines, key in tables:
        weights = [(rarity_of.get(str(line.get("item_id")), "?"), line.get(key)) for line in lines]
        if not weights or not all(isinstance(w, int) and w > 0 for _, w in weights):
            continue
        total = sum(int(w) for _, w in weights)
        per: dict[str, int] = {}
        for rarity, weight in weights:
            per[rarity] = per.get(rarity, 0) + int(weight)
        ordered = [r for r in RARITIES if r in per]
        shown.append(
            {"table": name, "rarities": [(r, per[r] * 1_000_000 // total) for r in ordered]}
        )
    return shown
