"""The gacha editor: the VTuber's gachas with their phase, a new draft, the configuration as a
form with live validation (each change saves the draft through the API and shows its checks,
odds and expected costs), and submission for review."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Depends, Query
from starlette.responses import RedirectResponse, Response

from koepon.web.gateway_client import ApiProblem
from koepon.web.i18n import gettext as _
from koepon.web.rendering import render
from koepon.web.studio import config_form, rules
from koepon.web.studio.access import (
    ItemId,
    VtuberId,
    done,
    form_fields,
    member_who_may,
    membership,
    refused,
    take_notice,
)
from koepon.web.viewer import Viewer, checked_form, signed_in

router = APIRouter(include_in_schema=False)
EDITABLE = ("draft", "rejected")
PAGES_SEARCHED = 10
EXTRA_ROWS = 2


@router.get("/studio/{vtuber_id}/gachas")
async def gacha_list(
    vtuber_id: VtuberId,
    seen: Viewer = Depends(signed_in),
    cursor: str | None = Query(None, max_length=200),
) -> Response:
    member = await membership(seen, vtuber_id)
    page = await seen.api.get(f"/api/v1/vtubers/{vtuber_id}/gachas", cursor=cursor, limit=20)
    context = {
        "vtuber_id": vtuber_id,
        "member": member,
        "items": page.get("items", []),
        "next_cursor": page.get("next_cursor"),
        "notice": take_notice(seen),
    }
    return render(seen, "studio/gachas.html", context, personal=True)


@router.get("/studio/{vtuber_id}/gachas/new")
async def new_page(vtuber_id: VtuberId, seen: Viewer = Depends(signed_in)) -> Response:
    member = await member_who_may(seen, vtuber_id, "gacha.edit")
    context = {"vtuber_id": vtuber_id, "member": member, "values": {}, "error": None}
    return render(seen, "studio/gacha_new.html", context, personal=True)


@router.post("/studio/{vtuber_id}/gachas/new")
async def create(vtuber_id: VtuberId, seen: Viewer = Depends(checked_form)) -> Response:
    await signed_in(seen.request, seen)
    member = await membership(seen, vtuber_id)
    values = await form_fields(seen.request)
    kind = values.get("kind") if values.get("kind") in ("weighted", "box") else "weighted"
    starts = (datetime.now(UTC) + timedelta(days=1)).replace(minute=0, second=0, microsecond=0)
    config: dict[str, Any] = {
        "kind": kind,
        "price_medals": 100,
        "price_jpy": 100,
        "period": {"starts_at": starts.isoformat(), "ends_at": None},
        "items": [],
    }
    body = {"title": values.get("title", ""), "description": values.get("description", "")}
    try:
        made = await seen.api.send(
            "POST", f"/api/v1/vtubers/{vtuber_id}/gachas", {**body, "config": config}
        )
    except ApiProblem as problem:
        if problem.status != 422:
            raise
        context = {
            "vtuber_id": vtuber_id,
            "member": member,
            "values": values,
            "error": f"{problem.detail} ({problem.code})",
        }
        return render(seen, "studio/gacha_new.html", context, status_code=422, personal=True)
    return RedirectResponse(f"/studio/{vtuber_id}/gachas/{made['id']}", status_code=303)


async def find_gacha(seen: Viewer, vtuber_id: str, gacha_id: str) -> dict[str, Any] | None:
    """The team's view of one gacha (the API lists drafts; it has no single read of one)."""
    cursor = None
    for _page in range(PAGES_SEARCHED):
        page = await seen.api.get(f"/api/v1/vtubers/{vtuber_id}/gachas", cursor=cursor, limit=100)
        for item in page.get("items", []):
            if item.get("id") == gacha_id:
                return dict(item)
        cursor = page.get("next_cursor")
        if not cursor:
            return None
    return None


async def ready_contents(seen: Viewer, vtuber_id: str) -> list[dict[str, Any]]:
    page = await seen.api.get(f"/api/v1/vtubers/{vtuber_id}/contents", status="ready", limit=100)
    return list(page.get("items", []))


@router.get("/studio/{vtuber_id}/gachas/{gacha_id}")
async def editor(
    vtuber_id: VtuberId,
    gacha_id: ItemId,
    seen: Viewer = Depends(signed_in),
    rows: int = Query(0, ge=0, le=config_form.MAX_ROWS),
) -> Response:
    member = await membership(seen, vtuber_id)
    gacha = await find_gacha(seen, vtuber_id, gacha_id)
    if gacha is None:
        return render(seen, "not_found.html", status_code=404, personal=True)
    values, item_rows = config_form.form_from_config(gacha.get("config") or {})
    wanted = max(rows, len(item_rows) + EXTRA_ROWS)
    blank = dict.fromkeys(config_form.ROW_FIELDS, "")
    item_rows += [dict(blank) for _ in range(min(wanted, config_form.MAX_ROWS) - len(item_rows))]
    context = {
        "vtuber_id": vtuber_id,
        "member": member,
        "gacha": gacha,
        "values": values,
        "rows": item_rows,
        "rarities": config_form.RARITIES,
        "contents": await ready_contents(seen, vtuber_id),
        "editable": gacha.get("status") in EDITABLE,
        "check": _check_view(gacha, gacha.get("config") or {}),
        "notice": take_notice(seen),
    }
    return render(seen, "studio/gacha_editor.html", context, personal=True)


