"""The AsyncAPI document partners read is generated from the code and kept up to date."""

from __future__ import annotations

from pathlib import Path

import yaml

from services.intake.asyncapi import specification

DOCUMENT = Path(__file__).resolve().parents[2] / "docs" / "asyncapi.yaml"


def generated() -> str:
    return specification().to_specification().to_yaml()


def test_docs_asyncapi_yaml_matches_the_code() -> None:
    # Compared as data: FastStream does not keep the order of channels from run to run.
    committed = yaml.safe_load(DOCUMENT.read_text())
    assert committed == yaml.safe_load(generated()), "run `make asyncapi`, commit the result"


def test_submit_channel_describes_the_partner_contract() -> None:
    document = yaml.safe_load(generated())
    submit = document["channels"]["document.submit"]
    assert submit["bindings"]["amqp"]["queue"]["name"] == "regwatch.intake.documents"
    for word in ("message_id", "user_id", "x-application-id", "x-document-type", "x-filename"):
        assert word in submit["description"]
    payload = document["components"]["schemas"]["document.submit:Message:Payload"]
    assert payload == {
        "format": "binary",
        "title": "document.submit:Message:Payload",
        "type": "string",
    }
    reply = document["components"]["schemas"]["SubmitReply"]
    assert set(reply["properties"]) == {"status", "document_id", "errors"}
    assert "document.received" in document["channels"]


def test_create_channel_and_events_queue_are_in_the_partner_contract() -> None:
    document = yaml.safe_load(generated())
    create = document["channels"]["application.create"]
    assert create["bindings"]["amqp"]["queue"]["name"] == "regwatch.intake.applications"
    assert "message_id" in create["description"]
    assert "reply_to" in create["description"]
    reply = document["components"]["schemas"]["CreateReply"]
    assert set(reply["properties"]) == {"status", "application_id", "errors"}
    addresses = [c["address"] for c in document["channels"].values()]
    assert addresses.count("partner.{amqp_user}.events") == 7
