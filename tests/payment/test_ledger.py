"""The ledger against the real databases: a model-based stateful test, idempotent transfer ids,
two phases, linked chains, database-enforced flags, immutable transfers, and the audit command."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    invariant,
    multiple,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, IntegrityError

from koepon.app import Platform
from koepon.kernel.db import Database
from koepon.kernel.settings import Settings
from koepon.payment.ledger.accounts import SYSTEM_SHARDS, general_account, system_account
from koepon.payment.ledger.rules import AccountFlags, LedgerError, Transfer, TransferFlags
from koepon.payment.ledger.service import Ledger

from .conftest import WalletHarness, new_user

ROOT = Path(__file__).resolve().parents[2]
F = TransferFlags


def accounts(prefix: str) -> dict[str, str]:
    return {
        "src": general_account("paid", 0, f"{prefix}-src"),
        "a": general_account("paid", AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS, f"{prefix}-a"),
        "b": general_account("paid", AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS, f"{prefix}-b"),
        "debt": general_account("paid", AccountFlags.CREDITS_MUST_NOT_EXCEED_DEBITS, f"{prefix}-d"),
    }


# -- a simple model of the ledger, and a state machine driving the real one ---------------------


class Model:
    """Balances as plain dicts; the ledger's rules restated as simply as possible."""

    def __init__(self, flags: dict[str, int]) -> None:
        self.flags = flags
        self.bal = {a: {"dpe": 0, "dpo": 0, "cpe": 0, "cpo": 0} for a in flags}
        self.pending: dict[str, tuple[str, str, int]] = {}
        self.resolved: set[str] = set()

    def ok(self, bal: dict[str, dict[str, int]]) -> bool:
        for account, b in bal.items():
            if self.flags[account] & 1 and b["dpe"] + b["dpo"] > b["cpo"]:
                return False
            if self.flags[account] & 2 and b["cpe"] + b["cpo"] > b["dpo"]:
                return False
        return True

    def apply(self, steps: list[tuple[str, str, str, int, str | None]]) -> bool:
        """steps: (op, debit, credit, amount, pending_id); all or nothing."""
        bal = {a: dict(b) for a, b in self.bal.items()}
        pending = dict(self.pending)
        resolved = set(self.resolved)
        for op, debit, credit, amount, pid in steps:
            if op == "single":
                bal[debit]["dpo"] += amount
                bal[credit]["cpo"] += amount
            elif op == "pending":
                bal[debit]["dpe"] += amount
                bal[credit]["cpe"] += amount
                assert pid is not None
                pending[pid] = (debit, credit, amount)
            else:
                if pid not in pending or pid in resolved:
                    return False
                d, c, held = pending[pid]
                if op == "post" and amount > held:
                    return False
                bal[d]["dpe"] -= held
                bal[c]["cpe"] -= held
                if op == "post":
                    bal[d]["dpo"] += amount
                    bal[c]["cpo"] += amount
                resolved.add(pid)
            if not self.ok(bal):
                return False
        self.bal, self.pending, self.resolved = bal, pending, resolved
        return True


