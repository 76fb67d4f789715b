"""``koepon anonymize``: a copy of production for staging with nobody's personal data in it.

The copy is taken like a backup and restored into the target, then rewritten there:
emails → ``user-<hash>@staging.koepon.invalid``, display names → ``Fan <n>``, birth dates shifted
by up to 120 days but kept in their COMPLIANCE A2 age bracket (minors stay minors, so A1–A3
behave on staging as in production), payment provider references, VTubers' legal names and
bank details replaced. Every original value replaced is then searched for in every text and
JSON column of every service and replaced there too (outbox payloads, webhook bodies…), with
the same replacement, so references between rows still match. Mails, sessions, one-time
tokens and idempotency records are dropped (they only repeat personal data). Unrevealed server
seeds are replaced: production's would let anyone reading staging predict those fans' next
production draws (a draw already made under such a pair no longer verifies on staging).

With ``--fans N`` (or ``--fraction``) the copy is first cut down to N seeded-chosen fans and
everything they touched (``subset.py`` says what stays and how the ledger, boxes and log stay
consistent). Either way the books balance and ``koepon audit ledger`` passes on the copy.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

from sqlalchemy import JSON, String, Text, inspect, text
from sqlalchemy.engine import Connection

from koepon.kernel.clock import jst_day
from koepon.kernel.db import Database
from koepon.kernel.settings import SERVICES, Settings
from koepon.ops.backup import backup_to_dir
from koepon.ops.restore import restore_from_dir
from koepon.ops.subset import Selection, SubsetSpec, cut_service, select_users

STAGING_DOMAIN = "staging.koepon.invalid"
MAX_SHIFT_DAYS = 120
# Tables that only repeat personal data and that staging does not need.
DROPPED = {
    "auth": ("dev_mailbox", "outgoing_mail", "refresh_tokens", "one_time_tokens"),
    "payment": ("idempotency_keys",),
    "gacha": ("idempotency_keys",),
    "rewards": ("idempotency_keys",),
    "vtuber": ("idempotency_keys",),
}


@dataclass
class Replacements:
    """Every original value replaced, with its replacement (the same everywhere)."""

    salt: str = field(default_factory=lambda: secrets.token_hex(16))
    values: dict[str, str] = field(default_factory=dict)
    users: int = 0
    selection: Selection | None = None  # the subset kept, when one was asked for
    seeds_replaced: int = 0

    def token(self, value: str, length: int = 16) -> str:
        return hashlib.sha256(f"{self.salt}:{value}".encode()).hexdigest()[:length]

    def email(self, original: str) -> str:
        new = f"user-{self.token(original.lower())}@{STAGING_DOMAIN}"
        self.values[original] = new
        return new

    def reference(self, original: str) -> str:
        new = f"anon_{self.token(original, 24)}"
        self.values[original] = new
        return new

    def pattern(self) -> re.Pattern[str] | None:
        # JSON columns may hold a value escaped (``\uff94``): its escaped form is replaced too.
        for original, new in list(self.values.items()):
            escaped = json.dumps(original)[1:-1]
            if escaped != original:
                self.values.setdefault(escaped, json.dumps(new)[1:-1])
        keys = sorted((k for k in self.values if len(k) >= 4), key=len, reverse=True)
        if not keys:
            return None
        # ASCII word boundaries: a 7-digit account number must not match inside a hex digest.
        alternatives = "|".join(re.escape(k) for k in keys)
        return re.compile(f"(?<![0-9A-Za-z])(?:{alternatives})(?![0-9A-Za-z])")


def age_bracket(born: date, today: date) -> str:
    """COMPLIANCE A2's bracket (as auth computes it): under 16, 16–17, adult."""
    age = today.year - born.year - ((today.month, today.day) < (born.month, born.day))
    return "under_16" if age < 16 else "16_17" if age < 18 else "adult"


