"""Alembic environment of the VTuber service."""

from koepon.kernel.migrations import run_env
from koepon.vtuber.gachas import models as _gachas  # noqa: F401
from koepon.vtuber.models import Base
from koepon.vtuber.overlays import models as _overlays  # noqa: F401
from koepon.vtuber.payouts import models as _payouts  # noqa: F401
from koepon.vtuber.sales import models as _sales  # noqa: F401
from koepon.vtuber.teams import models as _teams  # noqa: F401

run_env(Base.metadata)