class LedgerMachine(RuleBasedStateMachine):
    """Random batches against the real ledger; after every step its balances equal the model's."""

    db: Database
    loop: asyncio.AbstractEventLoop

    pendings = Bundle("pendings")
    done = Bundle("done")

    def __init__(self) -> None:
        super().__init__()
        self.ledger = Ledger(lambda: datetime.now(UTC))
        self.accounts = accounts(uuid.uuid4().hex[:12])
        self.model = Model(
            {a: int(spec) for a, spec in zip(self.accounts.values(), (0, 1, 1, 2), strict=True)}
        )
        seed = self._single("src", "a", 50)
        assert self.model.apply(self._steps([seed]))
        self.run([seed], expect=True)

    def _id(self) -> str:
        return f"t-{uuid.uuid4().hex}"

    def _single(self, debit: str, credit: str, amount: int, flags: int = 0) -> Transfer:
        return Transfer(
            id=self._id(),
            debit_account_id=self.accounts[debit],
            credit_account_id=self.accounts[credit],
            amount=amount,
            ledger=1,
            code=3,
            flags=flags,
        )

    def run(self, batch: list[Transfer], expect: bool | None = None) -> list[str]:
        async def go() -> list[str]:
            async with self.db.transaction() as session:
                results = await self.ledger.create_transfers(session, batch)
            return [r.status if r.ok else str(r.code) for r in results]

        statuses = self.loop.run_until_complete(go())
        if expect is not None:
            assert all(s in ("created", "exists") for s in statuses) is expect, statuses
        return statuses

    def _steps(self, batch: list[Transfer]) -> list[tuple[str, str, str, int, str | None]]:
        steps: list[tuple[str, str, str, int, str | None]] = []
        for t in batch:
            if t.flags & F.PENDING:
                steps.append(
                    ("pending", t.debit_account_id, t.credit_account_id, t.amount or 0, t.id)
                )
            elif t.flags & F.POST_PENDING:
                held = self.model.pending.get(t.pending_id or "", ("", "", 0))[2]
                amount = held if t.amount is None else t.amount
                steps.append(("post", "", "", amount, t.pending_id))
            elif t.flags & F.VOID_PENDING:
                steps.append(("void", "", "", 0, t.pending_id))
            else:
                steps.append(
                    ("single", t.debit_account_id, t.credit_account_id, t.amount or 0, None)
                )
        return steps

    names = st.sampled_from(["src", "a", "b", "debt"])

    @rule(target=done, debit=names, credit=names, amount=st.integers(1, 40))
    def single(self, debit: str, credit: str, amount: int) -> object:
        if debit == credit:
            credit = "src" if debit != "src" else "a"
        t = self._single(debit, credit, amount)
        expected = self.model.apply(self._steps([t]))
        self.run([t], expect=expected)
        return t if expected else multiple()  # a refused transfer is not stored: no replay

    @rule(target=pendings, debit=names, credit=names, amount=st.integers(1, 40))
    def pending(self, debit: str, credit: str, amount: int) -> object:
        if debit == credit:
            credit = "src" if debit != "src" else "b"
        t = self._single(debit, credit, amount, F.PENDING)
        expected = self.model.apply(self._steps([t]))
        self.run([t], expect=expected)
        return t.id if expected else multiple()

    @rule(pid=consumes(pendings), amount=st.none() | st.integers(0, 45))
    def post(self, pid: str, amount: int | None) -> None:
        t = Transfer(id=self._id(), pending_id=pid, amount=amount, flags=F.POST_PENDING)
        expected = self.model.apply(self._steps([t]))
        self.run([t], expect=expected)

    @rule(pid=consumes(pendings))
    def void(self, pid: str) -> None:
        t = Transfer(id=self._id(), pending_id=pid, flags=F.VOID_PENDING)
        expected = self.model.apply(self._steps([t]))
        self.run([t], expect=expected)

    @rule(pid=pendings)
    def resolve_twice(self, pid: str) -> None:
        """Posting and voiding the same pending in one batch: the second always fails."""
        post = Transfer(id=self._id(), pending_id=pid, flags=F.POST_PENDING | F.LINKED)
        void = Transfer(id=self._id(), pending_id=pid, flags=F.VOID_PENDING)
        assert not self.model.apply([*self._steps([post]), ("void", "", "", 0, pid)])
        self.run([post, void], expect=False)

    @rule(t=done)
    def replay(self, t: Transfer) -> None:
        """Same id, same fields → the original result, no second effect."""
        assert self.run([t]) == ["exists"]

    @rule(t=done, extra=st.integers(1, 5))
    def reuse_id(self, t: Transfer, extra: int) -> None:
        changed = Transfer(**{**t.__dict__, "amount": (t.amount or 0) + extra})
        assert self.run([changed]) == ["transfer_id_reused"]

    @rule(
        first=st.tuples(names, names, st.integers(1, 40)),
        second=st.tuples(names, names, st.integers(1, 40)),
    )
    def linked(self, first: tuple[str, str, int], second: tuple[str, str, int]) -> None:
        batch = []
        for i, (debit, credit, amount) in enumerate((first, second)):
            if debit == credit:
                credit = "src" if debit != "src" else "a"
            batch.append(self._single(debit, credit, amount, F.LINKED if i == 0 else 0))
        expected = self.model.apply(self._steps(batch))
        self.run(batch, expect=expected)

    @invariant()
    def balances_match_the_model(self) -> None:
        async def read() -> dict[str, dict[str, int]]:
            async with self.db.transaction() as session:
                got = await self.ledger.balances(session, self.accounts.values())
            return {
                a: {
                    "dpe": b.debits_pending,
                    "dpo": b.debits_posted,
                    "cpe": b.credits_pending,
                    "cpo": b.credits_posted,
                }
                for a, b in got.items()
            }

        assert self.loop.run_until_complete(read()) == self.model.bal


