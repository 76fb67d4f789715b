"""The public draw log (docs/FAIRNESS.md §3): every completed draw's record becomes a leaf of one
RFC 9162 Merkle tree; signed tree heads are published as C2SP checkpoints.

- ``submit`` queues a record in the transaction that completes the draw (the draw saga's part).
- ``sequence`` appends queued records in submission order: the head row is locked, each leaf
  and the complete subtrees it closes are stored, the log's size moves on, all in one
  transaction, so any number of processes may run it at once and the tree stays one tree.
- ``publish_checkpoint`` signs the current tree head (after checking that the tree is an
  append-only extension of the last signed one) and stores the note.
- ``proof``, ``consistency`` and ``leaves`` answer fans and monitors from the stored hashes.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import structlog
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from koepon.gacha.context import GachaContext
from koepon.gacha.transparency import repository
from koepon.gacha.transparency.checkpoint import Checkpoint as TreeHead
from koepon.gacha.transparency.checkpoint import sign_checkpoint
from koepon.gacha.transparency.leaf import canonical_json
from koepon.gacha.transparency.merkle import (
    HASH_SIZE,
    NodeLookup,
    consistency_proof,
    inclusion_proof,
    new_nodes,
    tree_hash,
    verify_consistency,
)
from koepon.gacha.transparency.models import Leaf
from koepon.gacha.transparency.schemas import (
    ConsistencyProof,
    InclusionProof,
    LogEntries,
    LogEntry,
)
from koepon.gacha.transparency.signer import load_signer
from koepon.kernel.errors import DomainError

log = structlog.get_logger(__name__)

T = TypeVar("T")
NodeKey = tuple[int, int]

# Records appended per sequencing transaction (bounded: the head row stays locked briefly).
BATCH = 500
# Entries per GET /draw-log/leaves.
MAX_ENTRIES = 1000
_WAKE = "koepon.draw_log.wake"


class LogRangeInvalid(DomainError):
    """Sizes or indexes the published log does not have; ``parameter`` names the culprit."""

    status = 422
    code = "invalid_log_range"


class CheckpointNotFound(DomainError):
    status = 404
    code = "checkpoint_not_found"


class LogIntegrityError(RuntimeError):
    """The stored tree is not what the log signed (a stored hash is missing, or the tree is not
    an extension of the last checkpoint): the log refuses to sign or prove anything from it."""


def frontier(size: int) -> list[NodeKey]:
    """The complete subtrees on the right edge of a tree of ``size`` leaves: the only stored
    hashes appending after it can need (one per set bit of ``size``)."""
    return [(level, (size >> level) - 1) for level in range(size.bit_length()) if size >> level & 1]


async def _from_stored(session: AsyncSession, compute: Callable[[NodeLookup], T]) -> T:
    """``compute`` over the stored hashes, read in one query: a first pass with placeholder
    hashes collects which (level, index) hashes it reads (the shape of a tree hash or a proof
    never depends on hash values), then the real pass runs on those."""
    wanted: set[NodeKey] = set()

    def collect(level: int, index: int) -> bytes:
        wanted.add((level, index))
        return bytes(HASH_SIZE)

    compute(collect)
    stored = await repository.nodes(session, wanted)
    if len(stored) != len(wanted):
        missing = sorted(wanted - stored.keys())[:5]
        raise LogIntegrityError(f"the draw log is missing stored hashes {missing}")

    def lookup(level: int, index: int) -> bytes:
        return stored[(level, index)]

    return compute(lookup)


def _b64(hashes: list[bytes]) -> list[str]:
    return [base64.b64encode(h).decode("ascii") for h in hashes]


class DrawLog:
    def __init__(self, ctx: GachaContext) -> None:
        self.ctx = ctx
        self.origin = ctx.gacha_settings.draw_log_origin
        # Start-up stops here when production has no key (KOEPON_DRAW_LOG_SIGNING_KEY).
        self.signer = load_signer(ctx.settings, ctx.gacha_settings)
        # Set after a transaction that submitted a record commits (wakes the sequencer).
        self.submitted = asyncio.Event()

    def verifier_key(self) -> str:
        """The log's public key in signed-note verifier form (``name+keyid+base64key``)."""
        return str(self.signer.verifier)

    # --- the draw saga's part ---

    async def submit(self, session: AsyncSession, draw_id: str, record: Mapping[str, Any]) -> None:
        """Queue a completed draw's record (``transparency.leaf.draw_record``) for the log, in
        the transaction that completes the draw. Submitting the same draw twice is a no-op."""
        if record.get("draw_id") != draw_id:
            raise ValueError(f"the record is of draw {record.get('draw_id')!r}, not {draw_id!r}")
        text = canonical_json(record)
        if await repository.is_logged(session, draw_id):
            return
        await repository.add_pending(session, draw_id, text, self.ctx.now())
        self._wake_after_commit(session)

    def _wake_after_commit(self, session: AsyncSession) -> None:
        sync = session.sync_session
        if sync.info.get(_WAKE):
            return
        sync.info[_WAKE] = True

        def wake(_session: Session) -> None:
            self.submitted.set()

        event.listen(sync, "after_commit", wake)

    # --- appending ---

    async def sequence(self, *, limit: int = BATCH) -> int:
        """Append up to ``limit`` queued records in submission order, in one transaction that
        holds the head row; the number appended."""
        async with self.ctx.db.transaction() as session:
            head = await repository.lock_head(session)
            pending = await repository.pending_batch(session, limit)
            if not pending:
                return 0
            # A draw submitted again while its first record was being appended is logged once.
            logged = await repository.logged_draw_ids(session, [p.draw_id for p in pending])
            size = int(head.size)
            edge = frontier(size)
            known = await repository.nodes(session, edge)
            if len(known) != len(edge):
                raise LogIntegrityError(f"the draw log of size {size} is missing stored hashes")

            def lookup(level: int, index: int) -> bytes:
                return known[(level, index)]

            now = self.ctx.now()
            leaves: list[dict[str, object]] = []
            created: list[tuple[int, int, bytes]] = []
            for item in pending:
                if item.draw_id in logged:
                    continue
                logged.add(item.draw_id)
                for level, index, digest in new_nodes(size, item.record.encode("utf-8"), lookup):
                    known[(level, index)] = digest
                    created.append((level, index, digest))
                leaves.append(
                    {
                        "leaf_index": size,
                        "draw_id": item.draw_id,
                        "record": item.record,
                        "logged_at": now,
                    }
                )
                size += 1
            await repository.add_leaves(session, leaves)
            await repository.add_nodes(session, created)
            await repository.delete_pending(session, [p.seq for p in pending])
            head.size = size
        if leaves:
            log.info("draw_log.sequenced", appended=len(leaves), size=size)
        return len(leaves)

    # --- signing ---

    async def publish_checkpoint(self) -> str | None:
        """Sign and store a checkpoint of the current tree when it grew since the latest one
        (or the size-0 checkpoint of a log that has none); the note, or None if nothing new."""
        async with self.ctx.db.transaction() as session:
            size = await repository.head_size(session)
            latest = await repository.latest_checkpoint(session)
            if latest is not None and latest.size >= size:
                return None
            root = await _from_stored(session, lambda lookup: tree_hash(size, lookup))
            if latest is not None and latest.size > 0:
                old_size, old_root = int(latest.size), bytes(latest.root_hash)
                proof = await _from_stored(
                    session, lambda lookup: consistency_proof(old_size, size, lookup)
                )
                if not verify_consistency(old_size, size, old_root, root, proof):
                    log.error("draw_log.inconsistent", signed_size=old_size, size=size)
                    raise LogIntegrityError(
                        f"the stored tree of size {size} does not extend the signed checkpoint "
                        f"of size {old_size}: refusing to sign"
                    )
            note = sign_checkpoint(TreeHead(self.origin, size, root), self.signer)
            await repository.add_checkpoint(
                session, size=size, root_hash=root, note=note, at=self.ctx.now()
            )
        log.info("draw_log.checkpoint", size=size)
        return note

    # --- public reads ---

    async def latest_checkpoint(self) -> str:
        """The latest signed checkpoint (a new log's size-0 checkpoint is published on first
        request)."""
        async with self.ctx.db.transaction(read_only=True) as session:
            latest = await repository.latest_checkpoint(session)
        if latest is not None:
            return latest.note
        published = await self.publish_checkpoint()
        if published is not None:
            return published
        async with self.ctx.db.transaction(read_only=True) as session:
            latest = await repository.latest_checkpoint(session)
        assert latest is not None  # another process published it meanwhile
        return latest.note

    async def checkpoint(self, session: AsyncSession, size: int) -> str:
        """The published checkpoint of this size (a fan fetches an older one to check growth)."""
        found = await repository.checkpoint_of_size(session, size)
        if found is None:
            raise CheckpointNotFound(
                f"No checkpoint of size {size} was published", parameter="size"
            )
        return found.note

    async def proof(self, session: AsyncSession, draw_id: str) -> InclusionProof | None:
        """The draw's leaf and its inclusion proof under the latest checkpoint; None until the
        draw is sequenced. A leaf no checkpoint covers yet gets a checkpoint published now."""
        leaf = await repository.leaf_of_draw(session, draw_id)
        if leaf is None:
            return None
        answer = await self._inclusion(session, leaf)
        if answer is not None:
            return answer
        await self.publish_checkpoint()
        # A new transaction: the caller's may read a snapshot older than the new checkpoint.
        async with self.ctx.db.transaction(read_only=True) as fresh:
            answer = await self._inclusion(fresh, leaf)
        if answer is None:
            raise LogIntegrityError(f"no checkpoint covers leaf {leaf.leaf_index} after signing")
        return answer

    async def _inclusion(self, session: AsyncSession, leaf: Leaf) -> InclusionProof | None:
        latest = await repository.latest_checkpoint(session)
        if latest is None or latest.size <= leaf.leaf_index:
            return None
        index, size = int(leaf.leaf_index), int(latest.size)
        path = await _from_stored(session, lambda lookup: inclusion_proof(index, size, lookup))
        return InclusionProof(
            leaf_index=index,
            tree_size=size,
            leaf=leaf.record,
            proof=_b64(path),
            checkpoint=latest.note,
        )

    async def _published_size(self, session: AsyncSession) -> int:
        latest = await repository.latest_checkpoint(session)
        return int(latest.size) if latest is not None else 0

    async def consistency(self, session: AsyncSession, first: int, second: int) -> ConsistencyProof:
        """RFC 9162 consistency proof between two sizes, 0 ≤ first ≤ second ≤ the latest
        published checkpoint's size."""
        published = await self._published_size(session)
        if first < 0:
            raise LogRangeInvalid(f"first ({first}) is negative", parameter="first")
        if first > second:
            raise LogRangeInvalid(
                f"first ({first}) is larger than second ({second})", parameter="first"
            )
        if second > published:
            raise LogRangeInvalid(
                f"second ({second}) is beyond the latest checkpoint's size ({published})",
                parameter="second",
            )
        path = await _from_stored(session, lambda lookup: consistency_proof(first, second, lookup))
        return ConsistencyProof(first=first, second=second, proof=_b64(path))

    async def leaves(self, session: AsyncSession, start: int, end: int) -> LogEntries:
        """Entries ``start`` … ``end - 1`` (at most ``MAX_ENTRIES``, within the latest
        published checkpoint), so anyone can recompute the tree."""
        published = await self._published_size(session)
        if start < 0:
            raise LogRangeInvalid(f"start ({start}) is negative", parameter="start")
        if end < start:
            raise LogRangeInvalid(f"end ({end}) is before start ({start})", parameter="end")
        if end - start > MAX_ENTRIES:
            raise LogRangeInvalid(
                f"at most {MAX_ENTRIES} entries per request (asked {end - start})",
                parameter="end",
            )
        if end > published:
            raise LogRangeInvalid(
                f"end ({end}) is beyond the latest checkpoint's size ({published})",
                parameter="end",
            )
        rows = await repository.leaves_between(session, start, end)
        return LogEntries(
            start=start,
            end=end,
            entries=[LogEntry(leaf_index=int(r.leaf_index), leaf=r.record) for r in rows],
        )
