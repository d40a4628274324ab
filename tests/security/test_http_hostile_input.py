"""The intake HTTP API as a real process against hostile input: arbitrary uploads never
crash it and always get a specific problem; MongoDB operators in bodies and query strings
are data, not queries; path traversal in file names is neutralised; oversized headers are
refused; API keys are stored only hashed."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import pytest_asyncio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pymongo.asynchronous.database import AsyncDatabase

from devtools.local_infra import free_port
from shared.app.partners import issue_api_key, new_partner, save_partner
from shared.infra.settings import Settings
from tests.processes import ServiceProcess, service_env
from tests.support import sample_pdf

pytestmark = pytest.mark.e2e

EXPORTER = {"name": "Fjord Dairy AS", "country": "NO", "contact_emails": ["export@fjord.example"]}
ERROR_STATUSES = {400, 401, 403, 404, 409, 413, 415, 422}


@pytest.fixture(scope="module")
def intake_url(settings: Settings) -> Iterator[str]:
    port = free_port()
    process = ServiceProcess("intake", service_env(settings, intake_http_port=port))
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert process.alive(), process.output()[-3000:]
            time.sleep(0.1)
        yield url
        assert process.alive(), process.output()[-3000:]
    finally:
        process.stop()


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def api_key(db: AsyncDatabase) -> str:
    now = datetime.now(UTC)
    partner = new_partner(name="Hostile input partner", now=now)
    await save_partner(db, partner=partner)
    return await issue_api_key(db, partner_id=partner.id, now=now)


@pytest.fixture(scope="module")
def client(intake_url: str, api_key: str) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=intake_url, headers={"Authorization": f"Bearer {api_key}"}, timeout=30
    ) as http:
        yield http


@pytest.fixture(scope="module")
def application_id(client: httpx.Client) -> str:
    response = client.post(
        "/v1/applications",
        json={
            "exporter": EXPORTER,
            "category": "food.dairy",
            "product": "milk_powder",
            "kind": "new",
        },
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def assert_specific_problem(response: httpx.Response) -> None:
    assert response.status_code in ERROR_STATUSES, (response.status_code, response.text[:500])
    if response.status_code != 422 or "problem" in response.headers.get("content-type", ""):
        problem = response.json()
        assert problem.get("type") and problem.get("detail") or problem.get("title"), problem


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    filename=st.text(max_size=80),
    document_type=st.text(max_size=40),
    metadata=st.one_of(
        st.none(),
        st.text(max_size=80),
        st.dictionaries(st.text(max_size=10), st.text(max_size=10)).map(json.dumps),
    ),
    body=st.binary(max_size=4096),
    content_type=st.sampled_from(
        ["application/pdf", "image/png", "text/html", "application/octet-stream"]
    ),
)
def test_arbitrary_uploads_get_a_specific_answer_and_never_crash(
    client: httpx.Client,
    application_id: str,
    filename: str,
    document_type: str,
    metadata: str | None,
    body: bytes,
    content_type: str,
) -> None:
    data: dict[str, Any] = {"document_type": document_type}
    if metadata is not None:
        data["metadata"] = metadata
    response = client.post(
        f"/v1/applications/{application_id}/documents",
        files={"file": (filename or "f", body, content_type)},
        data=data,
    )
    if response.status_code in (200, 201):
        assert response.json()["status"] in {"accepted", "duplicate"}
    else:
        assert_specific_problem(response)


@pytest.mark.parametrize(
    "body",
    [
        {"exporter": EXPORTER, "category": {"$ne": None}, "kind": "new"},
        {
            "exporter": {"name": {"$gt": ""}, "country": "NO"},
            "category": "food.dairy",
            "kind": "new",
        },
        {"exporter": EXPORTER, "category": "food.dairy", "kind": {"$in": ["new"]}},
    ],
)
def test_operator_objects_in_json_bodies_are_refused(
    client: httpx.Client, body: dict[str, Any]
) -> None:
    response = client.post("/v1/applications", json=body)
    assert response.status_code == 422, response.text


@pytest.mark.parametrize(
    "query",
    ["status[$ne]=x", 'status={"$ne": null}', "category[$regex]=.*", 'category={"$gt": ""}'],
)
def test_operators_in_query_strings_match_nothing_of_others(
    client: httpx.Client, application_id: str, query: str
) -> None:
    response = client.get(f"/v1/applications?{query}")
    assert response.status_code in (200, 422), response.text
    if response.status_code == 200:
        listed = json.dumps(response.json())
        # Treated as a literal value: only this partner's applications could ever match.
        assert response.json().get("items", []) == [] or application_id in listed


@pytest.mark.parametrize("path_id", ['{"$ne": null}', "$where", "..%2F..%2Fetc%2Fpasswd"])
def test_operator_like_ids_in_paths_are_not_found(client: httpx.Client, path_id: str) -> None:
    assert client.get(f"/v1/applications/{path_id}").status_code == 404
    assert client.get(f"/v1/documents/{path_id}").status_code == 404


def test_path_traversal_in_file_names_is_neutralised_and_the_original_kept(
    client: httpx.Client, application_id: str
) -> None:
    original = "../../../etc/passwd\x00.pdf"
    response = client.post(
        f"/v1/applications/{application_id}/documents",
        files={"file": (original, sample_pdf("traversal"), "application/pdf")},
        data={"document_type": "application_form"},
    )
    assert response.status_code == 201, response.text
    document = response.json()["document"]
    assert "/" not in document["filename"]
    assert ".." not in document["filename"]
    assert "\x00" not in document["filename"]


def test_oversized_headers_are_refused_not_crashing(client: httpx.Client) -> None:
    # The server answers 400 and closes once the headers pass its limit; the client may still
    # be sending them, and then TCP resets the connection before the answer is read. Either
    # is a refusal; what must not happen is a served request or a server that stops answering.
    try:
        response = client.get("/v1/applications", headers={"X-Padding": "a" * 200_000})
    except (httpx.ReadError, httpx.WriteError, httpx.RemoteProtocolError):
        pass
    else:
        assert response.status_code in (400, 413, 431)
    assert client.get("/healthz").status_code == 200


@pytest.mark.asyncio(loop_scope="session")
async def test_api_keys_are_stored_only_hashed(db: AsyncDatabase, api_key: str) -> None:
    for collection in ("partners", "api_keys"):
        async for stored in db[collection].find({}):
            assert api_key not in json.dumps(stored, default=str)
