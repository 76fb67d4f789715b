"""The OpenAPI document declares the errors the platform really sends: RFC 9457 problems."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from koepon.app import Platform, create_app
from koepon.kernel.openapi import describe_problems
from koepon.kernel.settings import Settings

PROBLEM = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}


def served_document(tmp_path: Path) -> dict[str, Any]:
    platform = Platform(Settings(data_dir=tmp_path / "data", environment="test"))
    document: dict[str, Any] = create_app(platform, manage_lifecycle=False).openapi()
    return document


def test_every_operation_declares_its_refusals_as_problems(tmp_path: Path) -> None:
    document = served_document(tmp_path)
    assert document["components"]["schemas"]["Problem"]["required"] == [
        "type",
        "title",
        "status",
        "detail",
        "code",
    ]
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            responses = operation["responses"]
            assert responses["4XX"]["content"] == PROBLEM, (method, path)
            assert responses["5XX"]["content"] == PROBLEM, (method, path)
            if "422" in responses:
                assert responses["422"]["content"] == PROBLEM, (method, path)
    # FastAPI's own validation body is never sent, so it is not documented either.
    assert "HTTPValidationError" not in json.dumps(document)


def test_a_route_that_declares_its_own_error_body_keeps_it() -> None:
    own = {"application/json": {"schema": {"type": "object"}}}
    document: dict[str, Any] = {
        "paths": {
            "/readyz": {
                "get": {"responses": {"200": {"description": "ok"}, "503": {"content": own}}}
            }
        }
    }
    responses = describe_problems(document)["paths"]["/readyz"]["get"]["responses"]
    assert responses["503"]["content"] == own
    assert responses["4XX"]["content"] == PROBLEM


def test_bodiless_acceptances_are_documented_without_a_body(tmp_path: Path) -> None:
    paths = served_document(tmp_path)["paths"]
    for path in ("/api/v1/auth/password-reset/request", "/api/v1/auth/verify-email/request"):
        assert "content" not in paths[path]["post"]["responses"]["202"], path
