"""Payout batches: statements gathered for one bank transfer run, its 全銀 file, marking it paid."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from koepon.kernel.clock import jst_day
from koepon.kernel.idempotency import Claim, IdempotencyKeys, StoredResponse
from koepon.vtuber.context import VtuberContext
from koepon.vtuber.errors import (
    BankDetailsInvalid,
    NothingToPay,
    PayoutBatchNotFound,
    TransferDateInvalid,
)
from koepon.vtuber.payouts import months, postings, repository, zengin
from koepon.vtuber.payouts.models import PayoutBatch, Statement
from koepon.vtuber.payouts.schemas import (
    BatchCreated,
    BatchLine,
    BatchList,
    BatchRead,
    HeldStatement,
)
from koepon.vtuber.teams.profiles import Profiles

# How far ahead a transfer may be scheduled (banks accept files about a month ahead).
MAX_DAYS_AHEAD = 60


@dataclass(frozen=True)
class TransferFile:
    filename: str
    content: bytes


def batch_read(batch: PayoutBatch, rows: list[Statement]) -> BatchRead:
    return BatchRead(
        id=batch.id,
        month=batch.month,
        status=batch.status,
        total_jpy=batch.total_jpy,
        statements=batch.statements,
        transfer_date=date.fromisoformat(batch.transfer_date),
        created_by=batch.created_by,
        created_at=batch.created_at,
        paid_by=batch.paid_by,
        paid_at=batch.paid_at,
        lines=[
            BatchLine(
                statement_id=row.id, vtuber_id=row.vtuber_id, net_payable_jpy=row.net_payable_jpy
            )
            for row in rows
        ],
    )


def payee(bank: dict[str, Any], amount_jpy: int) -> zengin.Transfer:
    """A 全銀 transfer to a profile's bank account; ``ZenginError`` when it cannot be written."""
    try:
        transfer = zengin.Transfer(
            bank_code=str(bank["bank_code"]),
            branch_code=str(bank["branch_code"]),
            account_type=str(bank["account_type"]),
            account_number=str(bank["account_number"]),
            holder_kana=str(bank["holder_kana"]),
            amount_jpy=amount_jpy,
        )
    except (KeyError, TypeError) as exc:
        raise zengin.ZenginError(f"bank details lack {exc}") from exc
    zengin.data_record(transfer)  # checks every field
    return transfer


