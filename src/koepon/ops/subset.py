"""The staging subset (``koepon anonymize --fans N``): a few fans, and everything they touched.

Who stays: the chosen fans (a seeded sample of the accounts whose only role is ``fan`` and that
belong to no VTuber team), plus every other account — operators, VTuber owners and members — so
every gacha, review, statement and team keeps the people named on it. Every VTuber, gacha, odds
version, box, medal pack and content's metadata stays. A dropped fan's rows go from every
service: auth rows, wallet accounts, lots, holds, spends, ledger transfers, checkouts and their
provider records, draws and slots, pity and month counters, exchanges, seed pairs, entitlements,
downloads, exports, VTuber sales, and pending outbox events that name them.

What that does to the invariants, and how each is kept:

- **Ledger.** A fan's transfers all run between their own accounts and the platform's (issuance,
  revenue, expiry, claw-back shards): no transfer joins two fans (if one did, the second fan would
  be kept too). A dropped fan's transfers are removed whole, both legs, so double entry holds;
  pendings and their resolutions touch the same accounts, so they go together. Kept fans keep every
  transfer, so their wallets and lots still agree. The platform's accounts are then **recomputed
  from the transfers left**: on staging they hold what the kept fans' purchases, spends and expiries
  put there, not production's totals. Every check of ``koepon audit ledger`` holds on the copy.
- **Boxes.** A dropped fan's drawn or completed box draw took items out of the box: they are
  returned (as the draw saga does when a draw is undone), so stock left = total − what kept draws
  took.
- **The public draw log** is kept whole: it holds no personal data (draw ids, seeds' hashes, items),
  is published anyway, and its signed checkpoints only verify over every leaf.
- **Closed VTuber statements and payout batches** keep production's figures: a closed month is
  never recomputed (payouts/models.py), so they exceed the kept fans' sales of that month.
"""

from __future__ import annotations

import json
import math
import random
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import bindparam, inspect, text
from sqlalchemy.engine import Connection

from koepon.kernel.settings import Settings

KEPT = "anon_kept"  # a temporary table of the kept user ids, per connection
NOT_KEPT = "NOT IN (SELECT user_id FROM anon_kept)"
# User-scoped tables, children before parents, and the column naming the user.
USER_ROWS: dict[str, tuple[tuple[str, str], ...]] = {
    "auth": (
        ("birthdate_changes", "user_id"),
        ("spending_limits", "user_id"),
        ("suspension_changes", "user_id"),
        ("one_time_tokens", "user_id"),
        ("refresh_tokens", "user_id"),
        ("users", "id"),
    ),
    "payment": (
        ("medal_lot_movements", "user_id"),
        ("medal_lots", "user_id"),
        ("medal_spends", "user_id"),
        ("checkouts", "user_id"),
        ("operator_actions", "target_user_id"),
        ("purchase_locks", "user_id"),
    ),
    "gacha": (
        ("draw_reversals", "user_id"),
        ("draws", "user_id"),
        ("exchanges", "user_id"),
        ("fan_draw_months", "user_id"),
        ("fan_gacha_states", "user_id"),
        ("seed_pairs", "user_id"),
    ),
    "rewards": (
        ("rewards_download_fetches", "user_id"),
        ("rewards_downloads", "user_id"),
        ("rewards_exports", "user_id"),
        ("entitlement_grants", "user_id"),
        ("entitlement_draws", "user_id"),
        ("entitlements", "user_id"),
    ),
    "vtuber": (("vtuber_sales", "user_id"),),
}
# Rows found through a parent rather than a user column (deleted before the parents above).
CHILD_ROWS: dict[str, tuple[str, ...]] = {
    "payment": (
        "DELETE FROM checkout_events WHERE checkout_id IN "
        "(SELECT id FROM checkouts WHERE user_id NOT IN (SELECT user_id FROM anon_kept))",
        "DELETE FROM sandbox_webhooks WHERE session_id IN (SELECT session_id FROM "
        "sandbox_payments WHERE checkout_id IN (SELECT id FROM checkouts "
        "WHERE user_id NOT IN (SELECT user_id FROM anon_kept)))",
        "DELETE FROM sandbox_payments WHERE checkout_id IN "
        "(SELECT id FROM checkouts WHERE user_id NOT IN (SELECT user_id FROM anon_kept))",
        "DELETE FROM medal_lot_holds WHERE lot_id IN "
        "(SELECT id FROM medal_lots WHERE user_id NOT IN (SELECT user_id FROM anon_kept))",
    ),
    "gacha": (
        "DELETE FROM draw_slots WHERE draw_id IN "
        "(SELECT id FROM draws WHERE user_id NOT IN (SELECT user_id FROM anon_kept))",
    ),
}
# JSON columns of events that may name a dropped fan (pending ones are still to be delivered).
# (Published outbox rows are history the anonymiser deletes anyway: only pending ones are read.)
EVENT_ROWS: dict[str, tuple[tuple[str, str, str, str], ...]] = {
    service: (("outbox", "id", "payload", "published_at IS NULL"),) for service in USER_ROWS
}
EVENT_ROWS["rewards"] += (("entitlement_rejected_events", "message_id", "payload", "1 = 1"),)
BOX_OUT = ("drawn", "completed")  # a draw in these states holds its box items (draws/saga.py)


