"""Receipts read checkouts through checkout's repository, and provider events give typed results
whose statuses are the state machine's enum."""

from __future__ import annotations

import ast
from pathlib import Path

import koepon.payment.receipts as receipts_package
from koepon.payment.checkout.schemas import EventApplied
from koepon.payment.checkout.states import IN_HISTORY, STATUSES, CheckoutStatus, transition

RECEIPTS = Path(receipts_package.__file__).parent


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


def test_receipts_build_no_query_of_their_own() -> None:
    for path in RECEIPTS.glob("*.py"):
        queries = {
            name
            for name in _imports(path)
            if name.startswith("sqlalchemy") and name != "sqlalchemy.ext.asyncio.AsyncSession"
        }
        assert not queries, f"{path.name} queries tables itself: {sorted(queries)}"
        assert "koepon.payment.checkout.models.CheckoutEvent" not in _imports(path), path.name


def test_statuses_are_the_enum_and_compare_equal_to_their_stored_text() -> None:
    assert STATUSES == tuple(CheckoutStatus)
    assert CheckoutStatus("succeeded") is CheckoutStatus.SUCCEEDED
    assert IN_HISTORY == {"pending", "succeeded", "refunded", "charged_back"}
    move = transition(CheckoutStatus.OPEN, "succeeded", credited=False, clawed_back=False)
    assert move.status is CheckoutStatus.SUCCEEDED and move.credit


def test_an_event_result_answers_with_only_what_was_found() -> None:
    assert EventApplied(event_id="e1", duplicate=True).body() == {
        "duplicate": True,
        "event_id": "e1",
    }
    unknown = EventApplied(event_id="e2", applied=False, reason="unknown_checkout")
    assert unknown.body() == {
        "duplicate": False,
        "event_id": "e2",
        "applied": False,
        "reason": "unknown_checkout",
    }
    refused = EventApplied(
        event_id="e3",
        applied=True,
        checkout_id="c1",
        status=CheckoutStatus.REFUNDED,
        refund_owed=True,
        refund_sent=False,
    )
    body = refused.body()
    assert body["status"] == "refunded" and type(body["status"]) is str
    assert body["refund_sent"] is False and "refund_owed" not in body
