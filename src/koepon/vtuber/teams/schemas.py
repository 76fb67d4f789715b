"""Request and response bodies of applications, profiles, teams and invitations.

Every text an applicant types goes through ``checks`` here, so a bad field is a 422 problem
naming it (``loc``) before anything runs, and what is stored is the normalised value.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from koepon.vtuber.teams import checks

TeamRoleName = Literal["owner", "manager", "editor", "analyst"]
Status = Literal["pending", "approved", "rejected", "suspended"]
EntityType = Literal["individual", "corporation"]

DisplayName = Annotated[str, Field(max_length=200), AfterValidator(checks.display_name)]
LegalName = Annotated[str, Field(max_length=300), AfterValidator(checks.legal_name)]
Bio = Annotated[str, Field(max_length=8000), AfterValidator(checks.bio)]
HttpsUrl = Annotated[str, Field(max_length=checks.URL_MAX + 20), AfterValidator(checks.https_url)]
ChannelLinks = Annotated[
    list[HttpsUrl],
    Field(max_length=checks.MAX_CHANNEL_LINKS),
    AfterValidator(checks.channel_links),
]
InvoiceNumber = Annotated[str, Field(max_length=40), AfterValidator(checks.invoice_number)]
Email = Annotated[str, Field(max_length=320), AfterValidator(checks.email)]


def _bank_code(value: str) -> str:
    return checks.digits(value, 4, "a bank code")


def _branch_code(value: str) -> str:
    return checks.digits(value, 3, "a branch code")


def _account_number(value: str) -> str:
    return checks.digits(value, 7, "an account number")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class BankAccount(Strict):
    """Where payouts go (全銀 transfer). ``holder_kana`` is stored in half-width kana."""

    bank_code: Annotated[str, Field(max_length=8), AfterValidator(_bank_code)]
    branch_code: Annotated[str, Field(max_length=8), AfterValidator(_branch_code)]
    account_type: Literal["ordinary", "current", "savings"]
    account_number: Annotated[str, Field(max_length=16), AfterValidator(_account_number)]
    holder_kana: Annotated[str, Field(max_length=90), AfterValidator(checks.holder_kana)]


def _invoice_pair(number: str | None, registered_on: date | None, *, partial: bool) -> None:
    if number is not None and registered_on is None and not partial:
        raise ValueError("invoice_registered_on is required with an invoice_number (R3)")
    if registered_on is not None and number is None and not partial:
        raise ValueError("invoice_registered_on is given without an invoice_number")


class ApplicationCreate(Strict):
    """A fan applies to become a VTuber (they become its owner)."""

    display_name: DisplayName
    bio: Bio = ""
    avatar_url: HttpsUrl | None = None
    channel_links: ChannelLinks = Field(default_factory=list)
    entity_type: EntityType = "individual"
    legal_name: LegalName
    bank: BankAccount
    invoice_number: InvoiceNumber | None = None
    invoice_registered_on: date | None = None

    @model_validator(mode="after")
    def _invoice(self) -> ApplicationCreate:
        _invoice_pair(self.invoice_number, self.invoice_registered_on, partial=False)
        return self


class ProfileUpdate(Strict):
    """Fields to change; omitted ones stay. Payout details (legal name, bank, invoice, entity
    type) only by the account owner or an admin. ``null`` clears an optional field."""

    display_name: DisplayName | None = None
    bio: Bio | None = None
    avatar_url: HttpsUrl | None = None
    channel_links: ChannelLinks | None = None
    entity_type: EntityType | None = None
    legal_name: LegalName | None = None
    bank: BankAccount | None = None
    invoice_number: InvoiceNumber | None = None
    invoice_registered_on: date | None = None

    @model_validator(mode="after")
    def _required_stay(self) -> ProfileUpdate:
        for name in ("display_name", "bio", "channel_links", "entity_type", "legal_name", "bank"):
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name} cannot be null")
        both = {"invoice_number", "invoice_registered_on"}
        if both & self.model_fields_set and not both <= self.model_fields_set:
            raise ValueError("invoice_number and invoice_registered_on change together")
        _invoice_pair(self.invoice_number, self.invoice_registered_on, partial=False)
        return self

    def changes(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.model_fields_set}


# Fields of ``ProfileUpdate`` that only the account owner or an admin may change.
PAYOUT_FIELDS = frozenset(
    {"entity_type", "legal_name", "bank", "invoice_number", "invoice_registered_on"}
)


class LiveGacha(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    gacha_id: str
    title: str
    kind: str
    price_medals: int
    starts_at: datetime | None = None
    ends_at: datetime | None = None


class PublicProfile(BaseModel):
    """What anyone sees of an approved VTuber (no legal name, bank or invoice number)."""

    id: str
    display_name: str
    bio: str
    avatar_url: str | None
    channel_links: list[str]
    invoice_registered: bool
    live_gachas: list[LiveGacha]


class DirectoryEntry(BaseModel):
    """One approved VTuber in the public directory (nothing private: no legal name, bank,
    invoice number, owner or status)."""

    id: str
    display_name: str
    avatar_url: str | None
    bio: str = Field(description="The bio's beginning (at most 160 characters)")
    channel_links: list[str]
    live_gachas: int = Field(description="Gachas of this VTuber (collabs included) live now")


class DirectoryPage(BaseModel):
    items: list[DirectoryEntry]
    next_cursor: str | None


class BankView(BaseModel):
    bank_code: str
    branch_code: str
    account_type: str
    account_number: str
    holder_kana: str
    masked: bool


class PrivateProfile(BaseModel):
    """Everything about a VTuber (the owner, admins; compliance without the bank)."""

    id: str
    owner_user_id: str
    status: Status
    display_name: str
    bio: str
    avatar_url: str | None
    channel_links: list[str]
    entity_type: EntityType
    legal_name: str
    bank: BankView | None
    invoice_number: str | None
    invoice_registered_on: date | None
    revenue_share_bp: int
    decision_reason: str | None
    decided_at: datetime | None
    applied_at: datetime
    updated_at: datetime


class Application(BaseModel):
    """One application as operators see it in the queue (no bank)."""

    id: str
    owner_user_id: str
    status: Status
    display_name: str
    bio: str
    avatar_url: str | None
    channel_links: list[str]
    entity_type: EntityType
    legal_name: str
    invoice_number: str | None
    invoice_registered_on: date | None
    revenue_share_bp: int
    decision_reason: str | None
    decided_by: str | None
    decided_at: datetime | None
    applied_at: datetime


class ApplicationPage(BaseModel):
    items: list[Application]
    next_cursor: str | None


class MyVtuber(BaseModel):
    vtuber_id: str
    display_name: str
    status: Status
    role: TeamRoleName
    permissions: list[str]


class MemberView(BaseModel):
    user_id: str
    role: TeamRoleName
    added_by: str
    added_at: datetime
    is_account_owner: bool


class InvitationView(BaseModel):
    id: str
    vtuber_id: str
    vtuber_name: str
    email: str
    role: TeamRoleName
    status: Literal["pending", "accepted", "revoked", "expired"]
    invited_by: str
    created_at: datetime
    expires_at: datetime


class Team(BaseModel):
    members: list[MemberView]
    invitations: list[InvitationView]


class Invite(Strict):
    email: Email
    role: TeamRoleName


class RoleChange(Strict):
    role: TeamRoleName


class Reason(Strict):
    reason: Annotated[str, Field(min_length=1, max_length=1000), AfterValidator(checks.reason)]


class RevenueShare(Strict):
    share_bp: int = Field(ge=0, le=10000, description="The VTuber's part in basis points (R1)")


class Change(BaseModel):
    id: str
    actor_id: str
    action: str
    detail: dict[str, Any]
    at: datetime


class ChangePage(BaseModel):
    items: list[Change]
    next_cursor: str | None
