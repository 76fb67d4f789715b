"""What the team and the reviewers see of an odds proposal (pure: no I/O): its configuration's
checks (the G-rules) and the expected costs (G7) of the proposed table beside the table in
force, so a reviewer compares both without recomputing anything."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Literal, cast

from koepon.gacha.catalog.models import Gacha, OddsProposal, OddsVersionRow
from koepon.gacha.catalog.phases import phase
from koepon.gacha.catalog.schemas import ExpectedCost, Proposal, ProposalPage
from koepon.gacha.catalog.views import checked, header_of
from koepon.kernel.clock import as_utc
from koepon.kernel.pagination import encode_keyset

ProposalStatus = Literal["draft", "submitted", "approved", "rejected"]


def _moment(value: datetime | None) -> datetime | None:
    return as_utc(value) if value is not None else None


def proposal_view(
    row: OddsProposal, gacha: Gacha, versions: Sequence[OddsVersionRow], now: datetime
) -> Proposal:
    """``versions``: the gacha's published versions, oldest first."""
    checks, costs, flagged = checked(row.config)
    header = header_of(gacha, versions)
    in_force = header.in_force(now) if versions else None
    current = versions[in_force.version - 1] if in_force else (versions[-1] if versions else None)
    current_costs: list[ExpectedCost] = []
    current_flagged = False
    if current is not None:
        _checks, current_costs, current_flagged = checked(current.config)
    published = None
    if row.published_version is not None and row.published_version <= len(versions):
        published = as_utc(versions[row.published_version - 1].effective_at)
    return Proposal(
        id=row.id,
        gacha_id=row.gacha_id,
        vtuber_id=row.vtuber_id,
        gacha_title=gacha.title,
        gacha_phase=header.phase(now) if versions else phase(gacha.status, None, None, now),
        status=cast(ProposalStatus, row.status),
        base_version=row.base_version,
        current_version=gacha.current_version,
        config=row.config,
        change_note=row.change_note,
        requested_effective_at=as_utc(row.requested_effective_at),
        checks=checks,
        expected_costs=costs,
        expected_cost_flagged=flagged,
        current_expected_costs=current_costs,
        current_expected_cost_flagged=current_flagged,
        created_by=row.created_by,
        created_at=as_utc(row.created_at),
        updated_at=as_utc(row.updated_at),
        submitted_by=row.submitted_by,
        submitted_at=_moment(row.submitted_at),
        reviewed_by=row.reviewed_by,
        reviewed_at=_moment(row.reviewed_at),
        review_note=row.review_note,
        published_version=row.published_version,
        published_effective_at=published,
    )


def proposal_page(
    rows: Sequence[OddsProposal],
    limit: int,
    *,
    gachas: Mapping[str, Gacha],
    versions: Mapping[str, Sequence[OddsVersionRow]],
    now: datetime,
) -> ProposalPage:
    """A page of proposals (``rows`` holds one more than ``limit`` when there is a next one)."""
    more = len(rows) > limit
    rows = rows[:limit]
    last = rows[-1] if more and rows else None
    return ProposalPage(
        items=[
            proposal_view(row, gachas[row.gacha_id], versions.get(row.gacha_id, ()), now)
            for row in rows
        ],
        next_cursor=encode_keyset(as_utc(last.created_at), last.id) if last else None,
    )