class PayoutBatches:
    def __init__(self, ctx: VtuberContext, profiles: Profiles, keys: IdempotencyKeys) -> None:
        self.ctx = ctx
        self.profiles = profiles
        self.keys = keys

    def originator(self) -> zengin.Originator:
        settings = self.ctx.vtuber_settings
        return zengin.Originator(
            company_code=settings.payout_company_code,
            company_name=settings.payout_company_name,
            bank_code=settings.payout_bank_code,
            branch_code=settings.payout_branch_code,
            account_type=settings.payout_account_type,
            account_number=settings.payout_account_number,
        )

    async def create_once(
        self, claim: Claim, *, month: str, transfer_date: date, operator_id: str
    ) -> StoredResponse:
        """``create`` under an ``Idempotency-Key`` claim: the answer is stored with the batch,
        in one transaction, so a retry gets the same batch and never a second one."""
        async with self.ctx.db.transaction() as session:
            created = await self.create(
                session, month=month, transfer_date=transfer_date, operator_id=operator_id
            )
            return await self.keys.complete(
                session, claim, status=201, body=created.model_dump(mode="json")
            )

    async def create(
        self, session: AsyncSession, *, month: str, transfer_date: date, operator_id: str
    ) -> BatchCreated:
        """Gather ``month``'s issued statements with a net payable that are in no batch. A
        statement whose bank details cannot be written in a 全銀 file is held back (listed)."""
        months.parse(month)
        now = self.ctx.now()
        today = jst_day(now)
        if transfer_date < today or (transfer_date - today).days > MAX_DAYS_AHEAD:
            raise TransferDateInvalid(
                f"The transfer date must be from today ({today}) to {MAX_DAYS_AHEAD} days ahead",
                field="transfer_date",
            )
        if transfer_date.weekday() >= 5:
            raise TransferDateInvalid(
                "Banks do not transfer on Saturdays and Sundays", field="transfer_date"
            )
        batch_id = str(uuid.uuid4())
        included: list[Statement] = []
        held: list[HeldStatement] = []
        for row in await repository.unbatched_payable(session, month):
            profile = await self.profiles.get(session, row.vtuber_id)
            try:
                payee({} if profile is None else dict(profile.bank), row.net_payable_jpy)
            except zengin.ZenginError as exc:
                held.append(
                    HeldStatement(statement_id=row.id, vtuber_id=row.vtuber_id, reason=str(exc))
                )
                continue
            included.append(row)
        if not included:
            raise NothingToPay(
                f"No issued statement of {month} with a net payable is waiting for a batch",
                month=month,
                held=[item.model_dump() for item in held],
            )
        batch = PayoutBatch(
            id=batch_id,
            month=month,
            status="open",
            total_jpy=sum(row.net_payable_jpy for row in included),
            statements=len(included),
            transfer_date=transfer_date.isoformat(),
            created_by=operator_id,
            created_at=now,
            paid_by=None,
            paid_at=None,
        )
        await repository.add(session, [batch])
        for row in included:
            row.status, row.batch_id = "batched", batch_id
        await session.flush()
        return BatchCreated(**batch_read(batch, included).model_dump(), held=held)

    async def _get(
        self, session: AsyncSession, batch_id: str, *, lock: bool = False
    ) -> PayoutBatch:
        batch = await repository.batch(session, batch_id, lock=lock)
        if batch is None:
            raise PayoutBatchNotFound("No such payout batch")
        return batch

    async def get(self, session: AsyncSession, batch_id: str) -> BatchRead:
        batch = await self._get(session, batch_id)
        return batch_read(batch, await repository.statements_of_batch(session, batch_id))

    async def listing(self, session: AsyncSession, *, month: str | None, limit: int) -> BatchList:
        items = []
        for batch in await repository.batches(session, month, limit):
            items.append(batch_read(batch, await repository.statements_of_batch(session, batch.id)))
        return BatchList(items=items)

    async def transfer_file(self, session: AsyncSession, batch_id: str) -> TransferFile:
        """The batch's 全銀 総合振込 file, with each payee's bank details as they are now."""
        batch = await self._get(session, batch_id)
        transfers = []
        for row in await repository.statements_of_batch(session, batch_id):
            profile = await self.profiles.get(session, row.vtuber_id)
            try:
                transfers.append(
                    payee({} if profile is None else dict(profile.bank), row.net_payable_jpy)
                )
            except zengin.ZenginError as exc:
                raise BankDetailsInvalid(
                    f"VTuber {row.vtuber_id}'s bank details cannot be written: {exc}",
                    vtuber_id=row.vtuber_id,
                ) from exc
        content = zengin.transfer_file(
            self.originator(), date.fromisoformat(batch.transfer_date), transfers
        )
        return TransferFile(filename=f"zengin-{batch.month}-{batch.id[:8]}.txt", content=content)

    async def mark_paid(self, session: AsyncSession, batch_id: str, operator_id: str) -> BatchRead:
        """The bank carried the transfers out: the batch and its statements are paid, each net
        posted from the VTuber's payable account to the bank. Again: the same answer, nothing
        posted twice."""
        batch = await self._get(session, batch_id, lock=True)
        rows = await repository.statements_of_batch(session, batch_id, lock=True)
        if batch.status != "paid":
            now = self.ctx.now()
            for row in rows:
                row.status, row.paid_at = "paid", now
                await repository.post(
                    session,
                    row.id,
                    postings.payout(vtuber_id=row.vtuber_id, net_payable_jpy=row.net_payable_jpy),
                    now,
                )
            batch.status, batch.paid_by, batch.paid_at = "paid", operator_id, now
            await session.flush()
        return batch_read(batch, rows)
