"""A broken rule found in a gacha configuration, carrying its COMPLIANCE rule id."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from koepon.gacha.errors import ConfigurationRefused, configuration_refused

Severity = Literal["refuse", "flag"]
SCHEMA = "schema"  # malformed input that no particular rule names


@dataclass(frozen=True)
class Violation:
    """``rule`` is a COMPLIANCE id ("G1") or ``"schema"``; ``path`` points into the config."""

    rule: str
    path: str
    detail: str
    severity: Severity = "refuse"

    def as_dict(self) -> dict[str, str]:
        return {"rule": self.rule, "path": self.path, "detail": self.detail}


def refusing(violations: Iterable[Violation]) -> list[Violation]:
    return [v for v in violations if v.severity == "refuse"]


def flagged(violations: Iterable[Violation]) -> list[Violation]:
    return [v for v in violations if v.severity == "flag"]


def refusal(violations: Iterable[Violation]) -> ConfigurationRefused | None:
    """The error to raise for a refused configuration (its code is the first rule broken)."""
    refused = refusing(violations)
    if not refused:
        return None
    first = next((v for v in refused if v.rule != SCHEMA), refused[0])
    detail = f"{first.rule}: {first.detail} ({first.path})" if first.path else first.detail
    if first.rule == SCHEMA:
        return ConfigurationRefused(detail, violations=[v.as_dict() for v in refused])
    return configuration_refused(first.rule, detail, violations=[v.as_dict() for v in refused])
