"""What each COMPLIANCE rule id means, in words, for the editor's checks (../COMPLIANCE.md)."""
# ruff: noqa: E501 -- one sentence per rule reads better unbroken (and is one catalog id)

from __future__ import annotations

from typing import Any

from koepon.web.i18n import gettext as _


def explain(rule: str) -> str:
    """A sentence for a rule id the API names (G1…G8, ``schema`` or a refusal code)."""
    words = {
        "G1": _("No set-completion rewards (コンプガチャ): nothing may depend on holding a set of different items."),
        "G2": _("Only the allowed mechanics: single and 10連 draws, a guaranteed slot, a ceiling (天井), exchange points, box and step-up gachas."),
        "G3": _("The odds are exactly what is shown: every table's weights must be whole numbers that add up to a positive total, each item once."),
        "G4": _("A live gacha's odds change only through a new, announced version with a public change log."),
        "G5": _("Items with a limited stock belong only in a box gacha."),
        "G6": _("Everything is shown before purchase: every item's rate, rarity totals, prices in medals and yen, the period and the rules."),
        "G7": _("The expected cost per item is shown; above 100 draws' price or ¥50,000 it is flagged for review."),
        "G8": _("No blanks: every item is a piece of your content and every line has a positive weight or count."),
        "schema": _("The configuration is malformed: a field is missing or has the wrong form."),
        "revenue_shares_invalid": _("The collab's revenue split is invalid: the parts must add up to exactly 100%."),
        "collaborator_not_approved": _("Every VTuber of a collab must be approved."),
        "contents_unavailable": _("Some items are not ready contents of this VTuber."),
        "gacha_kind_fixed": _("A gacha's kind (weighted or box) cannot change after approval."),
    }  # fmt: skip
    return words.get(rule, "")


def checks_of_problem(code: str, body: dict[str, Any], detail: str) -> list[dict[str, str]]:
    """A refusal (422) as check lines: every violation the API listed, else its code."""
    found = [
        {
            "rule": str(v.get("rule") or code),
            "path": str(v.get("path") or ""),
            "detail": str(v.get("detail") or ""),
            "severity": "refuse",
        }
        for v in body.get("violations") or []
        if isinstance(v, dict)
    ]
    return found or [{"rule": code, "path": "", "detail": detail, "severity": "refuse"}]
