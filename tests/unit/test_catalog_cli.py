"""``regwatch catalog check`` and start-up refusal on an invalid catalog."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from services.cli.catalog import app as catalog_cli
from services.validator import app as validator_app
from shared.domain.catalog import default_catalog_dir
from shared.infra.runtime import StartupError, open_context
from shared.infra.settings import Settings


@pytest.fixture
def broken_catalog(tmp_path: Path) -> Path:
    target = tmp_path / "catalog"
    shutil.copytree(default_catalog_dir(), target)
    regimes = target / "regimes.yaml"
    regimes.write_text(regimes.read_text().replace("validity_years: 3", "validity_years: 0", 1))
    return target


def test_catalog_check_summarises_a_valid_catalog() -> None:
    result = CliRunner().invoke(catalog_cli, ["check"], terminal_width=200)
    assert result.exit_code == 0, result.output
    assert "catalog 2026.12.2 is valid" in result.output
    assert "25 categories, 16 document types" in result.output
    assert "gacc_decree_280" in result.output
    rows = [line.split("│") for line in result.output.splitlines() if line.startswith("│")]
    scrap = rows[: next(i for i, row in enumerate(rows) if "gacc_decree_248" in row[1])]
    in_force = " ".join(row[3].strip() for row in scrap)  # the cell, wrapped over lines
    assert in_force == "... to 2020-12-31 (end announced 2020-11-24)"
    assert "required_document" in result.output


def test_catalog_check_names_file_path_and_field(broken_catalog: Path) -> None:
    result = CliRunner().invoke(
        catalog_cli, ["check", "--dir", str(broken_catalog)], terminal_width=200
    )
    assert result.exit_code == 1
    assert "regimes.yaml: regimes[0].windows.validity_years: Input should be greater" in (
        " ".join(result.output.split())
    )


def test_services_refuse_to_start_on_an_invalid_catalog(broken_catalog: Path) -> None:
    # Nothing is contacted: the catalog is checked before any server.
    settings = Settings(catalog_dir=str(broken_catalog), amqp_url="amqp://nobody@127.0.0.1:1/")
    with pytest.raises(
        StartupError, match=r"invalid requirements catalog: regimes.yaml: regimes\[0\]"
    ):
        asyncio.run(validator_app.start(settings))
    with pytest.raises(StartupError, match="invalid requirements catalog"):
        asyncio.run(open_context("intake", settings))
