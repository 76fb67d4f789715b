"""A completed draw's slots as the page shows them: each item's name (from the gacha's odds),
and, once the rewards service granted it, the serial number of a limited item and the link to
the fan's own copy in the collection."""

from __future__ import annotations

from typing import Any

from koepon.web.viewer import Viewer

COLLECTION_PAGE = 100


async def slots_of(
    seen: Viewer, made: dict[str, Any], items: dict[str, dict[str, Any]]
) -> list[dict[str, Any]]:
    owned = await _owned_of_gacha(seen, made, set(str(r["item_id"]) for r in made["results"]))
    taken: set[str] = set()
    slots = []
    for result in sorted(made.get("results") or [], key=lambda r: int(r.get("slot", 0))):
        item_id = str(result["item_id"])
        line = items.get(item_id, {})
        entitlement = _pick(owned.get(item_id, []), taken)
        slots.append(
            {
                "slot": result.get("slot"),
                "item_id": item_id,
                "name": line.get("name") or item_id,
                "rarity": str(result.get("rarity") or line.get("rarity") or "N"),
                "entitlement": entitlement,
                "table": result.get("table"),
            }
        )
    return slots


def _pick(entitlements: list[dict[str, Any]], taken: set[str]) -> dict[str, Any] | None:
    """A limited item's next serial not yet shown for this draw; any copy otherwise."""
    for entitlement in entitlements:
        if entitlement.get("limited"):
            if entitlement["id"] not in taken:
                taken.add(entitlement["id"])
                return entitlement
        else:
            return entitlement
    return None


async def _owned_of_gacha(
    seen: Viewer, made: dict[str, Any], item_ids: set[str]
) -> dict[str, list[dict[str, Any]]]:
    """The fan's entitlements of this draw's items, limited ones granted since the draw first."""
    page = await seen.api.get("/api/v1/collection", limit=COLLECTION_PAGE)
    since = str(made.get("requested_at") or "")
    found: dict[str, list[dict[str, Any]]] = {}
    for entry in page.get("items") or []:
        if entry.get("gacha_id") != made.get("gacha_id") or entry.get("item_id") not in item_ids:
            continue
        if entry.get("limited") and str(entry.get("granted_at") or "") < since[:19]:
            continue
        found.setdefault(str(entry["item_id"]), []).append(entry)
    return found
