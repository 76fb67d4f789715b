"""The draw queue's message: a draw was accepted and waits for a worker (gacha-internal)."""

from __future__ import annotations

from koepon.contracts import Event


class DrawRequested(Event):
    topic = "gacha.draw.requested.v1"
    draw_id: str