@dataclass(frozen=True)
class SubsetSpec:
    """How many fans to keep (a count or a fraction of them), chosen with ``seed``."""

    fans: int | None = None
    fraction: float | None = None
    seed: int = 0

    def how_many(self, available: int) -> int:
        if self.fans is not None:
            return max(0, min(self.fans, available))
        if self.fraction is not None:
            return min(available, math.ceil(available * self.fraction))
        return available


@dataclass
class Selection:
    """The users the copy keeps: chosen fans and every account that is not only a fan."""

    fans: list[str]
    kept: set[str]
    dropped: set[str] = field(default_factory=set)
    dropped_emails: list[str] = field(default_factory=list)


def choose_fans(fan_ids: Iterable[str], count: int, seed: int) -> list[str]:
    """The same ``count`` fans for the same ids and seed (sorted first: row order is no input)."""
    ordered = sorted(fan_ids)
    return sorted(random.Random(seed).sample(ordered, count))


def _roles(value: Any) -> list[str]:
    return list(json.loads(value) if isinstance(value, str) else value or [])


def _users(conn: Connection) -> list[Any]:
    return list(conn.execute(text("SELECT id, email, roles FROM users")).all())


def _team(conn: Connection) -> set[str]:
    owners = conn.execute(text("SELECT owner_user_id FROM vtuber_profiles")).scalars().all()
    members = conn.execute(text("SELECT user_id FROM vtuber_members")).scalars().all()
    return {u for u in [*owners, *members] if u}


def _fan_to_fan(conn: Connection) -> list[tuple[str, str]]:
    """Pairs of users one transfer joins (none in the chart of accounts; kept together if any)."""
    rows = conn.execute(
        text(
            "SELECT DISTINCT d.user_id AS a, c.user_id AS b FROM ledger_transfers t "
            "JOIN ledger_accounts d ON d.id = t.debit_account_id "
            "JOIN ledger_accounts c ON c.id = t.credit_account_id "
            "WHERE d.user_id IS NOT NULL AND c.user_id IS NOT NULL AND d.user_id <> c.user_id"
        )
    ).all()
    return [(row.a, row.b) for row in rows]


def _close_over(kept: set[str], pairs: list[tuple[str, str]]) -> set[str]:
    grown = set(kept)
    changed = True
    while changed:
        changed = False
        for a, b in pairs:
            if (a in grown) != (b in grown):
                grown |= {a, b}
                changed = True
    return grown


