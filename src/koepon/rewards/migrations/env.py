"""Alembic environment of the rewards service."""

from koepon.kernel.migrations import run_env
from koepon.rewards.contents import models as _contents  # noqa: F401
from koepon.rewards.downloads import models as _downloads  # noqa: F401
from koepon.rewards.entitlements import models as _entitlements  # noqa: F401
from koepon.rewards.models import Base

run_env(Base.metadata)
