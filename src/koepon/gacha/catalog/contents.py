"""G8 against the rewards service: every item of a gacha is a real, ready content of its VTuber.

The pure validation checks the configuration's shape (no blank items); only the rewards service
knows which contents exist. Checked when a draft is submitted, again when an operator approves
it, and for every new odds version — a content retired in between is caught before fans can win
it.
"""

from __future__ import annotations

from koepon.contracts.rewards import RewardsUnavailable
from koepon.gacha.context import GachaContext
from koepon.gacha.errors import ContentsUnavailable
from koepon.gacha.odds.model import GachaConfig
from koepon.gacha.odds.violations import Violation, refusal


class ContentCheck:
    def __init__(self, ctx: GachaContext) -> None:
        self.ctx = ctx

    async def refuse_missing(self, vtuber_id: str, config: GachaConfig) -> None:
        """Raise the G8 refusal listing every item whose content is unknown, another VTuber's,
        not ready yet or retired; ``ContentsUnavailable`` (503) if rewards cannot be asked."""
        wanted = [item.content_id for item in config.items]
        try:
            found = await self.ctx.rewards.contents(wanted)
        except (RewardsUnavailable, ValueError) as exc:
            raise ContentsUnavailable(
                "The items' contents cannot be checked right now; try again shortly"
            ) from exc
        violations = []
        for i, item in enumerate(config.items):
            path = f"items[{i}].content_id"
            content = found.get(item.content_id)
            if content is None or content.vtuber_id != vtuber_id:
                detail = f"content {item.content_id} is not one of this VTuber's contents"
            elif content.status != "ready":
                detail = f"content {item.content_id} is {content.status}, not ready for fans"
            else:
                continue
            violations.append(Violation("G8", path, detail))
        error = refusal(violations)
        if error is not None:
            raise error
