"""The SQL one draw's saga runs, sent straight to PostgreSQL with asyncpg: the yardstick of
``bench.draws`` ("completed draws/s ÷ raw draws/s", target ≥ 0.5).

Same statements, same transactions, same order and the same row locks as the platform (copied
from ``gacha/draws/service.py`` ``accept``, ``gacha/draws/saga.py`` and what payment's
``reserve``/``post`` run, captured from a real draw): the profile read (auth), accept (gacha),
reserve (payment: wallet accounts locked, spend + lot hold + pending ledger transfer), draw
(gacha: draw, fan state and seed pair locked, nonces taken, results written), post (payment:
lot consumed, movement, posted transfer), complete (gacha: slots, outbox event, draw-log
submission) and the answer's read. Not in it: the background work every draw also causes
later (outbox relay, draw-log sequencing, the queue), nor any HTTP, JSON or Python logic.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from koepon.payment.ledger.accounts import system_account

PG_INSERT = (
    "INSERT INTO ledger_transfers (id, debit_account_id, credit_account_id, amount, ledger, "
    "code, flags, pending_id, timeout_seconds, expires_at, user_data, created_at) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
)
PG_UPDATE = (
    "UPDATE ledger_accounts SET debits_pending = $2, debits_posted = $3, credits_pending = $4, "
    "credits_posted = $5 WHERE id = $1"
)
LOCK = (
    "SELECT id, ledger, flags, debits_pending, debits_posted, credits_pending, credits_posted "
    "FROM ledger_accounts WHERE id = ANY($1::varchar[]) ORDER BY id FOR UPDATE"
)
SPEND = "SELECT * FROM medal_spends WHERE id = $1"
DRAW_FOR_UPDATE = "SELECT * FROM draws WHERE id = $1 FOR UPDATE"
STATE = "SELECT * FROM fan_gacha_states WHERE user_id = $1 AND gacha_id = $2"
MONTH = "SELECT * FROM fan_draw_months WHERE user_id = $1 AND month = $2"
PROFILE = (
    "SELECT users.birthdate, spending_limits.monthly_purchase_cap_jpy, "
    "spending_limits.pending_purchase_cap_jpy, spending_limits.pending_purchase_cap_effective_at, "
    "spending_limits.monthly_draw_cap_medals, spending_limits.pending_draw_cap_medals, "
    "spending_limits.pending_draw_cap_effective_at, spending_limits.cooling_off_until "
    "FROM users LEFT OUTER JOIN spending_limits ON spending_limits.user_id = users.id "
    "WHERE users.id = $1"
)


async def pool(dsn: str, size: int) -> asyncpg.Pool:
    """One pool for the three services' schemas (names they share, ``outbox``, resolve to the
    gacha's, the only one the saga writes): a pool each would take three times the connections
    of the server's ``max_connections``."""
    made = await asyncpg.create_pool(
        dsn, min_size=size, max_size=size, server_settings={"search_path": "gacha,payment,auth"}
    )
    assert made is not None
    return made


async def prepare_fan(p: asyncpg.Pool, user_id: str, gacha_id: str) -> None:
    """What the fan's first draw creates: the gacha state and an active seed pair."""
    async with p.acquire() as c:
        await c.execute(
            "INSERT INTO fan_gacha_states (user_id, gacha_id, drawn, day, drawn_on_day, pity, "
            "points, step) VALUES ($1, $2, 0, '', 0, 0, 0, 0) ON CONFLICT DO NOTHING",
            user_id,
            gacha_id,
        )
        await c.execute(
            "INSERT INTO seed_pairs (id, user_id, active_user_id, server_seed, server_seed_hash, "
            "client_seed, next_nonce, created_at) VALUES ($1, $2, $2, $3, $4, 'raw', 0, $5) "
            "ON CONFLICT DO NOTHING",
            str(uuid.uuid4()),
            user_id,
            b"\0" * 32,
            "0" * 64,
            datetime.now(UTC),
        )