def _run_machine(url: str, schema: str | None) -> None:
    loop = asyncio.new_event_loop()
    db = Database(url, schema, pool_size=2)
    LedgerMachine.db, LedgerMachine.loop = db, loop
    try:
        run_state_machine_as_test(
            LedgerMachine,
            settings=hsettings(
                max_examples=25,
                stateful_step_count=25,
                deadline=None,
                suppress_health_check=list(HealthCheck),
                database=None,
            ),
        )
    finally:
        loop.run_until_complete(db.dispose())
        loop.close()


async def test_ledger_matches_a_simple_model(platform: Platform, settings: Settings) -> None:
    url, schema = settings.database_url_for("payment")
    # Hypothesis drives synchronously: the machine gets its own thread, loop and engine.
    await asyncio.to_thread(_run_machine, url, schema)


# -- examples ------------------------------------------------------------------------------------


def _ledger(wallets: WalletHarness) -> Ledger:
    return wallets.services.ledger


async def _create(wallets: WalletHarness, batch: list[Transfer]) -> list[str]:
    async with wallets.ctx.db.transaction() as session:
        results = await _ledger(wallets).create_transfers(session, batch)
    return [r.status if r.ok else str(r.code) for r in results]


async def _balances(wallets: WalletHarness, *ids: str) -> dict[str, tuple[int, int, int, int]]:
    async with wallets.ctx.db.transaction() as session:
        got = await _ledger(wallets).balances(session, ids)
    return {
        a: (b.debits_pending, b.debits_posted, b.credits_pending, b.credits_posted)
        for a, b in got.items()
    }


def _t(id_: str, debit: str, credit: str, amount: int | None, **kw: object) -> Transfer:
    return Transfer(
        id=id_,
        debit_account_id=debit,
        credit_account_id=credit,
        amount=amount,
        ledger=1,
        code=3,
        **kw,  # type: ignore[arg-type]
    )


async def test_replaying_a_transfer_id_has_one_effect(wallets: WalletHarness) -> None:
    acc = accounts(uuid.uuid4().hex[:8])
    t = _t(f"dep-{uuid.uuid4()}", acc["src"], acc["a"], 30)
    assert await _create(wallets, [t]) == ["created"]
    replays = await asyncio.gather(*(_create(wallets, [t]) for _ in range(10)))
    assert all(r == ["exists"] for r in replays)
    assert (await _balances(wallets, acc["a"]))[acc["a"]] == (0, 0, 0, 30)


async def test_the_same_id_with_different_fields_is_refused(wallets: WalletHarness) -> None:
    acc = accounts(uuid.uuid4().hex[:8])
    tid = f"dep-{uuid.uuid4()}"
    assert await _create(wallets, [_t(tid, acc["src"], acc["a"], 30)]) == ["created"]
    assert await _create(wallets, [_t(tid, acc["src"], acc["a"], 31)]) == ["transfer_id_reused"]
    assert await _create(wallets, [_t(tid, acc["src"], acc["b"], 30)]) == ["transfer_id_reused"]
    assert (await _balances(wallets, acc["b"]))[acc["b"]] == (0, 0, 0, 0)


