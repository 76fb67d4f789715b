"""Alembic environment of the gacha service."""

from koepon.gacha.catalog import models as _catalog  # noqa: F401
from koepon.gacha.draws import models as _draws  # noqa: F401
from koepon.gacha.fairness import models as _fairness  # noqa: F401
from koepon.gacha.models import Base
from koepon.gacha.transparency import models as _transparency  # noqa: F401
from koepon.kernel.migrations import run_env

run_env(Base.metadata)
