"""The public draw log as a service: sequencing, checkpoints, proofs checked by the standalone
verifier, tamper evidence found by a monitor, concurrent sequencers, and the public endpoints."""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import hashlib
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import delete, select, update

from gacha.conftest import gacha_context, gacha_services
from koepon.app import Platform
from koepon.gacha.fairness import verifier
from koepon.gacha.transparency import repository
from koepon.gacha.transparency.checkpoint import open_checkpoint
from koepon.gacha.transparency.leaf import canonical_json, draw_record
from koepon.gacha.transparency.merkle import MemoryLog, node_hash
from koepon.gacha.transparency.models import Leaf, Node
from koepon.gacha.transparency.monitor import audit_entries
from koepon.gacha.transparency.note import open_note, parse_verifier_key
from koepon.gacha.transparency.service import DrawLog, LogIntegrityError
from koepon.kernel.db import Database

# The background publisher only sequences when woken by a submit and never publishes on its
# own during a test: the tests decide which checkpoints exist.
QUIET = pytest.mark.service_settings(
    gacha={"draw_log_sequence_seconds": 3600, "draw_log_checkpoint_seconds": 3600}
)

SEED = bytes(range(32))
SEED_HASH = hashlib.sha256(SEED).hexdigest()
CLIENT_SEED = "fan-seed"
TABLE = [
    {"item_id": "voice-n", "weight": 70},
    {"item_id": "wall-r", "weight": 25},
    {"item_id": "illust-sr", "weight": 5},
]
START = datetime(2025, 4, 1, 3, 0, tzinfo=UTC)


def a_draw(nonce: int) -> tuple[str, dict[str, Any]]:
    """A one-slot draw whose outcome really follows from the seeds (algorithm version 1)."""
    draw_id = str(uuid.uuid4())
    weights = [line["weight"] for line in TABLE]
    item = TABLE[verifier.choose(weights, SEED, CLIENT_SEED, nonce)]["item_id"]
    return draw_id, draw_record(
        draw_id=draw_id,
        gacha_id="gacha-1",
        odds_version=1,
        server_seed_hash=SEED_HASH,
        client_seed=CLIENT_SEED,
        slots=[{"nonce": nonce, "table": "main", "item_id": item}],
        drawn_at=START + timedelta(seconds=nonce),
    )


def draw_log(platform: Platform) -> DrawLog:
    return gacha_services(platform).draw_log


class Fans:
    """Submits draws as the draw saga would, and remembers them in order."""

    def __init__(self, platform: Platform) -> None:
        self.ctx = gacha_context(platform)
        self.log = draw_log(platform)
        self.draws: list[tuple[str, dict[str, Any]]] = []

    @classmethod
    async def ready(cls, platform: Platform) -> Fans:
        """Once the background publisher's first round (which publishes a new log's size-0
        checkpoint) is over: from then on it only sequences, when a submit wakes it."""
        publisher = gacha_services(platform).log_publisher
        async with asyncio.timeout(10):
            while publisher.rounds < 1:  # noqa: ASYNC110 - a counter, not an event
                await asyncio.sleep(0.01)
        return cls(platform)

    async def draw(self, count: int, log: DrawLog | None = None) -> list[str]:
        made = [a_draw(len(self.draws) + i) for i in range(count)]
        async with (log or self.log).ctx.db.transaction() as session:
            for draw_id, record in made:
                await (log or self.log).submit(session, draw_id, record)
        self.draws += made
        return [draw_id for draw_id, _ in made]

    async def sequenced(self, count: int) -> None:
        """Draw ``count`` more and sequence everything waiting."""
        await self.draw(count)
        await drain(self.log)

    def leaves(self) -> list[str]:
        return [canonical_json(record) for _, record in self.draws]


async def drain(log: DrawLog) -> None:
    while await log.sequence():
        pass


def opened(note: str, key: str) -> tuple[str, int, bytes]:
    return verifier.open_checkpoint(note, key)


async def published_entries(client: httpx.AsyncClient, size: int) -> list[tuple[int, str]]:
    entries: list[tuple[int, str]] = []
    for start in range(0, size, 4):  # small pages: the monitor pages like a real one
        answer = await client.get(
            "/api/v1/draw-log/leaves", params={"start": start, "end": min(size, start + 4)}
        )
        assert answer.status_code == 200, answer.text
        entries += [(e["leaf_index"], e["leaf"]) for e in answer.json()["entries"]]
    return entries


