"""What the area's form handlers share: a signed-in form post, reading optional numbers."""

from __future__ import annotations

from fastapi import Depends

from koepon.web.gateway_client import ApiProblem
from koepon.web.i18n import gettext as _
from koepon.web.viewer import LoginRequired, Viewer, checked_form

SETTLED = frozenset({"succeeded", "failed", "expired", "cancelled", "refunded", "charged_back"})


async def signed_form(seen: Viewer = Depends(checked_form)) -> Viewer:
    """A form post that passed the CSRF checks, from a signed-in fan."""
    if seen.session is None:
        raise LoginRequired("/")
    return seen


def optional_int(value: str | None) -> int | None:
    """An empty field means "no limit"; anything else must be a whole number."""
    text = (value or "").strip().replace(",", "")
    if not text:
        return None
    return int(text)


def problem_lines(problem: ApiProblem) -> list[str]:
    """The refusal as lines to show: its detail, then each field error."""
    lines = [problem.detail]
    for error in problem.errors:
        where = ".".join(str(part) for part in error.get("loc", [])[1:])
        lines.append(f"{where}: {error.get('msg', '')}" if where else str(error.get("msg", "")))
    return lines


def history_labels() -> dict[str, str]:
    """The wallet history's line types (the API's names) in the visitor's language."""
    return {
        "purchase": _("Purchase"),
        "grant": _("Bonus"),
        "spend": _("Draw"),
        "spend_reserved": _("Draw (held)"),
        "spend_released": _("Held medals returned"),
        "expiry": _("Expired"),
        "claw_back": _("Taken back (refund)"),
        "debt": _("Owed"),
        "settlement": _("Owed medals settled"),
    }


def status_labels() -> dict[str, str]:
    """A checkout's or receipt's status in the visitor's language."""
    return {
        "creating": _("Preparing"),
        "open": _("Waiting for payment"),
        "pending": _("Waiting for payment at the store"),
        "succeeded": _("Payment completed"),
        "failed": _("Failed"),
        "expired": _("Expired"),
        "cancelled": _("Cancelled"),
        "refunded": _("Refunded"),
        "charged_back": _("Charged back"),
    }
