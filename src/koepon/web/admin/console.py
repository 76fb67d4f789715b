"""What every admin page shares: the one-time notice after an action (``web/notices.py``),
the posted text and the console path to return to.

The API decides who may do what (only an admin sets a revenue share, only admin and compliance
decide reviews…): its 403, 409 or 422 is shown as a notice, never as a crash.
"""

from __future__ import annotations

from fastapi import Request

from koepon.web.notices import Notices

NOTICES = Notices("koepon_admin_notice")
done = NOTICES.done
refused = NOTICES.refused
take_notice = NOTICES.take


async def form_text(request: Request, name: str) -> str:
    form = await request.form()
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def local_path(value: str | None, fallback: str) -> str:
    """A console path to return to (never another site)."""
    if value and value.startswith("/admin") and "//" not in value and "\\" not in value:
        return value
    return fallback