async def select_users(settings: Settings, spec: SubsetSpec, run: Any) -> Selection:
    """Choose the fans and work out every user the copy keeps. ``run(settings, service, fn)``
    runs ``fn(connection)`` in one service's database."""
    users = await run(settings, "auth", _users)
    team = await run(settings, "vtuber", _team)
    fans = [u.id for u in users if set(_roles(u.roles)) <= {"fan"} and u.id not in team]
    chosen = choose_fans(fans, spec.how_many(len(fans)), spec.seed)
    kept = {u.id for u in users} - set(fans) | set(chosen)
    kept = _close_over(kept, await run(settings, "payment", _fan_to_fan))
    dropped = {u.id for u in users} - kept
    emails = [u.email for u in users if u.id in dropped]
    return Selection(sorted(set(chosen) | (kept & set(fans))), kept, dropped, emails)


# --- deleting (table and column names below are this module's own constants) ---


def _tables(conn: Connection) -> set[str]:
    return set(inspect(conn).get_table_names())


def _load_kept(conn: Connection, kept: set[str]) -> None:
    conn.execute(text(f"DROP TABLE IF EXISTS {KEPT}"))
    conn.execute(text(f"CREATE TEMPORARY TABLE {KEPT} (user_id VARCHAR(64) PRIMARY KEY)"))
    if kept:
        insert = text("INSERT INTO anon_kept (user_id) VALUES (:u)")
        conn.execute(insert, [{"u": u} for u in sorted(kept)])


