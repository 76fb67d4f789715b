"""The CI workflow (valid against SchemaStore's GitHub workflow schema, vendored: schemas/README.md)
and the Dockerfile's shape: multi-stage, not root, a health check, any service by argument."""

from __future__ import annotations

import json
import re
import shlex
from typing import Any

import jsonschema
import pytest
import yaml

from deploy.manifests import ROOT, check_cli_arguments

SCHEMAS = ROOT / "tests" / "deploy" / "schemas"


@pytest.fixture(scope="module")
def workflow() -> dict[str, Any]:
    loaded = yaml.safe_load((ROOT / ".github" / "workflows" / "ci.yml").read_text(encoding="utf-8"))
    # YAML 1.1 reads the key `on` as the boolean true; GitHub reads it as the string.
    if True in loaded:
        loaded["on"] = loaded.pop(True)
    return loaded


def test_ci_workflow_follows_the_github_workflow_schema(workflow: dict[str, Any]) -> None:
    schema = json.loads((SCHEMAS / "github-workflow.json").read_text(encoding="utf-8"))
    errors = sorted(jsonschema.Draft7Validator(schema).iter_errors(workflow), key=str)
    assert not errors, [f"{list(e.absolute_path)}: {e.message}" for e in errors]


def test_ci_lints_tests_against_real_backends_and_builds_the_image(
    workflow: dict[str, Any],
) -> None:
    jobs = workflow["jobs"]
    assert {"lint", "test", "image"} <= jobs.keys()
    assert any(step.get("run") == "make lint" for step in jobs["lint"]["steps"])
    test = jobs["test"]
    images = {name: service["image"] for name, service in test["services"].items()}
    assert images == {
        "postgres": "postgres:15",
        "redis": "redis:7",
        "rabbitmq": "rabbitmq:3-management",
    }
    runs = " ".join(step.get("run", "") for step in test["steps"])
    assert "chromium" in runs and "apt-get install" in runs
    assert re.search(r"\bmake (-o services )?test\b", runs)
    uses = [step.get("uses", "") for step in jobs["image"]["steps"]]
    assert any(use.startswith("docker/build-push-action@") for use in uses)


def _instructions() -> list[tuple[str, str]]:
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8").replace("\\\n", " ")
    lines = [line.strip() for line in text.splitlines()]
    return [
        (line.split(None, 1)[0].upper(), line.split(None, 1)[1] if " " in line else "")
        for line in lines
        if line and not line.startswith("#")
    ]


def test_dockerfile_builds_a_slim_non_root_image_running_any_service() -> None:
    instructions = _instructions()
    stages = [value for op, value in instructions if op == "FROM"]
    assert len(stages) >= 3 and all(" AS " in stage.upper() for stage in stages)
    assert stages[-1].startswith("python:3.11-slim")
    runtime = instructions[max(i for i, (op, _) in enumerate(instructions) if op == "FROM") :]
    users = [value for op, value in runtime if op == "USER"]
    assert users and not users[-1].startswith(("root", "0")), "the runtime stage runs as root"
    assert any("ffmpeg" in value for op, value in runtime if op == "RUN")
    healthcheck = next(value for op, value in runtime if op == "HEALTHCHECK")
    assert "/healthz" in healthcheck
    assert json.loads(next(value for op, value in runtime if op == "ENTRYPOINT")) == ["koepon"]
    check_cli_arguments(json.loads(next(value for op, value in runtime if op == "CMD")))
    builder = " ".join(value for op, value in instructions if op == "RUN")
    assert "uv sync --frozen --no-dev" in builder and "scripts/build-web-assets" in builder


def test_dockerignore_keeps_what_the_build_reads() -> None:
    ignored = {
        line.strip()
        for line in (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    }
    copied = {
        part
        for op, value in _instructions()
        if op == "COPY" and "--from" not in value
        for part in shlex.split(value)[:-1]
    }
    assert copied and not copied & ignored
    assert {".git", ".venv", "node_modules", ".env"} <= ignored
