"""SQLite units of work: writers queue on the one write lock, readers never wait for it."""

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Annotated

import httpx
import pytest
from fastapi import Depends, FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from koepon.kernel.db import Database

# Far below the 60 s busy timeout: a read that waited for the lock would run into it.
NO_WAIT_SECONDS = 5


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'probe.db'}")
    async with database.transaction() as session:
        await session.execute(text("CREATE TABLE notes (body TEXT)"))
    yield database
    await database.dispose()


def app_of(db: Database) -> FastAPI:
    app = FastAPI()
    Session = Annotated[AsyncSession, Depends(db.session_dependency, scope="function")]

    @app.get("/notes")
    async def count(session: Session) -> int:
        return int((await session.execute(text("SELECT count(*) FROM notes"))).scalar_one())

    @app.post("/notes")
    async def add(session: Session) -> int:
        await session.execute(text("INSERT INTO notes VALUES ('posted')"))
        return 1

    return app


async def test_a_get_reads_beside_an_open_write_and_a_post_waits_for_it(db: Database) -> None:
    transport = httpx.ASGITransport(app_of(db))
    async with httpx.AsyncClient(transport=transport, base_url="http://probe") as client:
        async with db.transaction() as writer:
            await writer.execute(text("INSERT INTO notes VALUES ('open')"))
            # The GET sees the last committed state without waiting for the writer.
            read = await asyncio.wait_for(client.get("/notes"), NO_WAIT_SECONDS)
            assert read.json() == 0
            post = asyncio.create_task(client.post("/notes"))
        assert (await asyncio.wait_for(post, NO_WAIT_SECONDS)).status_code == 200
        assert (await client.get("/notes")).json() == 2


async def test_a_read_only_unit_of_work_does_not_wait_for_a_writer(db: Database) -> None:
    async with db.transaction() as writer:
        await writer.execute(text("INSERT INTO notes VALUES ('open')"))

        async def read() -> int:
            async with db.transaction(read_only=True) as session:
                return int((await session.execute(text("SELECT count(*) FROM notes"))).scalar_one())

        assert await asyncio.wait_for(read(), NO_WAIT_SECONDS) == 0
    async with db.transaction(read_only=True) as session:
        assert (await session.execute(text("SELECT count(*) FROM notes"))).scalar_one() == 1
