"""No deployment file holds a secret: every password, token or key is a reference (compose
interpolation from .env, a Kong vault reference, a GitHub Actions secret, an ExternalSecret)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from deploy.manifests import ROOT

FILES = sorted(
    [
        ROOT / "docker-compose.yml",
        ROOT / "Dockerfile",
        ROOT / ".github" / "workflows" / "ci.yml",
        *(ROOT / "deploy").rglob("*.yaml"),
        *(ROOT / "deploy").rglob("*.yml"),
    ],
    key=str,
)
SECRET_NAME = re.compile(r"(?i)(password|passwd|secret|token|private_key|access_key|api_key)")
REFERENCE = re.compile(r"\$\{|\{vault://|\$\{\{\s*secrets\.")
# Keys whose values name a secret or a kind of token, not hold one.
NAMES_OF_SECRETS = ("Ref", "Name", "_FILE", "_type")
# user:password@ in a URL, unless the password is a reference.
URL_CREDENTIALS = re.compile(r"://[^/\s:@]+:(?P<password>[^@\s/]+)@")
# RabbitMQ's built-in account, only reachable from the CI job's own network.
PUBLIC_DEFAULTS = {"guest"}
KNOWN_SHAPES = re.compile(
    r"-----BEGIN [A-Z ]*PRIVATE KEY-----|\bsk_(live|test)_[0-9A-Za-z]{8,}|\bwhsec_[0-9A-Za-z]{8,}"
    r"|\bAKIA[0-9A-Z]{16}\b|\bgh[pousr]_[0-9A-Za-z]{20,}"
)


def _strings(value: Any, key: str = "") -> list[tuple[str, str]]:
    if isinstance(value, dict):
        return [pair for k, v in value.items() for pair in _strings(v, str(k))]
    if isinstance(value, list):
        return [pair for item in value for pair in _strings(item, key)]
    return [(key, value)] if isinstance(value, str) else []


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(Path(p).relative_to(ROOT)))
def test_no_literal_secret(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert not KNOWN_SHAPES.search(text), "a key or token in a committed file"
    for match in URL_CREDENTIALS.finditer(text):
        password = match["password"]
        assert REFERENCE.search(password) or password in PUBLIC_DEFAULTS, match.group(0)
    if path.suffix not in (".yml", ".yaml"):
        return
    for document in yaml.safe_load_all(text):
        for key, value in _strings(document):
            if SECRET_NAME.search(key) and value and not key.endswith(NAMES_OF_SECRETS):
                assert REFERENCE.search(value), f"{key}: {value!r} is not a reference"
