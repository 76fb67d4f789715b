"""Fairness (COMPLIANCE G9): the public algorithm, the fan's seed pair (set the client seed,
rotate to reveal), revealed seeds, the standalone verifier and a per-draw verification page."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form
from starlette.responses import RedirectResponse, Response

from koepon.web.fan_account.forms import problem_lines, signed_form
from koepon.web.gateway_client import ApiProblem
from koepon.web.rendering import render
from koepon.web.viewer import Viewer, signed_in, viewer

router = APIRouter(include_in_schema=False)
# The verifier is standard-library Python with nothing from Koepon: served as a file, not
# imported (web code never imports a service's modules).
VERIFIER = Path(__file__).resolve().parents[2] / "gacha" / "fairness" / "verifier.py"


async def _seeds(seen: Viewer) -> dict[str, Any]:
    if seen.session is None:
        return {"seeds": None, "revealed": None}
    seeds = await seen.api.get("/api/v1/me/seeds")
    revealed = await seen.api.get("/api/v1/me/seeds/revealed", limit=10)
    return {"seeds": seeds, "revealed": revealed}


@router.get("/fairness")
async def fairness_page(rotated: str | None = None, seen: Viewer = Depends(viewer)) -> Response:
    context = await _seeds(seen)
    context["rotated"] = bool(rotated)
    return render(seen, "fan_account/fairness.html", context)


@router.post("/fairness/client-seed")
async def set_client_seed(
    client_seed: Annotated[str, Form(max_length=200)],
    seen: Viewer = Depends(signed_form),
) -> Response:
    try:
        await seen.api.send("PUT", "/api/v1/me/seeds/client-seed", {"client_seed": client_seed})
    except ApiProblem as problem:
        if problem.status not in (400, 409, 422):
            raise
        context = await _seeds(seen)
        context.update(seed_errors=problem_lines(problem), rotated=False, typed=client_seed)
        return render(seen, "fan_account/fairness.html", context, status_code=422, personal=True)
    return RedirectResponse("/fairness#seeds", status_code=303)


@router.post("/fairness/rotate")
async def rotate(seen: Viewer = Depends(signed_form)) -> Response:
    await seen.api.send("POST", "/api/v1/me/seeds/rotate")
    return RedirectResponse("/fairness?rotated=1#revealed", status_code=303)


@router.get("/fairness/verifier.py")
async def verifier_file() -> Response:
    return Response(
        VERIFIER.read_bytes(),
        media_type="text/x-python; charset=utf-8",
        headers={
            "Content-Disposition": 'attachment; filename="verifier.py"',
            "Cache-Control": "public, max-age=300",
        },
    )


@router.get("/draws/{draw_id}/verify")
async def verify_page(draw_id: str, seen: Viewer = Depends(signed_in)) -> Response:
    bundle: dict[str, Any] | None = None
    refusal: ApiProblem | None = None
    try:
        bundle = await seen.api.get(f"/api/v1/draws/{draw_id}/verification")
    except ApiProblem as problem:
        if problem.status not in (409, 422, 425):
            raise
        refusal = problem
    context = {
        "draw_id": draw_id,
        "bundle": bundle,
        "bundle_json": json.dumps(bundle, indent=2, ensure_ascii=False) if bundle else "",
        "refusal": refusal,
        "hash": (refusal.body.get("server_seed_hash") if refusal else None),
    }
    return render(seen, "fan_account/verify.html", context, personal=True)
