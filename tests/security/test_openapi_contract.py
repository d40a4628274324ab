"""Schemathesis against the intake's own OpenAPI document, over HTTP to a real process:
every operation, with schema-valid and schema-violating data, as a partner and as ops.
No answer is a 5xx; every status is documented; every error is problem+json of the
documented shape; every schema-valid request is handled: accepted, or refused for a reason
of the domain with its own code (an unknown category is schema-valid), never as malformed.
A stateful run follows the links from a created application to reading it back."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import pytest_asyncio
import schemathesis
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hypothesis_settings
from hypothesis.errors import Unsatisfiable
from pymongo.asynchronous.database import AsyncDatabase
from schemathesis import GenerationMode
from schemathesis.checks import negative_data_rejection, positive_data_acceptance

from shared.app.partners import issue_api_key, new_partner, save_partner
from shared.infra.settings import Settings
from tests.security.intake_process import running_intake

pytestmark = pytest.mark.e2e

PROBLEM = "application/problem+json"
# Rules JSON Schema cannot state, the only refusals as malformed a schema-valid request may
# meet: the "email" format allows what no mail server delivers to (0@0.test), and a
# rule across fields holds (a renewal names its registration); dates lie in a range.
INEXPRESSIBLE_RULES = (
    "special-use or reserved name",
    "body: Value error",  # a rule across fields (a renewal needs the registration it renews)
    "than or equal to datetime.date",  # JSON Schema bounds numbers, not dates
    "Expected UploadFile",  # a multipart part without a file name is not a file
    "not in contact_emails",  # a language's key must be one of the contacts (across fields)
)
EXAMPLES = 10  # per operation and mode: enough to find the classic mistakes in seconds
# Links FastAPI cannot express: what a created application's id opens next.
APPLICATION_LINKS = {
    "GetApplication": {
        "operationId": "get_application_v1_applications__application_id__get",
        "parameters": {"application_id": "$response.body#/id"},
    },
    "UploadDocument": {
        "operationId": "upload_document_v1_applications__application_id__documents_post",
        "parameters": {"application_id": "$response.body#/id"},
    },
}


@pytest.fixture(scope="module")
def intake_url(settings: Settings) -> Iterator[str]:
    with running_intake(settings) as url:
        yield url


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def partner_key(db: AsyncDatabase) -> str:
    now = datetime.now(UTC)
    partner = new_partner(name="Contract test partner", now=now)
    await save_partner(db, partner=partner)
    return await issue_api_key(db, partner_id=partner.id, now=now)


@pytest.fixture(scope="module")
def intake_schema(intake_url: str) -> Any:
    raw = httpx.get(f"{intake_url}/openapi.json").json()
    created = raw["paths"]["/v1/applications"]["post"]["responses"]["201"]
    created["links"] = APPLICATION_LINKS
    schema = schemathesis.openapi.from_dict(raw)
    schema.config.update(base_url=intake_url, suppress_health_check=list(HealthCheck))
    schema.config.generation.update(
        modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
        max_examples=25,
        allow_extra_parameters=False,  # unknown query parameters are ignored, as HTTP APIs do
    )
    return schema


def operations(schema: Any) -> list[Any]:
    return [result.ok() for result in schema.get_all_operations()]


def credentials(operation: Any, partner_key: str, ops_token: str) -> dict[str, str]:
    tags = operation.definition.raw.get("tags", [])
    return {"Authorization": f"Bearer {ops_token if 'ops' in tags else partner_key}"}


def assert_problem_if_error(response: Any, path: str) -> None:
    if response.status_code < 400 or not path.startswith("/v1/"):
        return
    content_type = response.headers["content-type"]  # schemathesis keeps header lists
    content_type = content_type[0] if isinstance(content_type, list) else content_type
    assert content_type.startswith(PROBLEM), response.text[:300]
    body = response.json()
    assert body["status"] == response.status_code
    assert body["type"]
    assert body["detail"]


def fuzz(operation: Any, mode: GenerationMode, examples: int, check: Any) -> None:
    """Run ``check`` on ``examples`` generated cases of one operation in one mode."""

    @given(case=operation.as_strategy(generation_mode=mode))
    @hypothesis_settings(
        max_examples=examples,
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate],  # no shrinking: each step is a request
        suppress_health_check=list(HealthCheck),
    )
    def run(case: Any) -> None:
        check(case)

    try:
        run()
    except Unsatisfiable:  # no schema-violating request exists (e.g. /healthz): nothing to do
        assert mode is GenerationMode.NEGATIVE, operation.label


# Pytest's parametrisation of schemathesis needs the schema at import time, before the
# intake process runs; one test per mode walks every operation instead.
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_every_operation_answers_as_documented(
    intake_schema: Any, partner_key: str, settings: Settings, mode: GenerationMode
) -> None:
    for operation in operations(intake_schema):
        headers = credentials(operation, partner_key, settings.regwatch_ops_token)

        def check(case: Any, headers: dict[str, str] = headers) -> None:
            excluded = [positive_data_acceptance]
            if mode is GenerationMode.NEGATIVE and case.method.upper() == "GET":
                # A query string carries text only: an "object" generated for a string filter
                # arrives as text the API may take as a filter. 5xx and problem shapes are
                # still checked.
                excluded.append(negative_data_rejection)
            response = case.call_and_validate(headers=headers, excluded_checks=excluded)
            assert_problem_if_error(response, case.path)
            if mode is GenerationMode.POSITIVE and response.status_code == 422:
                # A schema-valid request passes the schema; what is left is the domain's
                # own refusal with its own code (an unknown category, a missing field...).
                problem = response.json()
                assert problem["type"] != "urn:regwatch:problem:invalid_request" or all(
                    any(rule in e["message"] for rule in INEXPRESSIBLE_RULES)
                    for e in problem["errors"]
                ), response.text[:500]

        fuzz(operation, mode, EXAMPLES, check)


def test_the_other_kind_of_credentials_is_refused_as_a_documented_problem(
    intake_schema: Any, partner_key: str, settings: Settings
) -> None:
    for operation in operations(intake_schema):
        if operation.path == "/healthz":
            continue
        # Swap: a partner key on an ops operation, the ops token on a partner operation.
        tags = operation.definition.raw.get("tags", [])
        wrong = partner_key if "ops" in tags else settings.regwatch_ops_token

        def check(case: Any, wrong: str = wrong) -> None:
            response = case.call(headers={"Authorization": f"Bearer {wrong}"})
            assert response.status_code in (401, 422), response.text[:300]
            case.validate_response(response)
            assert_problem_if_error(response, case.path)

        fuzz(operation, GenerationMode.POSITIVE, 3, check)


def test_links_from_a_created_application_are_followed(
    intake_schema: Any, partner_key: str, settings: Settings
) -> None:
    machine = intake_schema.as_state_machine()

    class Calls(machine):  # type: ignore[misc, valid-type]
        def get_call_kwargs(self, case: Any) -> dict[str, Any]:
            return {
                "headers": credentials(case.operation, partner_key, settings.regwatch_ops_token)
            }

        def validate_response(self, response: Any, case: Any, **kwargs: Any) -> None:
            # The links are the point here; data in and out of the schema is checked above.
            case.validate_response(
                response, excluded_checks=[positive_data_acceptance, negative_data_rejection]
            )

    Calls.run(settings=hypothesis_settings(max_examples=15, deadline=None, stateful_step_count=6))
