"""The OpenAPI document says what the API really answers: every error is problem+json.

FastAPI documents its own 422 body (``HTTPValidationError``) and nothing about 401 or 503;
the intake answers all of them as RFC 9457 problems. This rewrites the generated document
once so that clients and contract tests read the truth.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from services.intake.http.problems import MEDIA_TYPE

PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "A problem (RFC 9457); ``type`` is urn:regwatch:problem:<code> or about:blank.",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["code", "message"],
                "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
            },
        },
    },
}
PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
# Answered by every authenticated operation: bad credentials, a malformed request, the
# database away for a moment.
COMMON_ERRORS = {
    "401": "Credentials missing, unknown or of the wrong kind (partner key vs ops token).",
    "422": "The request is malformed or refused; ``errors`` names each reason.",
    "503": "The database is unavailable for a moment: retry after ``Retry-After`` seconds.",
}
UNAUTHENTICATED = {"/healthz"}


def document_problems(app: FastAPI) -> None:
    """Replace ``app.openapi`` by one that documents problem+json errors everywhere."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = generate()
            schemas = schema.setdefault("components", {}).setdefault("schemas", {})
            schemas["Problem"] = PROBLEM_SCHEMA
            for path, item in schema["paths"].items():
                for operation in item.values():
                    _document(operation, authenticated=path not in UNAUTHENTICATED)
            # An upload without its file or document type is refused (``missing_field``):
            # both are optional to FastAPI only so that the refusal is the intake's own.
            for body in schemas.values():
                if {"file", "document_type"} <= set(body.get("properties", {})):
                    body["required"] = ["file", "document_type"]
            for unused in ("HTTPValidationError", "ValidationError"):
                schemas.pop(unused, None)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _document(operation: dict[str, Any], *, authenticated: bool) -> None:
    responses = operation.setdefault("responses", {})
    if authenticated:
        for status, description in COMMON_ERRORS.items():
            responses.setdefault(status, {"description": description})
    if "requestBody" in operation:
        responses.setdefault("400", {"description": "The body cannot be parsed (JSON, form)."})
    for status, response in responses.items():
        if status.startswith(("4", "5")):
            response["content"] = {MEDIA_TYPE: {"schema": PROBLEM_REF}}
