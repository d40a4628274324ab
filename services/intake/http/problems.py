"""RFC 9457 problem details: every partner API error as ``application/problem+json``.

Each refusal has its own ``type`` URI (``urn:regwatch:problem:<code>``), the same codes the
AMQP replies and ``document.rejected`` events carry, and a ``detail`` a partner can act on.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exception_handlers import (
    http_exception_handler,
    request_validation_exception_handler,
)
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pymongo.errors import PyMongoError
from starlette.exceptions import HTTPException as StarletteHTTPException

from services.intake.checks import IntakeError
from shared.infra.retry import is_transient

PROBLEM_TYPE_PREFIX = "urn:regwatch:problem:"
MEDIA_TYPE = "application/problem+json"
PARTNER_API_PREFIX = "/v1/"

# HTTP status per intake error code; anything not listed is 422 (well-formed but refused).
STATUS_BY_CODE: dict[str, int] = {
    "unauthorized": 401,
    "unknown_application": 404,
    "unknown_document": 404,
    "too_large": 413,
    "unsupported_type": 415,
    "content_type_mismatch": 415,
}


class Problem(Exception):
    """An error answered as problem+json."""

    def __init__(
        self,
        status: int,
        code: str,
        detail: str,
        *,
        errors: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail
        self.errors = errors or [{"code": code, "message": detail}]
        self.headers = headers or {}

    def body(self, instance: str) -> dict[str, Any]:
        return {
            "type": f"{PROBLEM_TYPE_PREFIX}{self.code}",
            "title": self.code.replace("_", " ").capitalize(),
            "status": self.status,
            "detail": self.detail,
            "instance": instance,
            "errors": self.errors,
        }


def problem_for(error: IntakeError) -> Problem:
    """The HTTP answer to an intake refusal."""
    return Problem(STATUS_BY_CODE.get(error.code, 422), error.code, error.message)


def problem_response(problem: Problem, request: Request) -> Response:
    return JSONResponse(
        problem.body(request.url.path),
        status_code=problem.status,
        media_type=MEDIA_TYPE,
        headers=problem.headers,
    )


async def _on_problem(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Problem)
    return problem_response(exc, request)


async def _on_validation(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    if not request.url.path.startswith(PARTNER_API_PREFIX):
        return await request_validation_exception_handler(request, exc)
    errors = [
        {
            "code": "invalid_request",
            "message": f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}",
        }
        for err in exc.errors()
    ]
    detail = "The request is malformed: " + "; ".join(e["message"] for e in errors)
    return problem_response(Problem(422, "invalid_request", detail, errors=errors), request)


async def _on_http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    if not request.url.path.startswith(PARTNER_API_PREFIX):
        return await http_exception_handler(request, exc)
    phrase = HTTPStatus(exc.status_code).phrase
    problem = Problem(
        exc.status_code,
        phrase.lower().replace(" ", "_"),
        str(exc.detail),
        headers=dict(exc.headers or {}),
    )
    body = {**problem.body(request.url.path), "type": "about:blank", "title": phrase}
    return JSONResponse(
        body, status_code=exc.status_code, media_type=MEDIA_TYPE, headers=problem.headers
    )


async def _on_database_error(request: Request, exc: Exception) -> Response:
    """A database outage is temporary: 503 with Retry-After, so clients retry (with the same
    Idempotency-Key, an upload is still stored once)."""
    assert isinstance(exc, PyMongoError)
    if not is_transient(exc):
        raise exc
    problem = Problem(
        503,
        "database_unavailable",
        "The database is unavailable for a moment; retry in a few seconds.",
        headers={"Retry-After": "5"},
    )
    return problem_response(problem, request)


def install(app: FastAPI) -> None:
    """Answer partner API errors as problem+json; other routes keep FastAPI's answers."""
    app.add_exception_handler(Problem, _on_problem)
    app.add_exception_handler(PyMongoError, _on_database_error)
    app.add_exception_handler(RequestValidationError, _on_validation)
    app.add_exception_handler(StarletteHTTPException, _on_http_error)
