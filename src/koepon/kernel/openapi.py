"""The OpenAPI document as the platform really answers: every refusal is an RFC 9457 problem.

FastAPI documents its validation errors as ``application/json`` ``HTTPValidationError`` bodies,
but ``kernel/problems.py`` answers them (and every other error) as ``application/problem+json``.
Clients and contract tests read the document, so it must say what goes over the wire.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from koepon.kernel.problems import PROBLEM_JSON

PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}

PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "description": "RFC 9457 problem details; clients match on the stable `code`.",
    "type": "object",
    "required": ["type", "title", "status", "detail", "code"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer", "minimum": 400, "maximum": 599},
        "detail": {"type": "string"},
        "code": {"type": "string"},
        "instance": {"type": "string"},
        "errors": {
            "description": "With `validation_failed`: each input that was refused, and why.",
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "loc": {"type": "array", "items": {"type": "string"}},
                    "msg": {"type": "string"},
                    "type": {"type": "string"},
                },
            },
        },
    },
    "additionalProperties": True,
}

# Answers every operation can give besides the ones its route declares.
_EVERY_OPERATION = {
    "4XX": "Refused: an RFC 9457 problem naming what is wrong (401 without a valid token, "
    "403 without the role, 404, 409, 413, 415, 429 with Retry-After)",
    "5XX": "A dependency is unavailable (503 with Retry-After) or an unexpected error "
    "(500 carrying the request id)",
}
_VALIDATION = "Invalid input: a `validation_failed` problem listing each refused field"
_FASTAPI_VALIDATION_SCHEMAS = ("HTTPValidationError", "ValidationError")


def _problem_content() -> dict[str, Any]:
    return {PROBLEM_JSON: {"schema": dict(PROBLEM_REF)}}


def _is_fastapi_validation(content: dict[str, Any]) -> bool:
    schema = content.get("application/json", {}).get("schema", {})
    return str(schema.get("$ref", "")).endswith("/HTTPValidationError")


def describe_problems(document: dict[str, Any]) -> dict[str, Any]:
    """``document`` with every error response declared as a problem (changed in place)."""
    for operations in document.get("paths", {}).values():
        for operation in operations.values():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            responses: dict[str, Any] = operation["responses"]
            for status, response in responses.items():
                if status[:1] not in ("4", "5"):
                    continue
                if status == "422" and response.get("description") == "Validation Error":
                    response["description"] = _VALIDATION
                content = response.get("content")
                # A route that declares its own error body (readiness) keeps it.
                if content is None or _is_fastapi_validation(content):
                    response["content"] = _problem_content()
            for status, description in _EVERY_OPERATION.items():
                responses.setdefault(
                    status, {"description": description, "content": _problem_content()}
                )
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    for name in _FASTAPI_VALIDATION_SCHEMAS:
        schemas.pop(name, None)
    schemas["Problem"] = PROBLEM_SCHEMA
    return document


def document_problems(app: FastAPI) -> None:
    """Make ``app.openapi()`` declare the problems the app really answers with."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = describe_problems(generate())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
