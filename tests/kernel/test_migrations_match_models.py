"""Each service's migrations build exactly the tables its models declare: a column added to a
model without a migration (or a migration that drifted from the model) fails here, on the
backend the test runs on."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.engine import Connection

from koepon.app import Platform


async def test_every_services_migrations_match_its_models(platform: Platform) -> None:
    drift: dict[str, list[Any]] = {}
    for name, unit in platform.units.items():
        metadata = unit.outbox_table.metadata  # the service's one Base

        def compare(connection: Connection, metadata: Any = metadata) -> list[Any]:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            return list(compare_metadata(context, metadata))

        async with unit.db.engine.connect() as connection:
            found = await connection.run_sync(compare)
        if found:
            drift[name] = found
    assert not drift, f"migrations and models disagree: {drift}"