async def monitor(client: httpx.AsyncClient) -> list[str]:
    """What a monitor runs: the key, the latest signed checkpoint, every entry, recompute."""
    key = (await client.get("/api/v1/draw-log/key")).text
    note = (await client.get("/api/v1/draw-log/checkpoint")).text
    _, size, root = opened(note, key)
    return audit_entries(size, root, await published_entries(client, size))


# --- sequencing -------------------------------------------------------------------------------


@QUIET
async def test_sequenced_draws_are_leaves_in_order_with_the_reference_tree(
    platform: Platform, client: httpx.AsyncClient
) -> None:
    fans = await Fans.ready(platform)
    first = await fans.draw(5)
    await fans.draw(8)
    async with fans.ctx.db.transaction() as session:  # the saga retried: nothing new
        await fans.log.submit(session, first[2], fans.draws[2][1])
    await drain(fans.log)
    async with fans.ctx.db.transaction() as session:  # retried after sequencing: still nothing
        await fans.log.submit(session, first[0], fans.draws[0][1])
        with pytest.raises(ValueError, match="draw"):  # a record is of the draw it is filed for
            await fans.log.submit(session, str(uuid.uuid4()), fans.draws[1][1])
    assert await fans.log.sequence() == 0

    assert await fans.log.publish_checkpoint() is not None
    assert await fans.log.publish_checkpoint() is None  # nothing grew
    reference = MemoryLog()
    for leaf in fans.leaves():
        reference.append(leaf.encode())
    _, size, root = opened(
        (await client.get("/api/v1/draw-log/checkpoint")).text, fans.log.verifier_key()
    )
    assert (size, root) == (13, reference.root())
    entries = await published_entries(client, 13)
    assert entries == list(enumerate(fans.leaves()))
    page = await client.get("/api/v1/draw-log/leaves", params={"start": 1, "end": 3})
    assert page.status_code == 200
    assert page.json() == {
        "start": 1,
        "end": 3,
        "entries": [
            {"leaf_index": 1, "leaf": fans.leaves()[1]},
            {"leaf_index": 2, "leaf": fans.leaves()[2]},
        ],
    }
    empty = await client.get("/api/v1/draw-log/leaves", params={"start": 13, "end": 13})
    assert empty.status_code == 200 and empty.json()["entries"] == []
    async with fans.ctx.db.transaction(read_only=True) as session:
        assert await repository.head_size(session) == 13
        assert await repository.pending_batch(session, 100) == []
        # Every complete subtree is stored once: 13 leaves + 6 + 3 + 1 inner nodes.
        assert len((await session.execute(select(Node.level))).all()) == reference.stored_hashes


# --- proofs checked by the standalone verifier -----------------------------------------------


@QUIET
async def test_every_leaf_is_proven_under_a_checkpoint_the_standalone_verifier_accepts(
    platform: Platform, client: httpx.AsyncClient
) -> None:
    fans = await Fans.ready(platform)
    await fans.sequenced(7)
    older = await fans.log.publish_checkpoint()
    assert older is not None
    waiting, record = a_draw(7)
    async with fans.ctx.db.transaction() as session:
        await fans.log.submit(session, waiting, record)
        assert await fans.log.proof(session, waiting) is None  # not sequenced yet
        assert await fans.log.proof(session, str(uuid.uuid4())) is None
    fans.draws.append((waiting, record))
    await fans.draw(3)
    await drain(fans.log)
    key = (await client.get("/api/v1/draw-log/key")).text
    assert key == fans.log.verifier_key()

    for index, (draw_id, record) in enumerate(fans.draws):
        # A GET's read-only session, as the draws router gives; leaves 7… have no checkpoint
        # yet, so the first of them makes the log publish one on demand.
        async with fans.ctx.db.transaction(read_only=True) as session:
            proof = await fans.log.proof(session, draw_id)
        assert proof is not None
        assert proof.leaf_index == index and proof.leaf == canonical_json(record)
        # Proven under the latest checkpoint: 7 until leaf 7 needs (and gets) one of 11.
        assert proof.tree_size == (7 if index < 7 else 11)
        origin, size, root = opened(proof.checkpoint, key)
        assert (origin, size) == ("koepon.jp/draw-log", proof.tree_size)
        path = [base64.b64decode(p) for p in proof.proof]
        assert verifier.inclusion_ok(proof.leaf.encode(), index, size, path, root)
        assert not verifier.inclusion_ok(proof.leaf.encode(), index ^ 1, size, path, root)

    # The whole bundle a fan assembles after rotating seeds: every check passes.
    draw_id, record = fans.draws[3]
    async with fans.ctx.db.transaction(read_only=True) as session:
        proof = await fans.log.proof(session, draw_id)
        growth = await fans.log.consistency(session, 7, 11)
    assert proof is not None and proof.tree_size == 11
    bundle = {
        "algorithm_version": 1,
        "server_seed": SEED.hex(),
        "server_seed_hash": SEED_HASH,
        "client_seed": CLIENT_SEED,
        "tables": {"main": TABLE},
        "results": record["slots"],
        "proof": proof.model_dump(),
        "log_key": key,
        "consistency": {"checkpoint": older, "proof": growth.proof},
    }
    checks = verifier.verify(bundle)
    assert [c.name for c in checks if not c.ok] == []
    assert {"inclusion", "consistency", "log leaf"} <= {c.name for c in checks}


