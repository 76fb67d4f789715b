"""What the browser tests share: phone and desktop screenshots kept as test artifacts, the
axe-core accessibility check (from npm) and the 360 px layout check.

Screenshots go to ``test-artifacts/screenshots/`` (``KOEPON_ARTIFACTS`` to move it).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(os.environ.get("KOEPON_ARTIFACTS", ROOT / "test-artifacts")) / "screenshots"
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
PHONE = {"width": 360, "height": 740}
DESKTOP = {"width": 1280, "height": 800}
BLOCKING = ("serious", "critical")


async def new_phone_page(browser: Any) -> Any:
    context = await browser.new_context(viewport=PHONE, locale="ja-JP")
    return await context.new_page()


async def screenshots(page: Any, name: str) -> list[Path]:
    """The page as a phone (360 px) and a desktop show it, saved as artifacts."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    saved = []
    original = page.viewport_size
    for label, size in (("phone", PHONE), ("desktop", DESKTOP)):
        await page.set_viewport_size(size)
        path = ARTIFACTS / f"{name}-{label}.png"
        await page.screenshot(path=str(path), full_page=True)
        saved.append(path)
    if original:
        await page.set_viewport_size(original)
    return saved


async def axe_violations(page: Any) -> list[dict[str, Any]]:
    """axe-core's serious and critical findings on the page as it is now.

    The script is evaluated through the debugging protocol, so the page's strict
    Content-Security-Policy (no inline scripts) stays on.
    """
    if not await page.evaluate("() => typeof window.axe !== 'undefined'"):
        await page.evaluate(AXE.read_text(encoding="utf-8"))
    result = await page.evaluate(
        "async () => JSON.stringify(await axe.run(document, {resultTypes: ['violations']}))"
    )
    violations: list[dict[str, Any]] = json.loads(result)["violations"]
    return [v for v in violations if v.get("impact") in BLOCKING]


async def fits_360(page: Any) -> bool:
    """Nothing makes a 360 px wide screen scroll sideways."""
    await page.set_viewport_size(PHONE)
    width: int = await page.evaluate("() => document.documentElement.scrollWidth")
    return width <= PHONE["width"]


async def check_page(page: Any, name: str) -> None:
    """Screenshots, then no serious/critical accessibility violation and a 360 px fit."""
    await screenshots(page, name)
    found = await axe_violations(page)
    assert not found, f"{name}: " + "; ".join(
        f"{v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes']][:3]}"
        for v in found
    )
    assert await fits_360(page), f"{name} scrolls sideways at 360 px"
