"""The payment service's tables: one declarative base, its outbox and inbox, every sub-domain.

Alembic sees a table only if its module is imported here: each sub-domain adds one line at the
bottom of this file.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import BigInteger, DateTime, Integer
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator

from koepon.kernel.inbox import inbox_table
from koepon.kernel.outbox import outbox_table

# Autoincrementing 64-bit keys that are also SQLite's rowid (SQLite only autoincrements INTEGER).
BigSerial = BigInteger().with_variant(Integer(), "sqlite")


class UtcDateTime(TypeDecorator[datetime]):
    """An aware UTC instant on both backends (SQLite keeps no offset: store UTC, read it back
    as UTC), so comparisons in SQL and in Python agree."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: payment stores aware UTC instants only")
        instant: datetime = value.astimezone(UTC)
        return instant if dialect.name == "postgresql" else instant.replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        instant: datetime = value
        return instant.replace(tzinfo=UTC) if instant.tzinfo is None else instant.astimezone(UTC)


class Base(DeclarativeBase):
    pass


outbox = outbox_table(Base.metadata)
inbox = inbox_table(Base.metadata)

# Sub-domain tables (one import per sub-domain, so migrations see every table). Medal purchases
# (issue 4): packs, checkouts + idempotency keys, the sandbox provider's book.
from koepon.payment.checkout import models as _checkout  # noqa: E402, F401
from koepon.payment.ledger import models as _ledger  # noqa: E402, F401
from koepon.payment.packs import models as _packs  # noqa: E402, F401
from koepon.payment.providers import models as _providers  # noqa: E402, F401
from koepon.payment.wallet import models as _wallet  # noqa: E402, F401
