"""``regwatch demo`` with the reader on: the mismatch between a document's text and its
metadata is singled out. In a module of its own, so that no service of another module
(reader off, another vhost) runs beside these on the same database."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from services.cli.demo_samples import MISMATCHED_FILE
from services.intake.http import create_http_app
from shared.infra.runtime import ServiceContext
from shared.infra.settings import Settings
from tests.cli_support import json_of, regwatch
from tests.support import serving

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_with_the_reader_on_the_demo_shows_the_certificate_whose_text_says_another_expiry(
    reading_settings: Settings, reading_services: dict[str, ServiceContext]
) -> None:
    async with serving(create_http_app(reading_services["intake"])) as url:
        result = await regwatch(
            reading_settings, "demo", "--intake-url", url, "--timeout", "120", "--json"
        )
    summary = json_of(result)
    expires = date(datetime.now(UTC).year + 2, 6, 30)
    caught = summary["reader_caught"]
    assert caught is not None, result.stdout
    assert caught.startswith(f"{MISMATCHED_FILE}: page 1 reads 'Valid until: ")
    assert f"the metadata says expiry_date {expires}" in caught
    assert "The reader caught" in result.stdout
    assert "the reader is off" not in result.stdout
