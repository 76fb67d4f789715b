"""Odds versions are append-only and announced in advance (COMPLIANCE G4).

A version freezes one configuration (by digest). A live gacha's odds change only by appending
the next version, effective no sooner than the notice period after it is published, with a
public change note; a published version is never edited or removed.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from koepon.gacha.odds.model import GachaConfig
from koepon.gacha.odds.violations import Violation

DEFAULT_NOTICE = timedelta(hours=24)


@dataclass(frozen=True)
class OddsVersion:
    version: int
    published_at: datetime
    effective_at: datetime
    digest: str
    change_note: str = ""


def config_digest(config: GachaConfig) -> str:
    """SHA-256 of the configuration as canonical JSON (keys sorted, no spaces). A solo gacha's
    empty ``revenue_shares`` is left out, so digests published before collabs existed hold."""
    data = config.model_dump(mode="json")
    if not data.get("revenue_shares"):
        data.pop("revenue_shares", None)
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def check_new_version(
    history: Sequence[OddsVersion],
    new: OddsVersion,
    *,
    live: bool,
    notice: timedelta = DEFAULT_NOTICE,
) -> list[Violation]:
    """G4: may ``new`` be appended to ``history`` (oldest first)?"""
    found = []
    expected = history[-1].version + 1 if history else 1
    if new.version != expected:
        found.append(
            Violation("G4", "version", f"the next version is {expected}, not {new.version}")
        )
    if new.effective_at < new.published_at:
        found.append(Violation("G4", "effective_at", "a version takes effect once published"))
    if history:
        previous = history[-1]
        if new.published_at < previous.published_at or new.effective_at < previous.effective_at:
            found.append(Violation("G4", "effective_at", "versions follow one another in time"))
        if live and new.effective_at - new.published_at < notice:
            hours = notice.total_seconds() / 3600
            found.append(
                Violation(
                    "G4",
                    "effective_at",
                    f"a live gacha's odds change only after {hours:g} hours' notice",
                )
            )
        if not new.change_note.strip():
            found.append(Violation("G4", "change_note", "a change of odds needs a change note"))
    return found


def check_append_only(
    published: Sequence[OddsVersion], proposed: Sequence[OddsVersion]
) -> list[Violation]:
    """G4: ``proposed`` keeps every published version exactly as it was, in order."""
    found = []
    for index, version in enumerate(published):
        if index >= len(proposed):
            found.append(
                Violation("G4", f"versions[{index}]", f"version {version.version} was removed")
            )
        elif proposed[index] != version:
            found.append(
                Violation("G4", f"versions[{index}]", f"version {version.version} was changed")
            )
    return found


def version_in_force(history: Sequence[OddsVersion], at: datetime) -> OddsVersion | None:
    """The version a draw at instant ``at`` uses: the latest already effective."""
    effective = [v for v in history if v.effective_at <= at]
    return max(effective, key=lambda v: v.version) if effective else None
