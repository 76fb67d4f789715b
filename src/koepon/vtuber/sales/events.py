"""The draw events sales consumes, checked against what its table can hold (pure)."""

from __future__ import annotations

from koepon.contracts.gacha import DrawCompleted, DrawReversed
from koepon.contracts.vtuber import RevenueShare
from koepon.kernel.bus import Message
from koepon.vtuber.gachas.events import Malformed, check_amount, check_id
from koepon.vtuber.gachas.shares import SharesInvalid, check_vtuber_id, parties

TOPICS = (DrawCompleted.topic, DrawReversed.topic)
MAX_TRANSFER_ID_CHARS = 100  # vtuber_sales.transfer_id


def parse(message: Message) -> DrawCompleted | DrawReversed:
    """The event of ``message``; raises ``Malformed`` or ``ValidationError`` for a payload that
    breaks the contract (it never will succeed)."""
    if message.topic == DrawCompleted.topic:
        completed = DrawCompleted.model_validate(message.payload)
        for name in ("draw_id", "user_id", "gacha_id"):
            check_id(name, getattr(completed, name))
        if completed.count < 1:
            raise Malformed("count: a draw has at least one slot")
        for name in ("count", "price_medals", "paid_medals", "free_medals", "paid_value_jpy"):
            check_amount(name, getattr(completed, name))
        earning(completed.vtuber_id, completed.shares)
        if completed.transfer_id is not None:
            check_transfer_id(completed.transfer_id)
        return completed
    if message.topic == DrawReversed.topic:
        reversed_ = DrawReversed.model_validate(message.payload)
        check_id("draw_id", reversed_.draw_id)
        check_id("user_id", reversed_.user_id)
        check_amount("paid_value_jpy", reversed_.paid_value_jpy)
        if carries_figures(reversed_):
            check_id("gacha_id", reversed_.gacha_id or "")
            earning(reversed_.vtuber_id or "", reversed_.shares)
        return reversed_
    raise Malformed(f"topic {message.topic!r} is not one this consumer reads")


def check_transfer_id(value: str) -> None:
    """A payment transfer id fits ``vtuber_sales.transfer_id`` (1 to 100 characters, no NUL)."""
    if not value or len(value) > MAX_TRANSFER_ID_CHARS or "\x00" in value:
        raise Malformed(
            f"transfer_id: 1 to {MAX_TRANSFER_ID_CHARS} characters without NUL are required"
        )


def carries_figures(event: DrawReversed) -> bool:
    """Whether the reversal says what it takes back (events published before these fields
    existed name neither gacha nor VTuber)."""
    return event.gacha_id is not None and event.vtuber_id is not None


def earning(lead: str, shares: list[RevenueShare]) -> tuple[RevenueShare, ...]:
    """The earning VTubers of a draw (all to ``lead`` when ``shares`` is empty)."""
    try:
        return parties(check_vtuber_id(lead), shares)
    except SharesInvalid as exc:
        raise Malformed(str(exc)) from exc
