"""The vtuber service's declarative base and its outbox, inbox and idempotency tables.

Sub-domains (profiles, teams, gachas, sales, payouts) declare their tables on this ``Base`` in
their own ``models.py``; this module imports none of them. ``migrations/env.py`` imports every
sub-domain's models.
"""

from __future__ import annotations

from sqlalchemy.orm import DeclarativeBase

from koepon.kernel.idempotency import idempotency_table
from koepon.kernel.inbox import inbox_table
from koepon.kernel.outbox import outbox_table


class Base(DeclarativeBase):
    pass


outbox = outbox_table(Base.metadata)
inbox = inbox_table(Base.metadata)
idempotency_keys = idempotency_table(Base.metadata)