def _check_view(draft: dict[str, Any], config: dict[str, Any]) -> dict[str, Any]:
    checks = [dict(c, words=rules.explain(c.get("rule", ""))) for c in draft.get("checks", [])]
    costs = draft.get("expected_costs", [])
    return {
        "checks": checks,
        "refused": any(c.get("severity") == "refuse" for c in checks),
        "costs": costs,
        "flagged": draft.get("expected_cost_flagged", False),
        "rarities": config_form.rarity_preview(config) if costs else [],
        "problem": None,
    }


async def _save(
    seen: Viewer, gacha_id: str, values: dict[str, str], kept: dict[str, Any]
) -> tuple[dict[str, Any] | None, dict[str, Any]]:
    """PUT the form as the draft: the saved draft's view, or the API's refusal as checks."""
    config = config_form.config_from_form(values, kept)
    body = {
        "title": values.get("title", ""),
        "description": values.get("description", ""),
        "config": config,
    }
    try:
        draft = await seen.api.send("PUT", f"/api/v1/gachas/{gacha_id}", body)
    except ApiProblem as problem:
        if problem.status in (401, 403, 404) or problem.status >= 500:
            raise
        checks = [
            dict(c, words=rules.explain(c["rule"]))
            for c in rules.checks_of_problem(problem.code, problem.body, problem.detail)
        ]
        if problem.status == 422 and problem.code in ("validation", "validation_failed"):
            checks = [
                {
                    "rule": "schema",
                    "path": ".".join(str(p) for p in e.get("loc", [])[1:]),
                    "detail": str(e.get("msg", "")),
                    "severity": "refuse",
                    "words": rules.explain("schema"),
                }
                for e in problem.errors
            ] or checks
        view = {"checks": checks, "refused": True, "costs": [], "flagged": False,
                "rarities": [], "problem": f"{problem.detail} ({problem.code})"}  # fmt: skip
        return None, view
    return draft, _check_view(draft, config)


@router.post("/studio/{vtuber_id}/gachas/{gacha_id}/check")
async def live_check(
    vtuber_id: VtuberId, gacha_id: ItemId, seen: Viewer = Depends(checked_form)
) -> Response:
    """The HTMX partial: the form saved as the draft, and what the API says of it."""
    await signed_in(seen.request, seen)
    await membership(seen, vtuber_id)
    gacha = await find_gacha(seen, vtuber_id, gacha_id)
    if gacha is None:
        return render(seen, "not_found.html", status_code=404, personal=True)
    values = await form_fields(seen.request)
    _draft, view = await _save(seen, gacha_id, values, gacha.get("config") or {})
    context = {"check": view, "vtuber_id": vtuber_id, "gacha": gacha, "live": True}
    return render(seen, "studio/_checks.html", context, personal=True)


@router.post("/studio/{vtuber_id}/gachas/{gacha_id}")
async def save(
    vtuber_id: VtuberId, gacha_id: ItemId, seen: Viewer = Depends(checked_form)
) -> Response:
    """The form posted without script (or "add rows"): saved, then back to the editor."""
    await signed_in(seen.request, seen)
    await membership(seen, vtuber_id)
    gacha = await find_gacha(seen, vtuber_id, gacha_id)
    if gacha is None:
        return render(seen, "not_found.html", status_code=404, personal=True)
    values = await form_fields(seen.request)
    draft, view = await _save(seen, gacha_id, values, gacha.get("config") or {})
    rows = len(config_form.rows_of(values)) + (EXTRA_ROWS + 3 if values.get("more") else 0)
    to = f"/studio/{vtuber_id}/gachas/{gacha_id}?rows={min(rows, config_form.MAX_ROWS)}"
    if draft is None:
        return refused(seen, to, ApiProblem(422, "refused", view["problem"] or "", {}))
    return done(seen, to, _("The draft is saved."))


@router.post("/studio/{vtuber_id}/gachas/{gacha_id}/submit")
async def submit(
    vtuber_id: VtuberId, gacha_id: ItemId, seen: Viewer = Depends(checked_form)
) -> Response:
    await signed_in(seen.request, seen)
    await membership(seen, vtuber_id)
    to = f"/studio/{vtuber_id}/gachas/{gacha_id}"
    try:
        await seen.api.send("POST", f"/api/v1/gachas/{gacha_id}/submit", {})
    except ApiProblem as problem:
        if problem.status == 422 and rules.explain(problem.code):
            problem.detail = f"{problem.detail} — {problem.code}: {rules.explain(problem.code)}"
        return refused(seen, to, problem)
    return done(seen, to, _("The gacha is submitted for review."))
