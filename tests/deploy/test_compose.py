"""docker-compose.yml: valid against the Compose Specification's JSON schema (vendored from
compose-spec/compose-spec, schemas/README.md), and the local stack the brief describes."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import pytest
import yaml

from deploy.manifests import ROOT, check_cli_arguments
from koepon.kernel.settings import SERVICES

SCHEMAS = ROOT / "tests" / "deploy" / "schemas"


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))


def _koepon(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        name: service
        for name, service in compose["services"].items()
        if service.get("image", "").startswith("${KOEPON_IMAGE")
    }


def test_compose_file_follows_the_compose_specification(compose: dict[str, Any]) -> None:
    schema = json.loads((SCHEMAS / "compose-spec.json").read_text(encoding="utf-8"))
    jsonschema.Draft7Validator.check_schema(schema)
    errors = sorted(jsonschema.Draft7Validator(schema).iter_errors(compose), key=str)
    assert not errors, [f"{list(e.absolute_path)}: {e.message}" for e in errors]


def test_compose_runs_the_whole_distributed_stack(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert services["postgres"]["image"] == "postgres:15"
    assert "pg_basebackup" in services["postgres-replica"]["command"][0]
    assert services["redis"]["image"].startswith("redis:7")
    assert services["rabbitmq"]["image"].startswith("rabbitmq:3")
    assert services["minio"]["image"].startswith("minio/")
    assert "pgbouncer" in services["pgbouncer"]["image"]
    koepon = _koepon(compose)
    expected = {"migrate", "gateway", *SERVICES, *(f"{name}-worker" for name in SERVICES)}
    assert set(koepon) == expected
    for name, service in koepon.items():
        check_cli_arguments(service["command"])
        if name in (*SERVICES, "gateway"):
            assert service["command"][:3] == ["serve", "--service", name]
            assert "/readyz" in " ".join(service["healthcheck"]["test"])
        else:
            assert service["healthcheck"] == {"disable": True}, f"{name} serves no HTTP"
    assert services["migrate"]["command"] == ["migrate"]


def test_every_koepon_process_gets_the_same_settings(compose: dict[str, Any]) -> None:
    environments = [service["environment"] for service in _koepon(compose).values()]
    assert all(environment == environments[0] for environment in environments)
    environment = environments[0]
    urls = json.loads(environment["KOEPON_SERVICE_URLS"])
    assert set(urls) == set(SERVICES)
    assert all(urls[name] == f"http://{name}:8000" for name in SERVICES)
    for variable in (
        "KOEPON_DATABASE_URL",
        "KOEPON_REDIS_URL",
        "KOEPON_AMQP_URL",
        "KOEPON_S3_BUCKET",
    ):
        assert environment[variable]
    # Secrets are interpolated from .env, and the stack refuses to start without them.
    assert environment["KOEPON_INTERNAL_TOKEN"].startswith("${KOEPON_INTERNAL_TOKEN:?")
    assert "@pgbouncer:6432/" in environment["KOEPON_DATABASE_URL"]


def test_processes_start_once_their_dependencies_are_ready(compose: dict[str, Any]) -> None:
    koepon = _koepon(compose)
    for name, service in koepon.items():
        conditions = {dep: spec["condition"] for dep, spec in service["depends_on"].items()}
        if name == "migrate":
            assert conditions["postgres"] == "service_healthy"
        elif name == "gateway":
            assert all(conditions[s] == "service_healthy" for s in SERVICES)
        else:
            assert conditions["migrate"] == "service_completed_successfully"
            assert conditions["redis"] == conditions["rabbitmq"] == "service_healthy"
    for backend in ("postgres", "postgres-replica", "redis", "rabbitmq", "minio"):
        assert compose["services"][backend]["healthcheck"]["test"]
