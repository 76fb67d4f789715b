"""Alembic environment of the payment service."""

from koepon.kernel.migrations import run_env

# Alembic sees a table only if its module is imported: one line per sub-domain with tables.
from koepon.payment.checkout import models as _checkout  # noqa: F401
from koepon.payment.ledger import models as _ledger  # noqa: F401
from koepon.payment.models import Base
from koepon.payment.packs import models as _packs  # noqa: F401
from koepon.payment.providers import models as _providers  # noqa: F401
from koepon.payment.wallet import models as _wallet  # noqa: F401

run_env(Base.metadata)
