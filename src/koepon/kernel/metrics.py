"""The platform's Prometheus metrics beyond HTTP requests (those are in ``observability.py``).

Every label takes values from a fixed set (outcomes, statuses, service and consumer names,
breaker names): nothing a client sends becomes a label value, so the series stay few.
docs/OBSERVABILITY.md lists them with the alerts that watch them.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from aiobreaker import CircuitBreakerListener, CircuitBreakerState
from prometheus_client import Counter, Gauge

DRAWS = Counter(
    "koepon_draws_total",
    "Draws by outcome: accepted, completed, refused (nothing held), voided (held, released)",
    ["outcome"],
)
DRAW_SAGAS_RUNNING = Gauge(
    "koepon_draw_sagas_running", "Draw sagas running in this process (worker slots in use)"
)
DRAWS_UNFINISHED = Gauge(
    "koepon_draws_unfinished",
    "Draws not yet final, by saga status (accepted: the queue's backlog), seen by the sweeper",
    ["status"],
)
OUTBOX_LAG = Gauge(
    "koepon_outbox_lag_seconds",
    "Age of the oldest committed event not yet on the bus, per service (0: caught up)",
    ["service"],
)
OUTBOX_RELAY_FAILURES = Gauge(
    "koepon_outbox_relay_failures",
    "Consecutive relay rounds that could not publish, per service",
    ["service"],
)
BUS_MESSAGES = Counter(
    "koepon_bus_messages_total",
    "Bus messages handled, by consumer and outcome",
    ["consumer", "outcome"],
)
LEDGER_VIOLATIONS = Gauge(
    "koepon_ledger_invariant_violations",
    "Ledger invariants broken at the last audit (koepon audit ledger, the audit endpoint)",
)
LEDGER_AUDITED_AT = Gauge(
    "koepon_ledger_audit_timestamp_seconds", "When the ledger was last audited (Unix time)"
)
BREAKER_OPEN = Gauge(
    "koepon_circuit_breaker_open", "1 while a circuit breaker is open", ["breaker"]
)

# Outcome label values a draw can be counted under.
DRAW_OUTCOMES = ("accepted", "completed", "refused", "voided")


def count_draw(outcome: str) -> None:
    if outcome in DRAW_OUTCOMES:
        DRAWS.labels(outcome).inc()


def record_ledger_audit(violations: int) -> None:
    """The ledger audit's result, for the ``LedgerInvariantBroken`` alert."""
    LEDGER_VIOLATIONS.set(violations)
    LEDGER_AUDITED_AT.set(time.time())


def service_of(db: Any) -> str:
    """The service a database belongs to: its schema (PostgreSQL) or its file's name
    (SQLite, ``<service>.db``)."""
    schema = getattr(db, "schema", None)
    if schema:
        return str(schema)
    url = str(getattr(db, "url", ""))
    return Path(url.rsplit("///", 1)[-1]).stem or "unknown"


class BreakerMetrics(CircuitBreakerListener):  # type: ignore[misc]
    """Keeps ``koepon_circuit_breaker_open`` in step with its breaker (named by the code that
    builds it, so the label values are a fixed set)."""

    def state_change(self, breaker: Any, old: Any, new: Any) -> None:
        state = getattr(new, "state", new)
        BREAKER_OPEN.labels(breaker.name or "unnamed").set(
            1.0 if state == CircuitBreakerState.OPEN else 0.0
        )


def breaker_metrics() -> list[CircuitBreakerListener]:
    """``listeners=breaker_metrics()`` for an aiobreaker ``CircuitBreaker``."""
    return [BreakerMetrics()]