@QUIET
async def test_consistency_proofs_between_every_pair_of_checkpoints_verify(
    platform: Platform, client: httpx.AsyncClient
) -> None:
    fans = await Fans.ready(platform)
    sizes = [0]  # a new log's size-0 checkpoint
    for grow in (1, 1, 1, 2, 3, 5, 8):
        await fans.sequenced(grow)
        assert await fans.log.publish_checkpoint() is not None
        sizes.append(len(fans.draws))
    key = (await client.get("/api/v1/draw-log/key")).text
    roots = {}
    for size in sizes:
        answer = await client.get("/api/v1/draw-log/checkpoints", params={"size": size})
        assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/plain")
        _, opened_size, roots[size] = opened(answer.text, key)
        assert opened_size == size
    for first in sizes:
        for second in sizes:
            if first > second:
                continue
            answer = await client.get(
                "/api/v1/draw-log/consistency", params={"first": first, "second": second}
            )
            assert answer.status_code == 200, answer.text
            body = answer.json()
            assert (body["first"], body["second"]) == (first, second)
            path = [base64.b64decode(p) for p in body["proof"]]
            assert verifier.consistency_ok(first, second, roots[first], roots[second], path)
            if path:  # a different tree under the same sizes does not pass
                wrong = [node_hash(path[0], path[0]), *path[1:]]
                assert not verifier.consistency_ok(
                    first, second, roots[first], roots[second], wrong
                )


# --- tamper evidence --------------------------------------------------------------------------


async def _edit(session: Any, fans: Fans) -> list[int]:
    forged = dict(fans.draws[4][1], slots=[{"nonce": 4, "table": "main", "item_id": "voice-n"}])
    forged["drawn_at"] = "2025-04-01T03:00:05Z"
    await session.execute(
        update(Leaf).where(Leaf.leaf_index == 4).values(record=canonical_json(forged))
    )
    return [4]


async def _delete(session: Any, fans: Fans) -> list[int]:
    # Removed, and the later leaves renumbered so no gap shows.
    await session.execute(delete(Leaf).where(Leaf.leaf_index == 2))
    for index in range(3, len(fans.draws)):
        await session.execute(
            update(Leaf).where(Leaf.leaf_index == index).values(leaf_index=index - 1)
        )
    return [2]


async def _swap(session: Any, fans: Fans) -> list[int]:
    (five_id, _), (six_id, _) = fans.draws[5], fans.draws[6]
    five, six = fans.leaves()[5], fans.leaves()[6]
    await session.execute(update(Leaf).where(Leaf.leaf_index == 5).values(draw_id="moving"))
    await session.execute(
        update(Leaf).where(Leaf.leaf_index == 6).values(draw_id=five_id, record=five)
    )
    await session.execute(
        update(Leaf).where(Leaf.leaf_index == 5).values(draw_id=six_id, record=six)
    )
    return [5, 6]