def shifted_birthdate(original: date, today: date, seed: int) -> date:
    """A date 1–120 days from ``original`` in the same age bracket today (A2)."""
    bracket = age_bracket(original, today)
    days = 1 + seed % MAX_SHIFT_DAYS
    for step in (days, -days, days // 2 + 1, -(days // 2 + 1), 1, -1):
        candidate = original + timedelta(days=step)
        if candidate < today and age_bracket(candidate, today) == bracket:
            return candidate
    return original  # not reached: one direction always keeps a year-wide bracket


def _unusable_password_hash() -> str:
    import argon2

    return argon2.PasswordHasher().hash(secrets.token_urlsafe(32))


def _anonymise_auth(conn: Connection, names: Replacements, today: date) -> None:
    rows = conn.execute(
        text("SELECT id, email, birthdate FROM users ORDER BY created_at, id")
    ).all()
    shifts: dict[str, date] = {}
    for n, row in enumerate(rows, start=1):
        born = row.birthdate
        if not isinstance(born, date):  # SQLite hands back text
            born = date.fromisoformat(born)
        new_born = shifted_birthdate(born, today, int(names.token(row.id, 8), 16))
        shifts[row.id] = new_born
        conn.execute(
            text(
                "UPDATE users SET email = :email, display_name = :name, birthdate = :born "
                "WHERE id = :id"
            ),
            {"email": names.email(row.email), "name": f"Fan {n}", "born": new_born, "id": row.id},
        )
        names.values.setdefault(born.isoformat(), new_born.isoformat())
    names.users = len(rows)
    # Nobody signs in to staging with a production password: one hash of a random secret.
    conn.execute(text("UPDATE users SET password_hash = :h"), {"h": _unusable_password_hash()})
    for change in conn.execute(text("SELECT id, user_id FROM birthdate_changes")).all():
        shifted = shifts.get(change.user_id)
        conn.execute(
            text(
                "UPDATE birthdate_changes SET old_birthdate = :born, new_birthdate = :born, "
                "reason = 'anonymised' WHERE id = :id"
            ),
            {"born": shifted or date(2000, 1, 1), "id": change.id},
        )


def _anonymise_payment(conn: Connection, names: Replacements) -> None:
    for table, columns in (
        ("checkouts", ("provider_session_id", "provider_payment_id")),
        ("checkout_events", ("provider_event_id",)),
        ("sandbox_payments", ("session_id", "payment_id")),
        ("sandbox_webhooks", ("event_id",)),
    ):
        for column in columns:
            sql = f"SELECT DISTINCT {column} FROM {table}"  # noqa: S608 - our names
            for (value,) in conn.execute(text(sql)).all():
                if value:
                    names.reference(value)
    # Hosted-page URLs carry the provider's session in their path or query.
    conn.execute(text("UPDATE checkouts SET redirect_url = NULL"))


def _anonymise_vtuber(conn: Connection, names: Replacements) -> None:
    rows = conn.execute(text("SELECT id, legal_name, bank FROM vtuber_profiles ORDER BY id")).all()
    for n, row in enumerate(rows, start=1):
        bank = row.bank if isinstance(row.bank, dict) else json.loads(row.bank or "{}")
        for key in ("account_number", "holder_kana"):
            if bank.get(key):
                names.values[str(bank[key])] = ""
        fake = {
            "bank_code": "0000",
            "branch_code": "000",
            "account_type": "ordinary",
            "account_number": f"{n:07d}"[-7:],
            "holder_kana": "ｽﾃｰｼﾞﾝｸﾞ",
        }
        if row.legal_name:
            names.values[row.legal_name] = f"Legal Name {n}"
        conn.execute(
            text("UPDATE vtuber_profiles SET legal_name = :legal, bank = :bank WHERE id = :id"),
            {"legal": f"Legal Name {n}", "bank": json.dumps(fake), "id": row.id},
        )
    for invite in conn.execute(text("SELECT id, email FROM vtuber_invitations")).all():
        new = names.values.get(invite.email) or names.email(invite.email)
        conn.execute(
            text("UPDATE vtuber_invitations SET email = :email WHERE id = :id"),
            {"email": new, "id": invite.id},
        )


# Table and column names below come from our own lists or from reflection, never from input.
def _scrub_everywhere(conn: Connection, pattern: re.Pattern[str], names: Replacements) -> int:
    """Replace any original value left in any text/JSON column; returns rows changed."""
    inspector = inspect(conn)
    changed = 0
    for table in inspector.get_table_names():
        pk = inspector.get_pk_constraint(table).get("constrained_columns") or []
        columns = [
            c["name"]
            for c in inspector.get_columns(table)
            if isinstance(c["type"], String | Text | JSON) or "JSON" in str(c["type"]).upper()
        ]
        if not pk or not columns:
            continue
        quoted = ", ".join(f'"{c}"' for c in {*pk, *columns})
        select = f'SELECT {quoted} FROM "{table}"'  # noqa: S608 - reflected names
        for row in conn.execute(text(select)).mappings().all():
            update: dict[str, Any] = {}
            for column in columns:
                value = row[column]
                was_json = not isinstance(value, str) and value is not None
                raw = json.dumps(value, ensure_ascii=False) if was_json else value
                if raw is None or not pattern.search(raw):
                    continue
                new = pattern.sub(lambda m: names.values[m.group(0)], raw)
                update[column] = new
            if not update:
                continue
            sets = ", ".join(f'"{c}" = :v_{i}' for i, c in enumerate(update))
            where = " AND ".join(f'"{c}" = :k_{i}' for i, c in enumerate(pk))
            params = {f"v_{i}": v for i, v in enumerate(update.values())}
            params |= {f"k_{i}": row[c] for i, c in enumerate(pk)}
            sql = f'UPDATE "{table}" SET {sets} WHERE {where}'  # noqa: S608 - reflected names
            conn.execute(text(sql), params)
            changed += 1
    return changed


def _replace_unrevealed_seeds(conn: Connection) -> int:
    """A fresh secret (and its commitment) for every pair production has not revealed yet."""
    rows = conn.execute(text("SELECT id FROM seed_pairs WHERE revealed_at IS NULL")).all()
    for row in rows:
        seed = secrets.token_bytes(32)
        conn.execute(
            text(
                "UPDATE seed_pairs SET server_seed = :seed, server_seed_hash = :hash WHERE id = :id"
            ),
            {"seed": seed, "hash": hashlib.sha256(seed).hexdigest(), "id": row.id},
        )
    return len(rows)


async def _in_service(settings: Settings, service: str, work: Any, *args: Any) -> Any:
    url, schema = settings.database_url_for(service)
    db = Database(url, schema, pool_size=1)
    try:
        async with db.engine.begin() as conn:
            return await conn.run_sync(work, *args)
    finally:
        await db.dispose()


def _drop(conn: Connection, tables: tuple[str, ...]) -> None:
    existing = set(inspect(conn).get_table_names())
    for table in tables:
        if table in existing:
            conn.execute(text(f'DELETE FROM "{table}"'))  # noqa: S608 - our names
    if "outbox" in existing:  # published events are history; pending ones are still owed
        conn.execute(text("DELETE FROM outbox WHERE published_at IS NOT NULL"))


async def cut_to_subset(settings: Settings, spec: SubsetSpec, names: Replacements) -> Selection:
    """Keep only the chosen fans (and every non-fan account) in the databases of ``settings``.
    The dropped fans' emails and provider references are noted in ``names``, so any quote of
    them left in a kept row is scrubbed like the kept fans' own."""
    selection = await select_users(settings, spec, _in_service)
    for email in selection.dropped_emails:
        names.email(email)
    for service in SERVICES:
        for reference in await _in_service(settings, service, cut_service, service, selection):
            names.reference(reference)
    names.selection = selection
    return selection


async def anonymise_in_place(
    settings: Settings, today: date | None = None, names: Replacements | None = None
) -> Replacements:
    """Rewrite the databases of ``settings`` (a copy, never production) as the module says."""
    names = names or Replacements()
    day = today or jst_day(datetime.now(UTC))
    for service in SERVICES:
        await _in_service(settings, service, _drop, DROPPED[service])
    await _in_service(settings, "auth", _anonymise_auth, names, day)
    await _in_service(settings, "payment", _anonymise_payment, names)
    await _in_service(settings, "vtuber", _anonymise_vtuber, names)
    names.seeds_replaced = await _in_service(settings, "gacha", _replace_unrevealed_seeds)
    pattern = names.pattern()
    if pattern is not None:
        for service in SERVICES:
            await _in_service(settings, service, _scrub_everywhere, pattern, names)
    return names


async def anonymised_copy(
    source: Settings, target: Settings, subset: SubsetSpec | None = None
) -> Replacements:
    """Copy every service from ``source`` into ``target``, cut the copy down to ``subset``
    (every fan when None) and anonymise it."""
    if source.database_url_for("auth") == target.database_url_for("auth"):
        raise ValueError("the target is the source: anonymise a copy, never the original")
    with TemporaryDirectory(prefix="koepon-anonymize-") as work:
        backup_to_dir(source, Path(work))
        await restore_from_dir(target, Path(work))
    names = Replacements()
    if subset is not None:
        await cut_to_subset(target, subset, names)
    return await anonymise_in_place(target, names=names)