async def test_a_fan_account_cannot_go_below_zero(wallets: WalletHarness) -> None:
    acc = accounts(uuid.uuid4().hex[:8])
    await _create(wallets, [_t(f"d-{uuid.uuid4()}", acc["src"], acc["a"], 10)])
    assert await _create(wallets, [_t(f"s-{uuid.uuid4()}", acc["a"], acc["src"], 11)]) == [
        "exceeds_credits"
    ]
    assert await _create(wallets, [_t(f"s-{uuid.uuid4()}", acc["a"], acc["src"], 10)]) == [
        "created"
    ]


async def test_partial_post_takes_part_and_releases_the_rest(wallets: WalletHarness) -> None:
    acc = accounts(uuid.uuid4().hex[:8])
    await _create(wallets, [_t(f"d-{uuid.uuid4()}", acc["src"], acc["a"], 10)])
    pid = f"p-{uuid.uuid4()}"
    assert await _create(wallets, [_t(pid, acc["a"], acc["b"], 8, flags=F.PENDING)]) == ["created"]
    # Held medals cannot be spent twice.
    assert await _create(wallets, [_t(f"x-{uuid.uuid4()}", acc["a"], acc["src"], 3)]) == [
        "exceeds_credits"
    ]
    post = Transfer(id=f"{pid}-post", pending_id=pid, amount=5, flags=F.POST_PENDING)
    assert await _create(wallets, [post]) == ["created"]
    assert await _create(wallets, [post]) == ["exists"]
    assert (await _balances(wallets, acc["a"]))[acc["a"]] == (0, 5, 0, 10)
    assert (await _balances(wallets, acc["b"]))[acc["b"]] == (0, 0, 0, 5)
    void = Transfer(id=f"{pid}-void", pending_id=pid, flags=F.VOID_PENDING)
    assert await _create(wallets, [void]) == ["pending_transfer_already_posted"]


async def test_void_releases_and_a_later_post_is_refused(wallets: WalletHarness) -> None:
    acc = accounts(uuid.uuid4().hex[:8])
    await _create(wallets, [_t(f"d-{uuid.uuid4()}", acc["src"], acc["a"], 10)])
    pid = f"p-{uuid.uuid4()}"
    await _create(wallets, [_t(pid, acc["a"], acc["b"], 10, flags=F.PENDING)])
    assert await _create(
        wallets, [Transfer(id=f"{pid}-v", pending_id=pid, flags=F.VOID_PENDING)]
    ) == ["created"]
    post = Transfer(id=f"{pid}-p", pending_id=pid, amount=None, flags=F.POST_PENDING)
    assert await _create(wallets, [post]) == ["pending_transfer_already_voided"]
    assert (await _balances(wallets, acc["a"]))[acc["a"]] == (0, 0, 0, 10)


async def test_an_expired_pending_can_only_be_voided(wallets: WalletHarness) -> None:
    clock = wallets.freeze()
    acc = accounts(uuid.uuid4().hex[:8])
    await _create(wallets, [_t(f"d-{uuid.uuid4()}", acc["src"], acc["a"], 10)])
    pid = f"p-{uuid.uuid4()}"
    await _create(wallets, [_t(pid, acc["a"], acc["b"], 4, flags=F.PENDING, timeout_seconds=30)])
    clock.advance(seconds=30)
    post = Transfer(id=f"{pid}-p", pending_id=pid, flags=F.POST_PENDING, amount=None)
    assert await _create(wallets, [post]) == ["pending_transfer_expired"]
    void = Transfer(id=f"{pid}-v", pending_id=pid, flags=F.VOID_PENDING)
    assert await _create(wallets, [void]) == ["created"]


