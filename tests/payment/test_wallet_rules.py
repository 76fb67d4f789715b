"""The wallet's pure rules: claw-back order, the ledger transfers of each operation, the cache
version and the instant a cached page stops being true."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from koepon.payment.ledger.accounts import debt_account, wallet_account
from koepon.payment.ledger.rules import Balance, TransferFlags
from koepon.payment.wallet import transfers
from koepon.payment.wallet.cache import wallet_version
from koepon.payment.wallet.lots import ClawBackLot, plan_claw_back
from koepon.payment.wallet.schemas import LotRead, WalletRead
from koepon.payment.wallet.views import page_changes_at

T0 = datetime(2025, 1, 1, tzinfo=UTC)

lots_strategy = st.lists(
    st.builds(
        ClawBackLot,
        id=st.uuids().map(str),
        kind=st.just("paid"),
        transfer_id=st.sampled_from(["pay-1", "pay-2", "pay-3"]),
        remaining=st.integers(1, 500),
        issued_at=st.integers(0, 100).map(lambda d: T0 + timedelta(days=d)),
        expires_at=st.integers(101, 300).map(lambda d: T0 + timedelta(days=d)),
    ),
    max_size=8,
    unique_by=lambda lot: lot.id,
)


@given(lots_strategy, st.integers(1, 3_000), st.sampled_from(["pay-1", "pay-2", None]))
def test_a_claw_back_takes_what_the_lots_hold_charged_lot_first(
    lots: list[ClawBackLot], medals: int, first: str | None
) -> None:
    takes = plan_claw_back(lots, medals, first_transfer_id=first)
    by_id = {lot.id: lot for lot in lots}
    assert sum(t.medals for t in takes) == min(medals, sum(lot.remaining for lot in lots))
    assert all(0 < t.medals <= by_id[t.lot_id].remaining for t in takes)
    assert len({t.lot_id for t in takes}) == len(takes)
    # Only the last lot taken may be taken partly; the charged-back payment's lots come first.
    assert all(t.medals == by_id[t.lot_id].remaining for t in takes[:-1])
    charged = [i for i, t in enumerate(takes) if by_id[t.lot_id].transfer_id == first]
    others = [i for i, t in enumerate(takes) if by_id[t.lot_id].transfer_id != first]
    assert not charged or not others or max(charged) < min(others)
    order = [(by_id[t.lot_id].expires_at, by_id[t.lot_id].issued_at) for t in takes]
    assert [o for i, o in enumerate(order) if i in others] == sorted(
        o for i, o in enumerate(order) if i in others
    )


def test_a_new_lot_settles_a_debt_in_the_same_linked_chain() -> None:
    made, settled = transfers.issue(
        user_id="u",
        kind="paid",
        medals=100,
        source="purchase",
        transfer_id="t",
        issuance_account="issuance",
        owed=30,
    )
    assert settled == 30
    assert [t.id for t in made] == ["t/issue", "t/settle"]
    assert made[0].flags & TransferFlags.LINKED and not made[1].flags & TransferFlags.LINKED
    assert (made[1].debit_account_id, made[1].credit_account_id) == (
        wallet_account("u", "paid"),
        debt_account("u", "paid"),
    )


@given(st.integers(0, 1_000), st.integers(0, 1_000))
def test_a_claw_back_takes_then_owes_the_rest(taken: int, owed: int) -> None:
    made = transfers.claw_back(
        user_id="u", kind="free", transfer_id="c", shard="s", taken=taken, owed=owed, reason="cb"
    )
    assert sum(t.amount or 0 for t in made) == taken + owed
    assert all(t.amount for t in made)  # no zero transfers
    assert bool(made and made[0].flags & TransferFlags.LINKED) == bool(taken and owed)


@given(st.integers(0, 50), st.integers(0, 50), st.booleans())
def test_a_spend_is_one_linked_transfer_per_kind(free: int, paid: int, two_phase: bool) -> None:
    made = transfers.spend(
        user_id="u",
        split={"free": free, "paid": paid},
        transfer_id="d",
        revenue={"free": "rf", "paid": "rp"},
        timeout_seconds=60 if two_phase else None,
        reason=None,
    )
    assert [t.amount for t in made] == [n for n in (paid, free) if n]
    assert all(bool(t.flags & TransferFlags.PENDING) == two_phase for t in made)
    assert [bool(t.flags & TransferFlags.LINKED) for t in made] == [
        i < len(made) - 1 for i in range(len(made))
    ]


def test_a_post_names_the_pending_transfers_and_posts_what_was_kept() -> None:
    made = transfers.resolve(
        transfer_id="d", held={"paid": 5, "free": 3}, posted={"paid": 2, "free": 3}, post=True
    )
    assert [(t.id, t.pending_id, t.amount) for t in made] == [
        ("d/paid/post", "d/paid", 2),
        ("d/free/post", "d/free", 3),
    ]
    voided = transfers.resolve(
        transfer_id="d", held={"paid": 5, "free": 0}, posted={"paid": 0, "free": 0}, post=False
    )
    assert [(t.id, t.amount) for t in voided] == [("d/paid/void", None)]


@given(
    st.lists(st.integers(0, 10**6), min_size=4, max_size=4),
    st.integers(0, 3),
    st.integers(1, 10**6),
)
def test_any_balance_change_changes_the_wallet_version(
    figures: list[int], which: int, delta: int
) -> None:
    def balances(values: list[int]) -> dict[str, Balance]:
        return {
            "wallet": Balance(
                ledger=1, flags=0, debits_pending=values[0], credits_posted=values[1]
            ),
            "debt": Balance(ledger=1, flags=0, debits_posted=values[2], credits_posted=values[3]),
        }

    changed = list(figures)
    changed[which] += delta
    before = wallet_version(balances(figures), free_first=True)
    assert wallet_version(balances(changed), free_first=True) != before
    assert wallet_version(balances(figures), free_first=False) != before
    assert wallet_version(balances(figures), free_first=True) == before


def test_a_cached_page_is_true_until_a_lot_expires_or_enters_the_notice() -> None:
    def lot(expires_in: timedelta) -> LotRead:
        return LotRead(
            id=str(expires_in),
            kind="paid",
            medals=1,
            remaining_medals=1,
            held_medals=0,
            price_jpy=1,
            source="purchase",
            issued_at=T0,
            expires_at=T0 + expires_in,
        )

    page = WalletRead(
        user_id="u",
        paid_medals=2,
        free_medals=0,
        owed_medals=0,
        locked=False,
        spend_order="free_first",
        lots=[lot(timedelta(days=30)), lot(timedelta(hours=5))],
        upcoming_expiries=[],
        month_spent_jpy=0,
        month_cap_jpy=None,
    )
    notice = timedelta(days=7)
    assert page_changes_at(page, T0, notice) == T0 + timedelta(hours=5)
    assert page_changes_at(page, T0 + timedelta(hours=6), notice) == T0 + timedelta(days=23)
    assert page_changes_at(page, T0 + timedelta(days=31), notice) is None
