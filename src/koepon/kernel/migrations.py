"""Alembic per service: each service has its own history, version table and schema/database."""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command, context
from alembic.config import Config
from sqlalchemy import MetaData, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine


def alembic_config(script_location: Path, url: str, schema: str | None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(script_location))
    cfg.attributes["url"] = url
    cfg.attributes["schema"] = schema
    return cfg


def upgrade(script_location: Path, url: str, schema: str | None) -> None:
    """Bring one service's database to its newest revision (call from a thread without loop)."""
    command.upgrade(alembic_config(script_location, url, schema), "head")


async def upgrade_async(script_location: Path, url: str, schema: str | None) -> None:
    await asyncio.to_thread(upgrade, script_location, url, schema)


def run_env(metadata: MetaData) -> None:
    """Body of every service's ``migrations/env.py``."""
    url: str = context.config.attributes["url"]
    schema: str | None = context.config.attributes.get("schema")

    def run(connection: Connection) -> None:
        if schema and connection.dialect.name == "postgresql":
            connection.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
            connection.execute(text(f'SET search_path TO "{schema}"'))
            connection.commit()
        context.configure(
            connection=connection,
            target_metadata=metadata,
            version_table_schema=schema if connection.dialect.name == "postgresql" else None,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()

    async def main() -> None:
        engine = create_async_engine(url)
        try:
            async with engine.connect() as connection:
                await connection.run_sync(run)
        finally:
            await engine.dispose()

    asyncio.run(main())