@QUIET
@pytest.mark.parametrize("tamper", [_edit, _delete, _swap], ids=["edit", "delete", "swap"])
async def test_an_edited_deleted_or_reordered_draw_is_detected(
    platform: Platform, client: httpx.AsyncClient, tamper: Any
) -> None:
    fans = await Fans.ready(platform)
    await fans.sequenced(5)
    await fans.log.publish_checkpoint()
    await fans.sequenced(4)
    await fans.log.publish_checkpoint()
    assert await monitor(client) == []

    async with fans.ctx.db.transaction() as session:
        touched = await tamper(session, fans)

    problems = await monitor(client)
    assert problems and any("does not match the signed checkpoint" in p for p in problems)
    key = fans.log.verifier_key()
    for index in touched:
        draw_id = fans.draws[index][0]
        async with fans.ctx.db.transaction(read_only=True) as session:
            proof = await fans.log.proof(session, draw_id)
        if proof is None:  # deleted: the fan's draw is gone from the log, which they notice
            continue
        _, size, root = opened(proof.checkpoint, key)
        path = [base64.b64decode(p) for p in proof.proof]
        assert not verifier.inclusion_ok(proof.leaf.encode(), proof.leaf_index, size, path, root)


@QUIET
async def test_the_log_refuses_to_sign_a_rewritten_history(
    platform: Platform, client: httpx.AsyncClient
) -> None:
    fans = await Fans.ready(platform)
    await fans.sequenced(6)
    saved = await fans.log.publish_checkpoint()
    assert saved is not None
    # An insider rewrites leaf 1 and every stored hash above it, consistently.
    forged = MemoryLog()
    leaves = fans.leaves()
    leaves[1] = leaves[1].replace("fan-seed", "fan-seeX")
    for leaf in leaves:
        forged.append(leaf.encode())
    async with fans.ctx.db.transaction() as session:
        await session.execute(update(Leaf).where(Leaf.leaf_index == 1).values(record=leaves[1]))
        for (level, index), digest in forged._nodes.items():
            await session.execute(
                update(Node).where(Node.level == level, Node.index == index).values(hash=digest)
            )
    await fans.sequenced(2)
    with pytest.raises(LogIntegrityError, match="refusing to sign"):
        await fans.log.publish_checkpoint()
    assert (await client.get("/api/v1/draw-log/checkpoint")).text == saved


# --- concurrency ------------------------------------------------------------------------------


@QUIET
async def test_concurrent_sequencers_build_one_tree_without_duplicates_or_gaps(
    platform: Platform, client: httpx.AsyncClient
) -> None:
    fans = await Fans.ready(platform)
    url, schema = fans.ctx.settings.database_url_for("gacha")
    other_db = Database(url, schema, pool_size=4)  # another process: its own connections
    other = DrawLog(dataclasses.replace(fans.ctx, db=other_db))
    try:

        async def sequencer(log: DrawLog) -> None:
            for _ in range(25):
                await log.sequence(limit=3)
                await asyncio.sleep(0)

        async def submitter() -> None:
            for _ in range(10):
                await fans.draw(4, log=other if len(fans.draws) % 8 else None)

        await asyncio.gather(
            submitter(), sequencer(fans.log), sequencer(other), sequencer(fans.log)
        )
        await asyncio.gather(drain(fans.log), drain(other))
        await other.publish_checkpoint()
        await fans.log.publish_checkpoint()
    finally:
        await other_db.dispose()

    async with fans.ctx.db.transaction(read_only=True) as session:
        rows = (await session.execute(select(Leaf).order_by(Leaf.leaf_index))).scalars().all()
    assert [r.leaf_index for r in rows] == list(range(40))
    assert sorted(r.draw_id for r in rows) == sorted(d for d, _ in fans.draws)
    # Each submitting transaction's draws stay in their order.
    position = {r.draw_id: r.leaf_index for r in rows}
    for start in range(0, 40, 4):
        batch = [position[d] for d, _ in fans.draws[start : start + 4]]
        assert batch == sorted(batch)
    assert await monitor(client) == []


# --- the public endpoints ---------------------------------------------------------------------


