"""What each email says (pure: notices and templates, no SMTP)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.notifier.notices import deadline_notice, status_notice
from services.notifier.render import compose, render
from shared.domain.events import ApplicationStatusChanged, CloudEvent, DeadlineEvent, new_event

NOW = datetime(2031, 3, 1, 9, 0, tzinfo=UTC)


def deadline_event(event_type: str, **fields) -> CloudEvent:
    values = {
        "deadline_id": "dl_1",
        "reminder_id": "dl_1:T-7d",
        "kind": "rectification",
        "subject": "app_1",
        "application_id": "app_1",
        "exporter_name": "Nordic Scrap AB",
        "product": "Copper scrap",
        "contact_emails": ["a@nordic.example", "b@nordic.example", "a@nordic.example"],
        "due_at": NOW + timedelta(days=7),
        "days_left": 7,
        "missing": ["11 facility photos required, 8 received"],
    }
    values.update(fields)
    return new_event(
        event_type, DeadlineEvent(**values), service="scheduler", time=NOW, event_id="reminder:x"
    )


def test_rectification_reminder_says_what_is_due_when_and_what_is_missing() -> None:
    notice = deadline_notice(deadline_event("deadline.rectification_due"), "ops@example.org")
    assert notice.recipients == ["a@nordic.example", "b@nordic.example"]
    assert notice.subject == (
        "Rectification due in 7 days: Nordic Scrap AB, application app_1 (by 08 March 2031)"
    )
    text, html = render(notice)
    assert "Dear Nordic Scrap AB team" in text
    assert "Product: Copper scrap" in text
    assert "08 March 2031 (7 days left)" in text
    assert "  - 11 facility photos required, 8 received" in text
    assert "How to send it" in text and "application app_1" in text
    assert "<li>11 facility photos required, 8 received</li>" in html


def test_html_escapes_what_partners_typed_and_text_does_not() -> None:
    event = deadline_event("deadline.renewal_due", kind="renewal", exporter_name="<b>A&B</b> Ltd")
    text, html = render(deadline_notice(event, "ops@example.org"))
    assert "&lt;b&gt;A&amp;B&lt;/b&gt; Ltd" in html and "<b>A&B" not in html
    assert "Dear <b>A&B</b> Ltd team" in text


def test_missed_and_expired_and_processing_notices() -> None:
    missed = deadline_notice(
        deadline_event("deadline.missed", days_left=0, application_status="failed"), "ops@x.org"
    )
    assert missed.subject.startswith("Deadline missed: the rectification window")
    assert 'now recorded as "failed"' in render(missed)[0]
    expired = deadline_notice(
        deadline_event("registration.expired", kind="renewal", registration_number="CHN123"),
        "ops@x.org",
    )
    assert (
        expired.subject
        == "Registration expired: Nordic Scrap AB, registration CHN123 (on 08 March 2031)"
    )
    overdue = deadline_notice(
        deadline_event("deadline.processing_overdue", kind="processing"), "ops@x.org"
    )
    assert overdue.recipients == ["ops@x.org"]
    assert "For ops" in render(overdue)[0]


def test_status_change_by_ops_is_told_but_the_schedulers_own_is_not() -> None:
    application = {
        "_id": "app_1",
        "exporter": {"name": "Fjord Dairy AS", "contact_emails": ["c@fjord.example"]},
        "product": "Cheese",
        "registration_number": "CHN-9",
    }

    def changed(to_status: str, actor: str) -> CloudEvent:
        payload = ApplicationStatusChanged(
            application_id="app_1", from_status="accepted", to_status=to_status, actor=actor, at=NOW
        )
        return new_event(
            "application.status_changed", payload, service="t", time=NOW, subject="app_1"
        )

    issued = status_notice(
        changed("registered", "ops"), application, missing=[], due_at=None, days_left=None
    )
    assert (
        issued is not None
        and issued.subject == "Certificate issued: Fjord Dairy AS, registration CHN-9"
    )
    assert issued.recipients == ["c@fjord.example"]
    assert (
        status_notice(
            changed("failed", "scheduler"), application, missing=[], due_at=None, days_left=None
        )
        is None
    )
    assert (
        status_notice(
            changed("under_examination", "ops"),
            application,
            missing=[],
            due_at=None,
            days_left=None,
        )
        is None
    )


def test_composed_email_has_text_and_html_and_a_stable_message_id() -> None:
    notice = deadline_notice(deadline_event("deadline.rectification_due"), "ops@x.org")
    first = compose(
        notice,
        recipient="a@nordic.example",
        sender="r <n@r.local>",
        event_id="e1",
        event_type="t",
        date=NOW,
    )
    again = compose(
        notice,
        recipient="a@nordic.example",
        sender="r <n@r.local>",
        event_id="e1",
        event_type="t",
        date=NOW,
    )
    other = compose(
        notice,
        recipient="b@nordic.example",
        sender="r <n@r.local>",
        event_id="e1",
        event_type="t",
        date=NOW,
    )
    assert first["Message-ID"] == again["Message-ID"] != other["Message-ID"]
    assert [p.get_content_type() for p in first.iter_parts()] == ["text/plain", "text/html"]


def test_status_change_carrying_window_end_and_items_is_told_with_them() -> None:
    application = {
        "_id": "app_2",
        "exporter": {"name": "Fjord Dairy AS", "contact_emails": ["d@fjord.example"]},
    }
    payload = ApplicationStatusChanged(
        application_id="app_2",
        from_status="under_examination",
        to_status="additional_materials_requested",
        actor="ops",
        at=NOW,
        due_at=NOW + timedelta(days=30),
        items=["Chinese translation of the business licence"],
    )
    event = new_event("application.status_changed", payload, service="t", time=NOW, subject="app_2")
    notice = status_notice(
        event, application, missing=["older item"], due_at=NOW + timedelta(days=30), days_left=30
    )
    assert notice is not None
    assert notice.subject == "Additional materials requested for application app_2 (Fjord Dairy AS)"
    text, _ = render(notice)
    assert "  - Chinese translation of the business licence" in text and "older item" not in text
    assert "Reply by: 31 March 2031 (30 days left)" in text