async def test_linked_transfers_succeed_or_fail_together(wallets: WalletHarness) -> None:
    acc = accounts(uuid.uuid4().hex[:8])
    await _create(wallets, [_t(f"d-{uuid.uuid4()}", acc["src"], acc["a"], 10)])
    first = _t(f"l1-{uuid.uuid4()}", acc["a"], acc["b"], 6, flags=F.LINKED)
    second = _t(f"l2-{uuid.uuid4()}", acc["a"], acc["src"], 6)  # 12 > 10: breaks the chain
    lone = _t(f"l3-{uuid.uuid4()}", acc["src"], acc["b"], 1)
    assert await _create(wallets, [first, second, lone]) == [
        "linked_event_failed",
        "exceeds_credits",
        "created",
    ]
    assert (await _balances(wallets, acc["a"]))[acc["a"]] == (0, 0, 0, 10)
    open_chain = _t(f"l4-{uuid.uuid4()}", acc["a"], acc["b"], 1, flags=F.LINKED)
    assert await _create(wallets, [open_chain]) == ["linked_event_chain_open"]


async def test_the_database_itself_refuses_a_negative_fan_account(wallets: WalletHarness) -> None:
    user = new_user()
    await wallets.issue(user, 5)
    with pytest.raises(IntegrityError):
        async with wallets.ctx.db.transaction() as session:
            await session.execute(
                text("UPDATE ledger_accounts SET debits_posted = 6 WHERE id = :id"),
                {"id": f"w:paid:{user}"},
            )


async def test_transfers_cannot_be_updated_or_deleted(wallets: WalletHarness) -> None:
    user = new_user()
    lot = await wallets.issue(user, 5)
    for statement in (
        "UPDATE ledger_transfers SET amount = 500 WHERE id = :id",
        "DELETE FROM ledger_transfers WHERE id = :id",
    ):
        with pytest.raises(DBAPIError, match="immutable"):
            async with wallets.ctx.db.transaction() as session:
                await session.execute(text(statement), {"id": f"{lot.transfer_id}/issue"})


async def test_platform_accounts_are_sharded_not_one_hot_row() -> None:
    shards = {system_account("revenue", "paid", f"draw-{i}/paid") for i in range(400)}
    assert len(shards) == SYSTEM_SHARDS


async def test_audit_command_fails_on_a_hand_corrupted_row(
    wallets: WalletHarness, settings: Settings
) -> None:
    user = new_user()
    await wallets.issue(user, 7, price_jpy=700)
    env = {**os.environ, "KOEPON_DATA_DIR": str(settings.data_dir)}
    env.pop("KOEPON_DATABASE_URL", None)
    if settings.database_url:
        env["KOEPON_DATABASE_URL"] = settings.database_url
    koepon = [sys.executable, "-m", "koepon.cli", "audit", "ledger"]

    def audit() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            koepon, env=env, cwd=ROOT, capture_output=True, text=True, timeout=120
        )

    passed = await asyncio.to_thread(audit)
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert "passed" in passed.stdout

    account = f"w:paid:{user}"
    async with wallets.ctx.db.transaction() as session:
        await session.execute(
            text("UPDATE ledger_accounts SET credits_posted = credits_posted + 3 WHERE id = :id"),
            {"id": account},
        )
    failed = await asyncio.to_thread(audit)
    assert failed.returncode != 0
    assert f"account {account}: credits_posted is 10 but its transfers sum to 7" in failed.stdout
    assert "ledger 1: Σ debits_posted" in failed.stdout
    assert f"wallet {account}: balance 10 ≠ Σ lots' remaining 7" in failed.stdout

    async with wallets.ctx.db.transaction() as session:  # put it back for the teardown audit
        await session.execute(
            text("UPDATE ledger_accounts SET credits_posted = credits_posted - 3 WHERE id = :id"),
            {"id": account},
        )


def test_ledger_error_names_its_code() -> None:
    error = LedgerError("exceeds_credits", "t-1")
    assert error.code == "exceeds_credits" and "t-1" in str(error)
