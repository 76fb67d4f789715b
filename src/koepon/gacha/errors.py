"""The gacha service's refusals as typed domain errors (made RFC 9457 problems at the edge)."""

from __future__ import annotations

from typing import Any, ClassVar

from koepon.kernel.errors import DomainError, Unavailable


class InvalidClientSeed(DomainError):
    status = 422
    code = "invalid_client_seed"


class ExchangeRefused(DomainError):
    status = 409
    code = "exchange_refused"


class DrawLimitReached(DomainError):
    status = 403
    code = "draw_limit_reached"


class BoxSoldOut(DomainError):
    status = 409
    code = "box_sold_out"


class ConfigurationRefused(DomainError):
    """A gacha configuration breaks a COMPLIANCE rule; ``code`` is the rule id (API.md)."""

    status = 422
    code: ClassVar[str] = "invalid_configuration"
    title = "The gacha configuration breaks a rule"


_BY_RULE: dict[str, type[ConfigurationRefused]] = {}


def configuration_refused(rule: str, detail: str, **extra: Any) -> ConfigurationRefused:
    """The refusal for ``rule`` (e.g. "G1"): its problem ``code`` is the rule id itself."""
    kind = _BY_RULE.get(rule)
    if kind is None:
        kind = type(f"Refused{rule}", (ConfigurationRefused,), {"code": rule})
        _BY_RULE[rule] = kind
    return kind(detail, rule=rule, **extra)


class GachaNotFound(DomainError):
    """No such gacha, or not one the caller may see (drafts are their authors' only)."""

    status = 404
    code = "gacha_not_found"


class GachaNotLive(DomainError):
    """The gacha exists but cannot be drawn now (not started, ended, or not approved)."""

    status = 409
    code = "gacha_not_live"


class DrawNotFound(DomainError):
    """No such draw, or another fan's (never told apart)."""

    status = 404
    code = "draw_not_found"


class InvalidDrawCount(DomainError):
    status = 422
    code = "invalid_count"


class DrawCapReached(DomainError):
    """The fan's self-set monthly draw cap (COMPLIANCE A3) would be passed."""

    status = 403
    code = "draw_cap_exceeded"


class CoolingOff(DomainError):
    """The fan chose a cooling-off pause (COMPLIANCE A3): no paid draws until it ends."""

    status = 403
    code = "cooling_off_active"


class NotYetLogged(DomainError):
    """The draw is not in the public log yet (it is sequenced within seconds)."""

    status = 409
    code = "not_yet_logged"


class SeedNotRevealed(DomainError):
    """The draw's server seed is still committed; rotate the seed pair to reveal it."""

    status = 409
    code = "seed_not_revealed"


# --- the catalogue (drafts, review, odds versions) ---------------------------------------------


class AuthoringForbidden(DomainError):
    """The caller lacks the team permission this step needs for this VTuber (the VTuber
    service decides: ``gacha.edit`` to create, list and edit, ``gacha.submit`` to submit)."""

    status = 403
    code = "authoring_forbidden"


class GachaNotEditable(DomainError):
    """Drafts are edited (and submitted) only while they are drafts or were rejected."""

    status = 409
    code = "gacha_not_editable"


class GachaStatusConflict(DomainError):
    """A review step that the gacha's status does not allow (approve a draft, end a draft…)."""

    status = 409
    code = "gacha_status_conflict"


class GachaKindFixed(DomainError):
    """A new odds version keeps the gacha's kind (weighted or box)."""

    status = 422
    code = "gacha_kind_fixed"


class BoxCompositionLocked(DomainError):
    """A box's contents (items and counts) are fixed once published: every version shares one
    stock, and fans may already have drawn from it. Another box is another gacha."""

    status = 409
    code = "box_composition_locked"


class OddsVersionNotFound(DomainError):
    status = 404
    code = "odds_version_not_found"


class KeyReused(DomainError):
    """The same ``Idempotency-Key`` with a different request (DESIGN.md "Idempotency")."""

    status = 422
    code = "idempotency_key_reused"


class DrawFailed(DomainError):
    """A draw that ended without items, answered with its own refusal's status and code."""

    def __init__(self, code: str, detail: str, status: int, **extra: Any) -> None:
        super().__init__(detail, **extra)
        # Per instance: the refusal that ended the draw (insufficient_medals, box_sold_out…).
        vars(self).update(code=code, status=status)


class DrawNotReversible(DomainError):
    """Only a completed draw is reversed (others never gave the fan anything)."""

    status = 409
    code = "draw_not_reversible"


class ContentsUnavailable(DomainError):
    """The rewards service could not say whether the items' contents exist: try again."""

    status = 503
    code = "contents_unavailable"


class VtuberServiceUnavailable(Unavailable):
    """The VTuber service could not say what the caller may do (or which VTubers are
    approved): nothing was changed; try again shortly."""

    code = "dependency_unavailable"

    def __init__(self, detail: str) -> None:
        super().__init__(detail, dependency="vtuber service")


class RevenueSharesInvalid(DomainError):
    """A collab gacha's revenue split is malformed: it must name the gacha's own VTuber, each
    VTuber once with a positive share, at most ``MAX_PARTIES`` of them, summing to 10,000 bp."""

    status = 422
    code = "revenue_shares_invalid"


class CollaboratorNotApproved(DomainError):
    """A collab gacha names a VTuber that is not (or no longer) an approved VTuber."""

    status = 422
    code = "collaborator_not_approved"


# --- the teams' odds proposals -----------------------------------------------------------------


class ProposalNotFound(DomainError):
    status = 404
    code = "proposal_not_found"


class ProposalAlreadyOpen(DomainError):
    """A gacha has one open (draft or submitted) odds proposal at a time."""

    status = 409
    code = "proposal_already_open"


class ProposalStatusConflict(DomainError):
    """A step the proposal's status does not allow (edit a submitted one, approve a draft…)."""

    status = 409
    code = "proposal_status_conflict"


class ProposalStale(DomainError):
    """The proposal no longer applies: its gacha ended, is not approved, or published another
    odds version since the proposal's base version. The team proposes again from the new one."""

    status = 409
    code = "proposal_stale"
