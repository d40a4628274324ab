"""Importing existing registrations (HTTP and CLI): renewals watched from day one."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from pymongo.asynchronous.database import AsyncDatabase
from typer.testing import CliRunner

from services.cli.registrations import app as registrations_cli
from shared.domain.calendar import authority_date
from shared.domain.deadlines import last_day
from shared.infra.settings import Settings
from tests.integration.lifecycle_support import OPS, Lifecycle

HEADER = "registration_number,exporter_name,country,category,product,issued_on,valid_until,contact_emails"


def sample_csv(tag: str) -> str:
    return "\n".join(
        [
            HEADER,
            f"{tag}-1,Fjord Dairy AS,NO,food.dairy,infant_formula,2023-02-01,2028-01-31,a@fjord.example;b@fjord.example",
            f"{tag}-2,Alpine Honey GmbH,AT,food.bee_products,,2024-05-01,2029-04-30,honey@alpine.example",
            f"{tag}-3,Bad Date Ltd,GB,food.meat,,2024-13-01,2029-01-01,x@bad.example",
            f"{tag}-4,Unknown Cat Ltd,GB,food.candy,,2024-01-01,2029-01-01,x@bad.example",
            f"{tag}-5,No Mail Ltd,GB,food.other,,2024-01-01,2029-01-01,not-an-email",
            f"{tag}-6,Old Scrap Ltd,US,scrap.metal,,2019-01-01,2022-01-01,scrap@old.example",
            f"{tag}-7,Backwards Ltd,FR,food.other,,2025-01-01,2024-01-01,x@back.example",
            "",
        ]
    )


@pytest.mark.asyncio
async def test_csv_import_reports_bad_rows_by_line_and_imports_the_good(
    db: AsyncDatabase, lifecycle: Lifecycle
) -> None:
    tag = f"IMP{uuid.uuid4().hex[:6]}"
    response = await lifecycle.http.post(
        "/v1/registrations/import",
        content=sample_csv(tag),
        headers={**OPS, "Content-Type": "text/csv"},
    )
    assert response.status_code == 200, response.text
    report = response.json()
    assert (report["imported"], report["unchanged"]) == (3, 0)
    errors = {e["line"]: e["message"] for e in report["errors"]}
    assert sorted(errors) == [4, 5, 6, 8]
    assert errors[4].startswith("issued_on:")
    assert errors[5] == "category: unknown category 'food.candy'"
    assert errors[6].startswith("contact_emails:")
    assert errors[8] == "valid_until: must be after issued_on"
    # A scrap registration past the ban is recorded and watched; it says why it can't renew.
    scrap = await db["registrations"].find_one({"number": f"{tag}-6"})
    assert scrap is not None
    assert scrap["status"] == "expired"  # its term ended in 2022
    assert scrap["renewable"] is False
    assert "banned all imports of solid waste" in scrap["not_renewable_reason"]

    registration = await db["registrations"].find_one({"number": f"{tag}-1"})
    assert registration is not None
    assert registration["contact_emails"] == ["a@fjord.example", "b@fjord.example"]
    assert registration["product"] == "infant_formula"
    assert registration["source"] == "import"
    deadline = await db["deadlines"].find_one({"subject": f"{tag}-1", "kind": "renewal"})
    assert deadline is not None
    assert deadline["status"] == "open"
    # Filed under Decree 280: the window opens 6 and closes 3 months before expiry.
    assert last_day(deadline["due_at"]).isoformat() == "2027-10-31"
    assert authority_date(deadline["opens_at"]).isoformat() == "2027-07-31"
    assert last_day(deadline["expires_at"]).isoformat() == "2028-01-31"
    assert deadline["exporter_name"] == "Fjord Dairy AS"

    again = await lifecycle.http.post(
        "/v1/registrations/import",
        content=sample_csv(tag),
        headers={**OPS, "Content-Type": "text/csv"},
    )
    assert (again.json()["imported"], again.json()["unchanged"]) == (0, 3)
    assert await db["registrations"].count_documents({"number": {"$regex": f"^{tag}"}}) == 3
    # A renewal window and an expiry for each food registration; none for the ended term.
    assert await db["deadlines"].count_documents({"subject": {"$regex": f"^{tag}"}}) == 4


@pytest.mark.asyncio
async def test_import_as_multipart_upload_and_header_checks(lifecycle: Lifecycle) -> None:
    tag = f"MP{uuid.uuid4().hex[:6]}"
    response = await lifecycle.http.post(
        "/v1/registrations/import",
        files={"file": ("registrations.csv", sample_csv(tag).encode(), "text/csv")},
        headers=OPS,
    )
    assert response.status_code == 200
    assert response.json()["imported"] == 3
    wrong_header = await lifecycle.http.post(
        "/v1/registrations/import",
        content="number,name\nX,Y\n",
        headers={**OPS, "Content-Type": "text/csv"},
    )
    [error] = wrong_header.json()["errors"]
    assert error["line"] == 1
    assert "the header row lacks registration_number" in error["message"]
    refused = await lifecycle.http.post(
        "/v1/registrations/import", content=sample_csv(tag), headers={"Content-Type": "text/csv"}
    )
    assert refused.status_code == 401


def test_cli_import_prints_a_report_and_is_idempotent(
    settings: Settings, tmp_path: Path, db: AsyncDatabase
) -> None:
    tag = f"CLI{uuid.uuid4().hex[:6]}"
    csv_file = tmp_path / "registrations.csv"
    csv_file.write_text(sample_csv(tag))
    env = {"MONGODB_URL": settings.mongodb_url, "MONGODB_DB": settings.mongodb_db}
    first = CliRunner().invoke(registrations_cli, ["import", str(csv_file)], env=env)
    assert first.exit_code == 1, first.output  # bad rows make the exit status 1
    assert "3 imported, 0 already known, 4 rejected" in first.output
    assert "unknown category 'food.candy'" in first.output
    again = CliRunner().invoke(registrations_cli, ["import", str(csv_file)], env=env)
    assert "0 imported, 3 already known, 4 rejected" in again.output