def _strings(value: Any) -> Iterable[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for inner in value.values():
            yield from _strings(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from _strings(inner)


def _drop_events(conn: Connection, service: str, dropped: set[str], tables: set[str]) -> int:
    """Events (pending outbox rows, rejected events) whose payload names a dropped user."""
    gone = 0
    for table, key, column, which in EVENT_ROWS.get(service, ()):
        if table not in tables:
            continue
        doomed = []
        select = f'SELECT "{key}" AS k, "{column}" AS v FROM {table} WHERE {which}'  # noqa: S608
        for row in conn.execute(text(select)).all():
            payload = json.loads(row.v) if isinstance(row.v, str) else row.v
            if any(s in dropped for s in _strings(payload)):
                doomed.append(row.k)
        if doomed:
            delete = f'DELETE FROM {table} WHERE "{key}" IN :keys'  # noqa: S608 - ours
            statement = text(delete).bindparams(bindparam("keys", expanding=True))
            for start in range(0, len(doomed), 500):
                conn.execute(statement, {"keys": doomed[start : start + 500]})
            gone += len(doomed)
    return gone


def _return_box_items(conn: Connection) -> None:
    """Put back what dropped fans' draws took out of a box (``BOX_OUT`` states only)."""
    rows = conn.execute(
        text(
            "SELECT gacha_id, results FROM draws WHERE status IN ('drawn', 'completed') "
            "AND user_id NOT IN (SELECT user_id FROM anon_kept) "
            "AND gacha_id IN (SELECT gacha_id FROM gacha_box_stock)"
        )
    ).all()
    taken: Counter[tuple[str, str]] = Counter()
    for row in rows:
        results = json.loads(row.results) if isinstance(row.results, str) else row.results
        for slot in results or []:
            taken[(row.gacha_id, slot["item_id"])] += 1
    for (gacha_id, item_id), count in taken.items():
        conn.execute(
            text(
                "UPDATE gacha_box_stock SET remaining = CASE WHEN remaining + :n > total "
                "THEN total ELSE remaining + :n END WHERE gacha_id = :g AND item_id = :i"
            ),
            {"n": count, "g": gacha_id, "i": item_id},
        )


def _without_transfer_guard(conn: Connection, delete: str) -> None:
    """Run ``delete`` on ledger_transfers with its immutability trigger lifted for the statement.

    Only ever on the copy; the trigger is back before the transaction commits."""
    if conn.dialect.name == "postgresql":
        trigger = "ledger_transfers_immutable"
        conn.execute(text(f"ALTER TABLE ledger_transfers DISABLE TRIGGER {trigger}"))
        conn.execute(text(delete))
        conn.execute(text(f"ALTER TABLE ledger_transfers ENABLE TRIGGER {trigger}"))
        return
    triggers = conn.execute(
        text(
            "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' "
            "AND tbl_name = 'ledger_transfers'"
        )
    ).all()
    for name, _sql in triggers:
        conn.execute(text(f'DROP TRIGGER "{name}"'))
    conn.execute(text(delete))
    for _name, sql in triggers:
        conn.execute(text(sql))


def _recompute_balances(conn: Connection) -> int:
    """Set every account's four balances to the sums of its transfers (as the audit sums them);
    returns how many accounts changed (the platform's shards the dropped fans paid into)."""
    expected: dict[str, list[int]] = {}
    for row in conn.execute(
        text(
            "SELECT debit_account_id AS d, credit_account_id AS c, SUM(amount) AS total "
            "FROM ledger_transfers WHERE (flags & 10) = 0 "
            "GROUP BY debit_account_id, credit_account_id"
        )
    ).all():
        expected.setdefault(row.d, [0, 0, 0, 0])[0] += int(row.total)
        expected.setdefault(row.c, [0, 0, 0, 0])[1] += int(row.total)
    for row in conn.execute(
        text(
            "SELECT p.debit_account_id AS d, p.credit_account_id AS c, SUM(p.amount) AS total "
            "FROM ledger_transfers p WHERE (p.flags & 2) <> 0 AND NOT EXISTS "
            "(SELECT 1 FROM ledger_transfers r WHERE r.pending_id = p.id) "
            "GROUP BY p.debit_account_id, p.credit_account_id"
        )
    ).all():
        expected.setdefault(row.d, [0, 0, 0, 0])[2] += int(row.total)
        expected.setdefault(row.c, [0, 0, 0, 0])[3] += int(row.total)
    changed = 0
    for account in conn.execute(
        text(
            "SELECT id, debits_posted, credits_posted, debits_pending, credits_pending "
            "FROM ledger_accounts"
        )
    ).all():
        want = expected.get(account.id, [0, 0, 0, 0])
        if list(account[1:]) != want:
            conn.execute(
                text(
                    "UPDATE ledger_accounts SET debits_posted = :dpo, credits_posted = :cpo, "
                    "debits_pending = :dpe, credits_pending = :cpe WHERE id = :id"
                ),
                {"dpo": want[0], "cpo": want[1], "dpe": want[2], "cpe": want[3], "id": account.id},
            )
            changed += 1
    return changed


def _payment_ledger(conn: Connection) -> None:
    dropped_accounts = (
        "(SELECT id FROM ledger_accounts WHERE user_id NOT IN (SELECT user_id FROM anon_kept))"
    )
    _without_transfer_guard(
        conn,
        f"DELETE FROM ledger_transfers WHERE debit_account_id IN {dropped_accounts} "  # noqa: S608
        f"OR credit_account_id IN {dropped_accounts}",
    )
    conn.execute(
        text("DELETE FROM ledger_accounts WHERE user_id NOT IN (SELECT user_id FROM anon_kept)")
    )
    _recompute_balances(conn)


def provider_references(conn: Connection) -> list[str]:
    """Dropped fans' payment provider ids, replaced wherever they are still quoted."""
    rows = conn.execute(
        text(
            "SELECT provider_session_id AS s, provider_payment_id AS p FROM checkouts "
            "WHERE user_id NOT IN (SELECT user_id FROM anon_kept)"
        )
    ).all()
    return [v for row in rows for v in (row.s, row.p) if v]


def cut_service(conn: Connection, service: str, selection: Selection) -> list[str]:
    """Delete every row of ``service`` that belongs to a user the selection drops; returns the
    provider references it deleted (payment only) so the anonymiser can scrub any copy left."""
    tables = _tables(conn)
    _load_kept(conn, selection.kept)
    references: list[str] = []
    if service == "payment":
        references = provider_references(conn)
        _payment_ledger(conn)
    if service == "gacha" and "gacha_box_stock" in tables:
        _return_box_items(conn)
    for statement in CHILD_ROWS.get(service, ()):
        conn.execute(text(statement))
    for table, column in USER_ROWS[service]:
        if table in tables:
            conn.execute(text(f"DELETE FROM {table} WHERE {column} {NOT_KEPT}"))  # noqa: S608
    _drop_events(conn, service, selection.dropped, tables)
    conn.execute(text(f"DROP TABLE {KEPT}"))
    return references
