"""What each email says (pure: notices and templates, no SMTP)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Any

import pytest

from services.notifier.application_notices import ApplicationChange, status_notice
from services.notifier.notices import IncompleteEvent, Notice
from services.notifier.render import compose, render
from shared.domain.events import ApplicationStatusChanged
from shared.domain.models import Application, Exporter
from tests.unit.notices import CLOSES, NOW, OPS, deadline, registration, renewal


def application_change(
    to_status: str, *, kind: str = "new", actor: str = "ops", **fields: Any
) -> Notice | None:
    application = Application(
        _id="app_1",
        partner_id="ptn_1",
        exporter=Exporter(name="Fjord Dairy AS", country="NO", contact_emails=["c@fjord.example"]),
        category="food.dairy",
        product="Cheese",
        kind=kind,  # type: ignore[arg-type]
        registration_number="CHN-9",
        created_at=NOW,
        updated_at=NOW,
    )
    change = ApplicationStatusChanged(
        application_id="app_1",
        from_status="under_examination",
        to_status=to_status,
        actor=actor,
        at=NOW,
        **fields,
    )
    due_at = change.due_at
    return status_notice(
        ApplicationChange(
            change=change,
            application=application,
            missing=["older item"],
            due_at=due_at,
            days_left=30 if due_at else None,
        )
    )


def text_of(notice: Notice | None) -> str:
    assert notice is not None
    return render(notice)[0]


# Deadlines of applications


def test_rectification_reminder_says_what_is_due_when_and_what_is_missing() -> None:
    notice = deadline("deadline.rectification_due")
    assert notice.recipients == ["a@nordic.example", "b@nordic.example"]
    assert str(notice.subject) == (
        "Rectification due in 7 days: Nordic Scrap AB, application app_1 (by 08 March 2031)"
    )
    text, html = render(notice)
    assert "Dear Nordic Scrap AB team" in text
    assert "Product: Copper scrap" in text
    assert "08 March 2031 (7 days left)" in text
    assert "  - 11 facility photos required, 8 received" in text
    assert "How to send it" in text
    assert "application app_1" in text
    assert "<li>11 facility photos required, 8 received</li>" in html


def test_additional_materials_reminder_has_its_own_subject() -> None:
    notice = deadline("deadline.additional_materials_due", kind="additional_materials", days_left=1)
    assert str(notice.subject) == (
        "Additional materials due in 1 day: Nordic Scrap AB, application app_1 (by 08 March 2031)"
    )


def test_exporter_name_missing_is_your_company() -> None:
    notice = deadline("deadline.rectification_due", exporter_name=None)
    assert str(notice.subject).startswith("Rectification due in 7 days: your company, application")


def test_missed_application_window_names_the_window_the_application_and_its_last_day() -> None:
    notice = deadline(
        "deadline.missed",
        kind="additional_materials",
        days_left=0,
        due_at=CLOSES,
        due_on=date(2027, 5, 31),
        application_status="not_accepted",
    )
    assert str(notice.subject) == (
        "Deadline missed: the additional materials window for application app_1"
        " closed on 31 May 2027"
    )
    assert 'now recorded as "not accepted"' in text_of(notice)


def test_processing_overdue_goes_to_ops_only() -> None:
    notice = deadline("deadline.processing_overdue", kind="processing")
    assert notice.recipients == [OPS]
    assert str(notice.subject) == (
        "Processing overdue: application app_1 of Nordic Scrap AB has had no decision"
        " since 08 March 2031"
    )
    assert "For ops" in text_of(notice)


# Plain dates are the authority's days


def test_plain_date_is_the_beijing_last_day_when_the_payload_has_no_due_on() -> None:
    notice = renewal("deadline.renewal_due", due_on=None, days_left=14)
    assert str(notice.subject).endswith("(by 31 May 2027)")


def test_evening_utc_instant_of_the_next_beijing_day_is_shown_as_that_day() -> None:
    # 20:00 UTC on 30 June is 04:00 on 1 July in Beijing; the window ends at 24:00 on 1 July.
    ends = datetime(2027, 7, 1, 16, 0, tzinfo=UTC)
    notice = deadline("deadline.rectification_due", due_at=ends, due_on=None)
    assert str(notice.subject).endswith("(by 01 July 2027)")


# Renewals


def test_opening_notice_gives_the_window_and_the_documents_and_asks_for_nothing_yet() -> None:
    notice = renewal("deadline.renewal_window_opens", days_left=120, point="opens-notice")
    assert str(notice.subject) == (
        "Renewal window opens on 01 March 2027: Fjord Dairy AS, registration CHN-DAIRY-0042"
    )
    text, html = render(notice)
    assert "opens on 01 March 2027" in text
    assert "closes on 31 May 2027" in text
    assert "expires on 31 August 2027" in text
    assert "  - Application form for renewal\n  - Declaration of compliance" in text
    assert "<li>Declaration of compliance</li>" in html
    for body in (text, html):
        assert not re.search(r"\bsend\b|before then|days? left", body, re.IGNORECASE)


def test_opening_notice_without_its_opening_day_is_not_sent_vague() -> None:
    with pytest.raises(IncompleteEvent):
        renewal("deadline.renewal_window_opens", opens_on=None)


def test_renewal_reminder_names_the_close_and_the_expiry() -> None:
    notice = renewal("deadline.renewal_due", days_left=14)
    assert str(notice.subject) == (
        "Renewal due in 14 days: Fjord Dairy AS, registration CHN-DAIRY-0042 (by 31 May 2027)"
    )
    text = text_of(notice)
    assert "closes on 31 May 2027, in 14 days" in text
    assert "Renewal window closes: 31 May 2027 (14 days left)" in text
    assert "The registration expires on 31 August 2027." in text


def test_missed_renewal_names_the_expiry_and_the_new_application_it_takes() -> None:
    notice = renewal("deadline.missed", days_left=0)
    assert str(notice.subject) == (
        "Deadline missed: the renewal window for registration CHN-DAIRY-0042 closed on 31 May 2027"
    )
    text = text_of(notice)
    assert "The registration expires on 31 August 2027" in text
    assert "a new registration application is needed" in text


def test_expired_registration_gives_its_last_valid_day() -> None:
    notice = renewal(
        "registration.expired",
        kind="expiry",
        due_at=datetime(2027, 8, 31, 16, 0, tzinfo=UTC),
        due_on=date(2027, 8, 31),
        days_left=0,
    )
    assert str(notice.subject) == (
        "Registration expired: Fjord Dairy AS, registration CHN-DAIRY-0042 (on 31 August 2027)"
    )
    assert "expired on 31 August 2027" in text_of(notice)


def test_expiry_of_a_registration_that_cannot_be_renewed_says_why_and_from_when() -> None:
    notice = renewal(
        "deadline.expiry_due",
        kind="expiry",
        subject="CHN-SCRAP-7",
        registration_number="CHN-SCRAP-7",
        exporter_name="Nordic Scrap AB",
        days_left=30,
        renewable=False,
        not_renewable_reason="solid waste may no longer be imported into China",
        not_renewable_from=date(2021, 1, 1),
    )
    assert str(notice.subject) == (
        "Registration expires in 30 days and cannot be renewed: Nordic Scrap AB,"
        " registration CHN-SCRAP-7 (on 31 August 2027)"
    )
    text = text_of(notice)
    assert "It cannot be renewed: solid waste may no longer be imported into China" in text
    assert "(since 01 January 2021)" in text


# Registration moves


def test_renewal_rejected_while_the_window_is_open_asks_to_file_again() -> None:
    notice = registration(
        "renewal_rejected", "renewal_open", reason="The declaration is not signed"
    )
    assert notice is not None
    assert notice.recipients == ["c@fjord.example"]
    assert str(notice.subject) == (
        "Renewal not accepted, the window is open until 31 May 2027: Fjord Dairy AS,"
        " registration CHN-DAIRY-0042"
    )
    text = text_of(notice)
    assert "Its reason: The declaration is not signed" in text
    assert "filed again" in text
    assert "before the window closes" in text


def test_renewal_rejected_after_the_window_says_when_it_expires_and_what_it_takes() -> None:
    notice = registration("renewal_rejected_late", "active", reason="The declaration is not signed")
    assert notice is not None
    assert str(notice.subject) == (
        "Renewal not accepted, registration CHN-DAIRY-0042 expires on 31 August 2027:"
        " Fjord Dairy AS"
    )
    text = text_of(notice)
    assert "Its reason: The declaration is not signed" in text
    assert "The renewal window closed on 31 May 2027" in text
    assert "new registration application is needed" in text


@pytest.mark.parametrize(
    ("trigger", "to_status", "subject"),
    [
        ("suspended", "suspended", "Registration suspended"),
        ("cancelled", "cancelled", "Registration cancelled"),
        ("reinstated", "active", "Registration reinstated"),
    ],
)
def test_ops_decisions_on_a_registration_are_told(
    trigger: str, to_status: str, subject: str
) -> None:
    notice = registration(trigger, to_status, from_status="active", reason="Inspection findings")
    assert notice is not None
    assert str(notice.subject) == f"{subject}: Fjord Dairy AS, registration CHN-DAIRY-0042"
    assert "Inspection findings" in text_of(notice)


@pytest.mark.parametrize(
    ("trigger", "to_status"),
    [
        ("window_opened", "renewal_open"),
        ("renewal_filed", "renewal_filed"),
        ("renewal_granted", "renewed"),
        ("term_ended", "expired"),
    ],
)
def test_registration_moves_told_elsewhere_send_nothing(trigger: str, to_status: str) -> None:
    assert registration(trigger, to_status) is None


# Application status changes


def test_certificate_on_a_new_application_is_told_but_the_schedulers_own_moves_are_not() -> None:
    issued = application_change("registered")
    assert issued is not None
    assert str(issued.subject) == "Certificate issued: Fjord Dairy AS, registration CHN-9"
    assert issued.recipients == ["c@fjord.example"]
    assert application_change("failed", actor="scheduler") is None
    assert application_change("under_examination") is None


def test_refusal_of_a_new_application_keeps_its_subject() -> None:
    refused = application_change("refused", reason="Scrap may no longer be imported")
    assert refused is not None
    assert str(refused.subject) == "Registration refused: application app_1 (Fjord Dairy AS)"


def test_granted_renewal_is_told_as_a_certificate_with_the_new_term() -> None:
    notice = application_change(
        "renewed", kind="renewal", registration_number="CHN-9", valid_until=date(2032, 8, 31)
    )
    assert notice is not None
    assert str(notice.subject) == "Certificate issued: Fjord Dairy AS, registration CHN-9"
    assert "new term runs until 31 August 2032" in text_of(notice)


def test_refused_renewal_says_why_and_what_to_do_instead() -> None:
    notice = application_change(
        "refused", kind="renewal", reason="The renewal window closed on 31 May 2027"
    )
    assert notice is not None
    assert str(notice.subject) == "Renewal refused: application app_1 (Fjord Dairy AS)"
    text = text_of(notice)
    assert "Its reason: The renewal window closed on 31 May 2027" in text
    assert "new registration application is needed" in text


@pytest.mark.parametrize(
    "to_status", ["not_accepted", "failed", "waiting_for_window", "under_examination"]
)
def test_renewal_moves_told_by_the_registration_or_needing_nothing_send_nothing(
    to_status: str,
) -> None:
    assert application_change(to_status, kind="renewal") is None


def test_window_request_gives_its_last_beijing_day_and_the_items_asked_for() -> None:
    notice = application_change(
        "additional_materials_requested",
        due_at=CLOSES,
        items=["Chinese translation of the business licence"],
    )
    assert notice is not None
    assert (
        str(notice.subject)
        == "Additional materials requested for application app_1 (Fjord Dairy AS)"
    )
    text = text_of(notice)
    assert "  - Chinese translation of the business licence" in text
    assert "older item" not in text
    assert "Please reply by 31 May 2027." in text
    assert "Reply by: 31 May 2027 (30 days left)" in text


# Rendering


def test_html_escapes_what_partners_typed_and_text_does_not() -> None:
    text, html = render(
        renewal("deadline.renewal_due", exporter_name="<b>A&B</b> Ltd", days_left=3)
    )
    assert "&lt;b&gt;A&amp;B&lt;/b&gt; Ltd" in html
    assert "<b>A&B" not in html
    assert "Dear <b>A&B</b> Ltd team" in text


def test_composed_email_has_text_and_html_and_a_stable_message_id() -> None:
    notice = deadline("deadline.rectification_due")

    def to(recipient: str) -> Any:
        return compose(
            notice,
            recipient=recipient,
            sender="r <n@r.local>",
            event_id="e1",
            event_type="t",
            date=NOW,
        )

    first, again, other = to("a@nordic.example"), to("a@nordic.example"), to("b@nordic.example")
    assert first["Message-ID"] == again["Message-ID"] != other["Message-ID"]
    assert [p.get_content_type() for p in first.iter_parts()] == ["text/plain", "text/html"]
