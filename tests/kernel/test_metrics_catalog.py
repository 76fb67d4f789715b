"""/metrics after a draw: every metric of the catalog (docs/OBSERVABILITY.md) is there, labels
are route templates and fixed sets (bounded cardinality), and each moves when it should."""

from __future__ import annotations

import re
from pathlib import Path

from aiobreaker import CircuitBreaker, CircuitBreakerError
from prometheus_client import REGISTRY

from gacha.conftest import Desk, desk_fixture  # noqa: F401 - the desk fixture
from kernel.scrape import draw_and_scrape
from koepon.kernel import metrics
from koepon.payment.wallet.audit import audit_ledger
from payment.fixtures.shop import shop_fixture  # noqa: F401 - the shop fixture

DOCS = Path(__file__).resolve().parents[2] / "docs" / "OBSERVABILITY.md"
METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "OTHER"}
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-")


async def test_a_draw_moves_the_draw_request_and_outbox_metrics(desk: Desk) -> None:
    gacha_id, families = await draw_and_scrape(desk)

    draws = {
        s.labels["outcome"]: s.value for s in families["koepon_draws"] if s.name.endswith("_total")
    }
    assert draws["accepted"] >= 1 and draws["completed"] >= 1

    requests = [s for s in families["koepon_http_requests"] if s.name.endswith("_total")]
    routes = {s.labels["route"] for s in requests}
    assert "/api/v1/gachas/{gacha_id}/draws" in routes
    assert "unmatched" in routes or "/{path:path}" in routes  # unknown paths share one value
    for sample in requests:
        assert gacha_id not in sample.labels["route"] and not UUID.search(sample.labels["route"])
        assert sample.labels["method"] in {
            "GET",
            "HEAD",
            "POST",
            "PUT",
            "PATCH",
            "DELETE",
            "OPTIONS",
            "OTHER",
        }

    lag = {s.labels["service"]: s.value for s in families["koepon_outbox_lag_seconds"]}
    assert {"gacha", "payment"} <= set(lag) and all(v >= 0 for v in lag.values())
    consumed = [
        s
        for s in families["koepon_bus_messages"]
        if s.name.endswith("_total") and s.labels["outcome"] == "handled"
    ]
    assert consumed, "no bus message counted as handled"
    assert "koepon_draw_sagas_running" in families


async def test_the_ledger_audit_sets_its_gauge(desk: Desk) -> None:
    assert await audit_ledger(desk.platform.units["payment"].db) == []
    assert metrics.LEDGER_VIOLATIONS._value.get() == 0
    assert metrics.LEDGER_AUDITED_AT._value.get() > 0
    metrics.record_ledger_audit(3)
    assert metrics.LEDGER_VIOLATIONS._value.get() == 3
    metrics.record_ledger_audit(0)


async def test_an_open_breaker_shows_in_its_gauge() -> None:
    breaker = CircuitBreaker(fail_max=1, name="test-breaker", listeners=metrics.breaker_metrics())

    async def failing() -> None:
        raise ConnectionError("down")

    try:
        await breaker.call_async(failing)
    except (ConnectionError, CircuitBreakerError):
        pass
    assert metrics.BREAKER_OPEN.labels("test-breaker")._value.get() == 1.0


def test_draw_outcomes_outside_the_catalog_are_not_counted() -> None:
    metrics.count_draw("voiding")
    metrics.count_draw("anything")
    for outcome in ("voiding", "anything"):
        assert REGISTRY.get_sample_value("koepon_draws_total", {"outcome": outcome}) is None


async def test_the_docs_catalog_lists_every_koepon_metric(desk: Desk) -> None:
    _gacha_id, families = await draw_and_scrape(desk)
    # The text format shows each counter's and histogram's creation time as its own family.
    exposed = {
        name for name in families if name.startswith("koepon_") and not name.endswith("_created")
    }
    documented = set(re.findall(r"`(koepon_[a-z_]+)", DOCS.read_text(encoding="utf-8")))
    # Counters are documented with _total, as queries use them.
    documented = {name.removesuffix("_total") for name in documented}
    assert exposed <= documented, f"undocumented: {sorted(exposed - documented)}"
    assert documented <= exposed, f"documented but not exposed: {sorted(documented - exposed)}"
