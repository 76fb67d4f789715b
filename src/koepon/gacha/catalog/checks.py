"""Checks the catalogue's use cases share: G1 refused at once, the kind of a draft, the full
validation before review and publication, and the page cursor."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from koepon.gacha.errors import (
    ConfigurationRefused,
    RevenueSharesInvalid,
)
from koepon.gacha.odds.model import GachaConfig, RevenueShareLine
from koepon.gacha.odds.shares import MAX_PARTIES, WHOLE_BP, parse_shares, share_problems
from koepon.gacha.odds.validation import set_completion_attempts, validate_configuration
from koepon.gacha.odds.violations import refusal
from koepon.kernel.pagination import InvalidCursor, decode_keyset


@dataclass(frozen=True)
class Actor:
    """Who calls an authoring or review use case."""

    user_id: str
    roles: frozenset[str]


def refuse_g1(raw: Mapping[str, Any]) -> None:
    """G1 is refused at once, whatever else the configuration says."""
    attempts = set_completion_attempts(raw)
    if attempts:
        error = refusal(attempts)
        assert error is not None
        raise error


def refuse_bad_shares(vtuber_id: str, raw: Mapping[str, Any]) -> tuple[RevenueShareLine, ...]:
    """A collab's revenue split is refused at once when malformed (422
    ``revenue_shares_invalid``, every problem listed); the split, empty for a solo gacha."""
    shares, problems = parse_shares(raw)
    problems = problems or share_problems(vtuber_id, shares)
    if problems:
        raise RevenueSharesInvalid(
            "The revenue split is invalid: " + "; ".join(problems),
            problems=problems,
            whole_bp=WHOLE_BP,
            max_parties=MAX_PARTIES,
        )
    return shares


def draft_kind(raw: Mapping[str, Any]) -> str:
    kind = raw.get("kind")
    if kind not in ("weighted", "box"):
        raise ConfigurationRefused(
            "config.kind must be 'weighted' or 'box'",
            violations=[{"rule": "schema", "path": "kind", "detail": "weighted or box"}],
        )
    return str(kind)


def validated(raw: Mapping[str, Any]) -> GachaConfig:
    """The configuration if it breaks no rule (G7 flags do not refuse), else its refusal."""
    config, violations = validate_configuration(raw)
    error = refusal(violations)
    if error is not None:
        raise error
    assert config is not None
    return config


def page_cursor(cursor: str | None) -> tuple[datetime, str] | None:
    if not cursor:
        return None
    moment, key = decode_keyset(cursor)
    if not key.isprintable():  # a forged cursor: never sent to the database
        raise InvalidCursor("The cursor is not one this API handed out", parameter="cursor")
    return moment, key
