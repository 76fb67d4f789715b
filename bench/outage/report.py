"""The outage run's one table: purchases against the provider's records, events, what users
saw in each fault window, recovery times, and the ledger audit."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from typing import Any

from bench.outage.faults import Fault
from bench.outage.reconcile import Events, Money
from bench.outage.workload import Answer, Workload

GRACE_SECONDS = 5.0  # answers this long after a fault ends still belong to its window
SUCCESS = {"login": 200, "probe me": 200, "probe wallet": 200, "checkout": 201, "poll": 200}


def p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(len(ordered) * 0.99) - 1)] if ordered else 0.0


def in_window(answer: Answer, fault: Fault) -> bool:
    return fault.start <= answer.at <= fault.end + GRACE_SECONDS


def saw(answers: Iterable[Answer]) -> dict[str, Any]:
    answers = list(answers)
    statuses = Counter(a.status for a in answers)
    kinds = Counter(a.content_type or "-" for a in answers if a.status >= 400)
    codes = Counter(f"{a.status} {a.code}" for a in answers if a.status >= 500 or a.status == 409)
    return {
        "answers": len(answers),
        "statuses": " ".join(
            f"{s or 'none'}×{n}" for s, n in sorted(statuses.items(), key=lambda i: i[0])
        ),
        "error types": " ".join(f"{k}×{n}" for k, n in sorted(kinds.items())),
        "codes": " ".join(f"{k}×{n}" for k, n in codes.most_common(4)),
        "500": statuses.get(500, 0),
        "text/plain": sum(1 for a in answers if a.content_type.startswith("text/plain")),
        "503 without Retry-After": sum(1 for a in answers if a.status == 503 and not a.retry_after),
        "409 idempotency_in_flight": sum(1 for a in answers if a.code == "idempotency_in_flight"),
        "refresh_token_reused": sum(1 for a in answers if a.code == "refresh_token_reused"),
    }


def recovery(fault: Fault, answers: list[Answer]) -> str:
    """Seconds from the fault's end to the first success of each affected flow."""
    parts = []
    for flow in fault.flows:
        if flow not in SUCCESS:
            continue
        first = next(
            (
                a.at
                for a in answers
                if a.flow == flow and a.at >= fault.end and a.status == SUCCESS[flow]
            ),
            None,
        )
        parts.append(f"{flow} {first - fault.end:.1f} s" if first is not None else f"{flow} never")
    return ", ".join(parts)


def table(
    *,
    title: str,
    load: Workload,
    faults: list[Fault],
    money: Money,
    events: Events,
    audit: str,
    settle: str,
) -> str:
    rows: list[tuple[str, str]] = []

    def add(label: str, value: object) -> None:
        rows.append((label, str(value)))

    results = load.results()
    add("purchases attempted", len(load.purchases))
    for result, count in results.most_common():
        add(f"  {result}", count)
    add("provider sessions / charged", f"{money.provider_sessions} / {money.charged}")
    add("credited (checkouts with medals)", money.credited)
    add("refunded by the cap re-check", money.refunded)
    add("CHARGED BUT NOT CREDITED", len(money.charged_not_credited))
    add("CREDITED TWICE", len(money.credited_twice))
    add("credited without a charge", len(money.credited_without_charge))
    add("refunded and medals kept", len(money.refunded_and_kept))
    add("checkouts by status", _counts(money.checkout_statuses))
    add("settle", settle)
    add(
        "events: outbox rows / published / pending",
        f"{events.outbox} / {events.published} / {events.pending}",
    )
    add("events: published, never on the broker", events.not_seen_on_broker)
    add("events: published twice (inbox absorbs)", events.published_twice)
    if not events.consumers:
        add("events: consumed (inboxes)", "no consumer received any of the run's topics")
    for consumer, c in sorted(events.consumers.items()):
        add(
            f"  consumer {consumer}",
            f"{c['consumed']}/{c['expected']} consumed, {c['missing']} lost",
        )
    windows = [
        ("outside faults", [a for a in load.answers if not any(in_window(a, f) for f in faults)])
    ]
    windows += [(f.name, [a for a in load.answers if in_window(a, f)]) for f in faults]
    for name, answers in windows:
        seen = saw(answers)
        add(f"[{name}] answers", f"{seen['answers']}: {seen['statuses']}")
        add(f"[{name}] error content types", seen["error types"] or "-")
        add(f"[{name}] top 409/5xx codes", seen["codes"] or "-")
        failures = {k: seen[k] for k in ("500", "text/plain", "503 without Retry-After") if seen[k]}
        others = {
            k: seen[k] for k in ("409 idempotency_in_flight", "refresh_token_reused") if seen[k]
        }
        add(f"[{name}] failures", _dict(failures) or "none")
        if others:
            add(f"[{name}] noted", _dict(others))
    for fault in faults:
        add(
            f"recovery: {fault.name}",
            f"{fault.end - fault.start:.0f} s down; " + (recovery(fault, load.answers) or "-"),
        )
        for key, value in fault.notes.items():
            add(f"  {key}", value)
    hung = next((f for f in faults if f.name == "payment hung"), None)
    if hung is not None:
        probes = [a for a in load.answers if a.flow == "probe me"]
        during = [a for a in probes if hung.start <= a.at <= hung.end]
        base = [a for a in probes if not any(in_window(a, f) for f in faults)]
        add("auth /me while payment hangs", _latency(during))
        add("auth /me outside faults", _latency(base))
    add("koepon audit ledger", audit)
    verdict = "MONEY LOST OR DOUBLED" if money.lost_or_doubled else "no money lost or doubled"
    add("verdict", verdict)
    width = max(len(label) for label, _ in rows)
    lines = [title, "=" * len(title)]
    lines += [f"{label.ljust(width)}  {value}" for label, value in rows]
    return "\n".join(lines)


def _counts(counter: Counter[str]) -> str:
    return " ".join(f"{k}×{n}" for k, n in counter.most_common())


def _dict(values: dict[str, object]) -> str:
    return ", ".join(f"{k} {v}" for k, v in values.items())


def _latency(answers: list[Answer]) -> str:
    ok = sum(1 for a in answers if a.status == 200)
    return (
        f"p99 {p99([a.seconds for a in answers]) * 1000:.0f} ms, {ok}/{len(answers)} answered 200"
    )
