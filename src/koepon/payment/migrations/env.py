"""Alembic environment of the payment service."""

from koepon.kernel.migrations import run_env
from koepon.payment.models import Base

run_env(Base.metadata)