def _balances(rows: list[Any]) -> dict[str, list[int]]:
    return {
        r["id"]: [
            r["debits_pending"],
            r["debits_posted"],
            r["credits_pending"],
            r["credits_posted"],
        ]
        for r in rows
    }


async def one_draw(p: asyncpg.Pool, user_id: str, gacha_id: str, count: int, price: int) -> None:
    """One draw's SQL, transaction by transaction as the platform runs it."""
    draw_id = str(uuid.uuid4())
    spend_id = f"draw-{draw_id}"
    transfer = f"{spend_id}/paid"
    now = datetime.now(UTC)
    month, day = now.strftime("%Y-%m"), now.strftime("%Y-%m-%d")
    wallet = f"w:paid:{user_id}"
    revenue = system_account("revenue", "paid", transfer)
    accounts = sorted(
        [
            f"d:free:{user_id}",
            f"d:paid:{user_id}",
            f"w:free:{user_id}",
            wallet,
            revenue,
            system_account("revenue", "free", transfer),
        ]
    )
    results = [
        {"slot": i, "nonce": i, "table": "main", "item_id": "voice-n1", "rarity": "N"}
        for i in range(count)
    ]
    # accept: the profile (auth), then the draw row and its queue message (gacha)
    async with p.acquire() as c:
        await c.fetchrow(PROFILE, user_id)
    async with p.acquire() as c, c.transaction():
        await c.fetchrow(STATE, user_id, gacha_id)
        await c.fetchrow(MONTH, user_id, month)
        await c.execute(
            "INSERT INTO draws (id, user_id, idempotency_key, fingerprint, gacha_id, vtuber_id, "
            "count, price_medals, status, points_earned, month, day, attempts, requested_at, "
            "updated_at) VALUES ($1, $2, $3, $4, $5, 'vt-bench', $6, $7, 'accepted', 0, $8, $9, "
            "0, $10, $10) ON CONFLICT DO NOTHING",
            draw_id,
            user_id,
            draw_id,
            "0" * 64,
            gacha_id,
            count,
            price,
            month,
            day,
            now,
        )
        await c.execute(
            "INSERT INTO outbox (id, topic, payload, created_at, attempts) "
            "VALUES ($1, 'gacha.draw.requested.v1', $2::json, $3, 0)",
            str(uuid.uuid4()),
            json.dumps({"draw_id": draw_id}),
            now,
        )
    # reserve (payment): lock the wallet, hold a lot, the pending transfer
    async with p.acquire() as c, c.transaction():
        balances = _balances(await c.fetch(LOCK, accounts))
        await c.fetchrow(SPEND, spend_id)
        lots = await c.fetch(
            "SELECT * FROM medal_lots WHERE user_id = $1 AND remaining > 0 AND expires_at > $2",
            user_id,
            now,
        )
        lot_id = lots[0]["id"]
        await c.execute(
            "INSERT INTO medal_spends (id, user_id, medals, free_medals, paid_medals, status, "
            "two_phase, created_at, expires_at) VALUES ($1, $2, $3, 0, $3, 'pending', true, $4, "
            "$5)",
            spend_id,
            user_id,
            price,
            now,
            now + timedelta(seconds=900),
        )
        await c.execute(
            "UPDATE medal_lots SET held = held + $1, remaining = remaining - $1 WHERE id = $2",
            price,
            lot_id,
        )
        await c.execute(
            "INSERT INTO medal_lot_holds (spend_id, lot_id, position, medals) "
            "VALUES ($1, $2, 0, $3)",
            spend_id,
            lot_id,
            price,
        )
        await c.executemany(
            PG_INSERT,
            [
                (
                    transfer,
                    wallet,
                    revenue,
                    price,
                    1,
                    3,
                    2,
                    None,
                    900,
                    now + timedelta(seconds=900),
                    "spend",
                    now,
                )
            ],
        )
        balances[wallet][0] += price
        balances[revenue][2] += price
        await c.executemany(PG_UPDATE, [(a, *balances[a]) for a in sorted((wallet, revenue))])
    async with p.acquire() as c:
        await c.fetchrow(SPEND, spend_id)
    # draw (gacha): under the draw's, the fan's and the seed pair's locks
    async with p.acquire() as c, c.transaction():
        await c.fetchrow(DRAW_FOR_UPDATE, draw_id)
        await c.fetchrow("SELECT * FROM gachas WHERE id = $1", gacha_id)
        await c.fetch(
            "SELECT * FROM gacha_odds_versions WHERE gacha_id = $1 ORDER BY version", gacha_id
        )
        state = await c.fetchrow(STATE + " FOR UPDATE", user_id, gacha_id)
        await c.fetchrow(MONTH, user_id, month)
        pair = await c.fetchrow(
            "SELECT * FROM seed_pairs WHERE active_user_id = $1 FOR UPDATE", user_id
        )
        await c.execute(
            "UPDATE seed_pairs SET next_nonce = $1 WHERE id = $2",
            pair["next_nonce"] + count,
            pair["id"],
        )
        await c.execute(
            "UPDATE fan_gacha_states SET drawn = $1, day = $2, drawn_on_day = $3, pity = $4 "
            "WHERE user_id = $5 AND gacha_id = $6",
            state["drawn"] + count,
            day,
            state["drawn_on_day"] + count,
            0,
            user_id,
            gacha_id,
        )
        await c.execute(
            "INSERT INTO fan_draw_months (user_id, month, medals) VALUES ($1, $2, $3) "
            "ON CONFLICT (user_id, month) DO UPDATE SET medals = "
            "greatest(fan_draw_months.medals + $3, 0)",
            user_id,
            month,
            price,
        )
        await c.execute(
            "UPDATE draws SET status = 'drawn', odds_version = 1, seed_pair_id = $1, "
            "server_seed_hash = $2, client_seed = 'raw', first_nonce = $3, results = $4::json, "
            "updated_at = $5 WHERE id = $6",
            pair["id"],
            "0" * 64,
            pair["next_nonce"],
            json.dumps(results),
            now,
            draw_id,
        )
    # post (payment): consume the held lot, the posted transfer
    async with p.acquire() as c, c.transaction():
        await c.fetchrow(SPEND, spend_id)
        balances = _balances(await c.fetch(LOCK, accounts))
        await c.fetchrow(SPEND, spend_id)
        await c.fetch(
            "SELECT medal_lots.*, medal_lot_holds.medals AS hold_medals FROM medal_lot_holds "
            "JOIN medal_lots ON medal_lots.id = medal_lot_holds.lot_id "
            "WHERE medal_lot_holds.spend_id = $1 ORDER BY medal_lot_holds.position",
            spend_id,
        )
        await c.fetch("SELECT * FROM ledger_transfers WHERE id = ANY($1::varchar[])", [transfer])
        await c.fetch("SELECT * FROM ledger_transfers WHERE id = $1 OR pending_id = $1", transfer)
        await c.execute(
            "UPDATE medal_lots SET consumed = consumed + $1, held = held - $1 WHERE id = $2",
            price,
            lot_id,
        )
        await c.fetchval(
            "INSERT INTO medal_lot_movements (lot_id, user_id, kind, entry, medals, value_jpy, "
            "transfer_id, occurred_at) VALUES ($1, $2, 'paid', 'use', $3, $3, $4, $5) "
            "RETURNING seq",
            lot_id,
            user_id,
            price,
            f"{transfer}/post",
            now,
        )
        await c.execute(
            "UPDATE medal_lot_holds SET resolved_at = $1 WHERE spend_id = $2", now, spend_id
        )
        await c.execute(
            "UPDATE medal_spends SET status = 'posted', posted_medals = $1, "
            "posted_free_medals = 0, posted_paid_medals = $1, posted_paid_value_jpy = $1, "
            "resolved_at = $2 WHERE id = $3",
            price,
            now,
            spend_id,
        )
        await c.executemany(
            PG_INSERT,
            [
                (
                    f"{transfer}/post",
                    wallet,
                    revenue,
                    price,
                    1,
                    3,
                    4,
                    transfer,
                    0,
                    None,
                    "spend",
                    now,
                )
            ],
        )
        balances[wallet][0] -= price
        balances[wallet][1] += price
        balances[revenue][2] -= price
        balances[revenue][3] += price
        await c.executemany(PG_UPDATE, [(a, *balances[a]) for a in sorted((wallet, revenue))])
    # complete (gacha): slots, the completed event, the draw-log submission
    async with p.acquire() as c, c.transaction():
        await c.fetchrow(DRAW_FOR_UPDATE, draw_id)
        state = await c.fetchrow(STATE + " FOR UPDATE", user_id, gacha_id)
        await c.execute(
            "UPDATE draws SET status = 'completed', paid_medals = $1, free_medals = 0, "
            "paid_value_jpy = $1, points_earned = $2, updated_at = $3, completed_at = $3 "
            "WHERE id = $4",
            price,
            count,
            now,
            draw_id,
        )
        await c.execute(
            "UPDATE fan_gacha_states SET points = $1 WHERE user_id = $2 AND gacha_id = $3",
            state["points"] + count,
            user_id,
            gacha_id,
        )
        values = ", ".join(
            f"(${i * 8 + 1}, ${i * 8 + 2}, ${i * 8 + 3}, ${i * 8 + 4}, ${i * 8 + 5}, "
            f"${i * 8 + 6}, ${i * 8 + 7}, ${i * 8 + 8})"
            for i in range(count)
        )
        args: list[Any] = []
        for slot in results:
            args += [draw_id, slot["slot"], gacha_id, 1, "main", "voice-n1", "N", slot["nonce"]]
        await c.execute(
            'INSERT INTO draw_slots (draw_id, slot, gacha_id, odds_version, "table", item_id, '
            f"rarity, nonce) VALUES {values} ON CONFLICT DO NOTHING",
            *args,
        )
        await c.execute(
            "INSERT INTO outbox (id, topic, payload, created_at, attempts) "
            "VALUES ($1, 'gacha.draw.completed.v1', $2::json, $3, 0)",
            str(uuid.uuid4()),
            json.dumps({"draw_id": draw_id, "items": results}),
            now,
        )
        await c.fetch("SELECT draw_id FROM draw_log_leaves WHERE draw_id = ANY($1)", [draw_id])
        await c.fetchval(
            "INSERT INTO draw_log_pending (draw_id, record, submitted_at) VALUES ($1, $2, $3) "
            "ON CONFLICT DO NOTHING RETURNING seq",
            draw_id,
            json.dumps({"draw_id": draw_id, "slots": results}),
            now,
        )
    # the answer: the request reads the finished draw
    async with p.acquire() as c:
        await c.fetchrow("SELECT * FROM draws WHERE id = $1", draw_id)


async def throughput(
    dsn: str,
    fans: list[str],
    gacha_id: str,
    *,
    count: int,
    price: int,
    seconds: float,
    concurrency: int,
) -> float:
    """Draws/s with ``concurrency`` loops, each on its own fans (no two loops lock one fan)."""
    p = await pool(dsn, concurrency)
    try:
        await asyncio.gather(*(prepare_fan(p, fan, gacha_id) for fan in fans))
        stop = time.perf_counter() + seconds
        done = [0] * concurrency

        async def loop(worker: int) -> None:
            mine = fans[worker::concurrency]
            n = 0
            while time.perf_counter() < stop:
                await one_draw(p, mine[n % len(mine)], gacha_id, count, price)
                n += 1
            done[worker] = n

        started = time.perf_counter()
        await asyncio.gather(*(loop(w) for w in range(concurrency)))
        return sum(done) / (time.perf_counter() - started)
    finally:
        await p.close()
