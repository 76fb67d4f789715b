"""The VTuber service's refusals as typed domain errors (made RFC 9457 problems at the edge).

Sub-domains add theirs here, one class per stable ``code``.
"""

from __future__ import annotations

from koepon.kernel.errors import DomainError, Unavailable


class NotAllowed(DomainError):
    status = 403
    code = "forbidden"


class VtuberNotFound(DomainError):
    status = 404
    code = "vtuber_not_found"


# --- teams


class ApplicationExists(DomainError):
    """The account already owns a pending or approved VTuber (one per account)."""

    status = 409
    code = "application_exists"


class VtuberStatusConflict(DomainError):
    """The decision does not fit the VTuber's status (e.g. approving a rejected application)."""

    status = 409
    code = "vtuber_status_conflict"


class VtuberNotActive(DomainError):
    """The VTuber is not approved (pending, rejected or suspended): its team can do nothing."""

    status = 409
    code = "vtuber_not_active"


class InvalidProfileField(DomainError):
    """A field that can be checked only against the present (e.g. a future registration date)."""

    status = 422
    code = "invalid_field"


class MemberNotFound(DomainError):
    status = 404
    code = "member_not_found"


class AlreadyMember(DomainError):
    status = 409
    code = "already_member"


class OwnerNotRemovable(DomainError):
    """The account owner (``owner_user_id``) is not a member row: it cannot be changed or
    removed, only the VTuber suspended by an operator."""

    status = 409
    code = "owner_not_removable"


class InvitationNotFound(DomainError):
    status = 404
    code = "invitation_not_found"


class InvitationPending(DomainError):
    """This address already has an open invitation to the team (revoke it to invite again)."""

    status = 409
    code = "invitation_pending"


class InvitationAccepted(DomainError):
    status = 409
    code = "invitation_accepted"


class InvitationRevoked(DomainError):
    status = 410
    code = "invitation_revoked"


class InvitationExpired(DomainError):
    status = 410
    code = "invitation_expired"


class InvitationNotYours(DomainError):
    """The invitation was sent to another address than the signed-in account's."""

    status = 403
    code = "invitation_not_yours"


class EmailNotVerified(DomainError):
    """The signed-in account has not verified its email address yet."""

    status = 403
    code = "email_not_verified"


class AccountsUnavailable(DomainError):
    """The auth service could not be asked for the account's email; retry shortly."""

    status = 503
    code = "accounts_unavailable"


# --- payouts


class PaymentServiceUnavailable(Unavailable):
    """The payment service's medal ledger could not be asked (not deployed with this service,
    down or refusing): nothing was checked; try again shortly."""

    code = "dependency_unavailable"

    def __init__(self, detail: str) -> None:
        super().__init__(detail, dependency="payment service")


class MonthNotEnded(DomainError):
    """The JST month has not ended yet: its statements cannot be issued."""

    status = 409
    code = "month_not_ended"


class MonthClosedOutOfOrder(DomainError):
    """A later month already has statements: issuing this one now would skip a carried debt."""

    status = 409
    code = "month_closed_out_of_order"


class MonthClosingInProgress(DomainError):
    """Another request is closing the same month right now; retry to get its result."""

    status = 409
    code = "month_closing_in_progress"


class StatementNotFound(DomainError):
    status = 404
    code = "statement_not_found"


class PayoutBatchNotFound(DomainError):
    status = 404
    code = "payout_batch_not_found"


class NothingToPay(DomainError):
    """No issued statement of the month with a net payable above zero is outside a batch."""

    status = 409
    code = "nothing_to_pay"


class TransferDateInvalid(DomainError):
    """A transfer date in the past (JST) or on a Saturday or Sunday."""

    status = 422
    code = "transfer_date_invalid"


class BankDetailsInvalid(DomainError):
    """A payee's bank details cannot be written in the 全銀 file (names the VTuber)."""

    status = 422
    code = "bank_details_invalid"


class InvitationsRateLimited(DomainError):
    """A team sent more invitations today than allowed (each one is a mail to a stranger)."""

    status = 429
    code = "invitations_rate_limited"

    def __init__(self, detail: str, retry_after: int) -> None:
        super().__init__(detail, headers={"Retry-After": str(retry_after)})


# --- overlays

# Answers about an overlay token are never kept by a browser or a proxy.
NO_STORE = {"Cache-Control": "no-store"}


class OverlayTokenInvalid(DomainError):
    """The path's token does not have the shape of an overlay token (refused before any
    query)."""

    status = 422
    code = "invalid_overlay_token"

    def __init__(self, detail: str, **extra: object) -> None:
        super().__init__(detail, headers=NO_STORE, **extra)


class OverlayNotFound(DomainError):
    """No live overlay has this token: unknown, rotated away, or its VTuber is not approved
    (one answer for all three)."""

    status = 404
    code = "overlay_not_found"

    def __init__(self, detail: str, **extra: object) -> None:
        super().__init__(detail, headers=NO_STORE, **extra)
