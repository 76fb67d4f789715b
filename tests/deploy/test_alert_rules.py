"""The Prometheus rules and the Grafana dashboard: well-formed, and watching only metrics that
the platform's /metrics really exposes (scraped after requests and a draw)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from gacha.conftest import Desk, desk_fixture  # noqa: F401 - the desk fixture
from kernel.scrape import draw_and_scrape, exposed_names
from payment.fixtures.shop import shop_fixture  # noqa: F401 - the shop fixture

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
RULES = DEPLOY / "prometheus" / "alerts.yml"
SCRAPE = DEPLOY / "prometheus" / "prometheus.yml"
DASHBOARD = DEPLOY / "grafana" / "koepon-dashboard.json"
SEVERITIES = {"info", "warning", "page", "critical"}
# Series Prometheus makes itself, not the platform.
SYNTHETIC = {"up"}
# PromQL functions and keywords followed by "(" or used bare, never metric names.
METRIC = re.compile(r"\b(koepon_[a-z0-9_]+|up)\b(?!\s*\()")


def rules() -> list[dict[str, Any]]:
    document = yaml.safe_load(RULES.read_text(encoding="utf-8"))
    return [rule for group in document["groups"] for rule in group["rules"]]


def dashboard_exprs() -> list[str]:
    board = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    return [target["expr"] for panel in board["panels"] for target in panel["targets"]]


def metric_names(expr: str) -> set[str]:
    without_strings = re.sub(r'"[^"]*"', '""', expr)
    return set(METRIC.findall(without_strings))


def test_every_rule_is_complete() -> None:
    found = rules()
    assert len(found) >= 10
    names = [rule["alert"] for rule in found]
    assert len(names) == len(set(names)), "alert names repeat"
    for rule in found:
        assert rule["expr"].strip(), rule["alert"]
        assert re.fullmatch(r"\d+[smh]", str(rule["for"])), rule["alert"]
        assert rule["labels"]["severity"] in SEVERITIES, rule["alert"]
        assert rule["annotations"]["summary"].strip(), rule["alert"]


@pytest.mark.parametrize(
    "watched",
    [
        "koepon_http_requests_total",
        "koepon_http_request_seconds_bucket",
        "koepon_draws_total",
        "koepon_draws_unfinished",
        "koepon_outbox_lag_seconds",
        "koepon_ledger_invariant_violations",
        "koepon_circuit_breaker_open",
        "koepon_bus_messages_total",
        "up",
    ],
)
def test_the_rules_watch_what_the_issue_asks_for(watched: str) -> None:
    assert any(watched in metric_names(rule["expr"]) for rule in rules())


def test_the_ledger_alert_is_critical_and_outbox_lag_is_60_seconds() -> None:
    by_name = {rule["alert"]: rule for rule in rules()}
    assert by_name["KoeponLedgerInvariantBroken"]["labels"]["severity"] == "critical"
    assert "> 60" in by_name["KoeponOutboxLag"]["expr"]


def test_every_alert_has_a_runbook_section() -> None:
    docs = (DEPLOY.parent / "docs" / "OBSERVABILITY.md").read_text(encoding="utf-8")
    for rule in rules():
        assert f"### {rule['alert']}\n" in docs, rule["alert"]


def test_prometheus_scrapes_every_service_with_the_token_from_a_file() -> None:
    config = yaml.safe_load(SCRAPE.read_text(encoding="utf-8"))
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    targets = {t for group in jobs["koepon"]["static_configs"] for t in group["targets"]}
    hosts = {target.split(":")[0] for target in targets}
    assert hosts == {"gateway", "auth", "payment", "gacha", "rewards", "vtuber"}
    for job in jobs.values():
        header = job["http_headers"]["X-Koepon-Internal"]
        assert set(header) == {"files"}, "the token comes from a file, never inline"
    assert "/etc/prometheus/rules/alerts.yml" in config["rule_files"]


async def test_rules_and_dashboard_watch_only_metrics_that_exist(desk: Desk) -> None:
    _gacha_id, families = await draw_and_scrape(desk)
    exposed = exposed_names(families) | SYNTHETIC
    for rule in rules():
        missing = metric_names(rule["expr"]) - exposed
        assert not missing, f"{rule['alert']} watches {sorted(missing)}, not on /metrics"
    for expr in dashboard_exprs():
        missing = metric_names(expr) - exposed
        assert not missing, f"dashboard query {expr!r} uses {sorted(missing)}"