@QUIET
async def test_the_checkpoint_is_a_signed_note_of_the_logs_key_from_the_first_request(
    platform: Platform, client: httpx.AsyncClient
) -> None:
    answer = await client.get("/api/v1/draw-log/checkpoint")  # anonymous, as anyone
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "text/plain; charset=utf-8"
    key = await client.get("/api/v1/draw-log/key")
    assert key.status_code == 200 and key.headers["content-type"].startswith("text/plain")
    verifier_key = parse_verifier_key(key.text)
    assert verifier_key.name == "koepon.jp/draw-log"
    text = open_note(answer.text, [verifier_key]).text
    assert text.startswith("koepon.jp/draw-log\n0\n")
    head = open_checkpoint(answer.text, [verifier_key], origin="koepon.jp/draw-log")
    assert head.size == 0 and head.root_hash == hashlib.sha256(b"").digest()
    same = await client.get("/api/v1/draw-log/checkpoints", params={"size": 0})
    assert same.text == answer.text

    fans = await Fans.ready(platform)
    await fans.sequenced(3)
    await fans.log.publish_checkpoint()
    grown = open_checkpoint(
        (await client.get("/api/v1/draw-log/checkpoint")).text,
        [verifier_key],
        origin="koepon.jp/draw-log",
    )
    assert grown.size == 3


BAD_RANGES = [  # (path, query, status, code, the parameter named)
    ("consistency", {"first": 3, "second": 2}, 422, "invalid_log_range", "first"),
    ("consistency", {"first": 0, "second": 4}, 422, "invalid_log_range", "second"),
    ("consistency", {"first": 4, "second": 9}, 422, "invalid_log_range", "second"),
    ("consistency", {"first": "one", "second": 2}, 422, "validation_failed", "first"),
    ("consistency", {"first": 0, "second": "2.5"}, 422, "validation_failed", "second"),
    ("consistency", {"first": -1, "second": 2}, 422, "validation_failed", "first"),
    ("consistency", {"first": 0, "second": 10**30}, 422, "validation_failed", "second"),
    ("consistency", {"first": 0}, 422, "validation_failed", "second"),
    ("leaves", {"start": 0, "end": 100_000}, 422, "invalid_log_range", "end"),
    ("leaves", {"start": 0, "end": 4}, 422, "invalid_log_range", "end"),
    ("leaves", {"start": 2, "end": 1}, 422, "invalid_log_range", "end"),
    ("leaves", {"start": "x", "end": 1}, 422, "validation_failed", "start"),
    ("leaves", {"start": 0, "end": 2**63}, 422, "validation_failed", "end"),
    ("leaves", {"end": 1}, 422, "validation_failed", "start"),
    ("checkpoints", {"size": "big"}, 422, "validation_failed", "size"),
    ("checkpoints", {"size": -3}, 422, "validation_failed", "size"),
    ("checkpoints", {"size": 2}, 404, "checkpoint_not_found", "size"),
    ("checkpoints", {"size": 10**25}, 422, "validation_failed", "size"),
]


@QUIET
async def test_bad_ranges_are_refused_naming_the_parameter(
    platform: Platform, client: httpx.AsyncClient
) -> None:
    fans = await Fans.ready(platform)
    await fans.sequenced(3)
    await fans.log.publish_checkpoint()
    await fans.sequenced(2)  # sequenced, not yet in a checkpoint: beyond the published size
    for path, params, status, code, named in BAD_RANGES:
        answer = await client.get(f"/api/v1/draw-log/{path}", params=params)
        assert answer.status_code == status, (path, params, answer.text)
        assert answer.headers["content-type"].startswith("application/problem+json")
        problem = answer.json()
        assert problem["code"] == code, (path, params)
        assert named in problem["detail"] or problem.get("parameter") == named, (path, params)
    async with fans.ctx.db.transaction(read_only=True) as session:
        assert await repository.head_size(session) == 5  # nothing changed
        latest = await repository.latest_checkpoint(session)
        assert latest is not None and latest.size == 3


# --- the background publisher -----------------------------------------------------------------


@QUIET
async def test_a_submitted_draw_is_sequenced_promptly_by_the_background_publisher(
    platform: Platform,
) -> None:
    fans = await Fans.ready(platform)
    await fans.draw(2)  # committing wakes the publisher (its own period is an hour here)
    async with asyncio.timeout(10):
        while True:
            async with fans.ctx.db.transaction(read_only=True) as session:
                if await repository.head_size(session) == 2:
                    break
            await asyncio.sleep(0.05)
