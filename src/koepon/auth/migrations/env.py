"""Alembic environment of the auth service."""

from koepon.auth.models import Base
from koepon.kernel.migrations import run_env

run_env(Base.metadata)
