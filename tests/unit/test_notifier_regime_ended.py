"""Emails about a category whose regime ended for good (scrap after the solid-waste ban of
2021-01-01): no email sends the contacts to apply again, in either language, and the other
categories keep their wording. The closure is the catalog's (``aqsiq_scrap``: its
``in_force_until`` and ``closed_reason``, no successor), judged on the day the email is made.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from types import SimpleNamespace
from typing import Any

import pytest

from services.notifier.application_notices import ApplicationChange, status_notice
from services.notifier.handlers import notice_for
from services.notifier.notices import Notice, RegimeEnded, regime_ended
from services.notifier.render import render
from shared.app.registration_lifecycle import term_deadlines
from shared.domain.calendar import authority_date, stored_day
from shared.domain.catalog import cached_catalog
from shared.domain.deadlines import reminder_points
from shared.domain.events import ApplicationStatusChanged, CloudEvent
from shared.domain.models import Application, Exporter
from shared.domain.renewal import plan_renewal
from tests.unit.categories import ARTICLE_7, SCRAP
from tests.unit.notices import NOW, deadline, registration, renewal

AFTER_THE_BAN = date(2021, 3, 1)  # a Beijing day
BAN = (
    "China has banned all imports of solid waste since 2021-01-01 (joint announcement of"
    " 2020-11-24): no scrap-material registration can be applied for or renewed after 2020-12-31."
)
BAN_ZH = (
    "自2021年1月1日起，中国全面禁止进口固体废物（2020年11月24日联合公告）："
    "2020年12月31日后不得再申请或延续任何废料注册。"
)
ENDED = (
    "No new registration can be applied for, nor any registration renewed: the registration"
    " regime for this category ended on 31 December 2020 and nothing has replaced it."
)
ENDED_ZH = (
    "无法再申请新的注册，也无法延续任何注册：该类别的注册制度已于2020年12月31日终止，"
    "且没有新的制度取代。"
)
# What sends a contact to apply (or renew) again, in each language.
APPLY_AGAIN = ("new registration application", "apply again", "export agent", "remind you")
APPLY_AGAIN_ZH = ("重新申请", "出口代理", "提醒您")


# -- the catalog's closure ------------------------------------------------------------------


@pytest.mark.parametrize("category", SCRAP)
def test_every_scrap_category_is_closed_from_the_day_after_the_regime_ended(category: str) -> None:
    catalog = cached_catalog()
    assert catalog.closed_regime_for(category, date(2020, 12, 31)) is None
    closed = catalog.closed_regime_for(category, date(2021, 1, 1))
    assert closed is not None
    assert closed.id == "aqsiq_scrap"
    assert regime_ended(catalog, category, date(2021, 1, 1)) == RegimeEnded(
        last_day=date(2020, 12, 31), reason=BAN
    )


@pytest.mark.parametrize("category", [*ARTICLE_7, "food.other"])
def test_no_food_category_is_closed_while_a_regime_is_or_will_be_in_force(category: str) -> None:
    catalog = cached_catalog()
    for day in (date(2019, 6, 1), date(2024, 6, 1), date(2040, 1, 1)):
        assert catalog.closed_regime_for(category, day) is None
    assert regime_ended(catalog, category, AFTER_THE_BAN) is None


# -- the notices before the end invite no filing that cannot succeed -------------------------


@pytest.mark.parametrize(
    "valid_until", [date(2020, 11, 30), date(2021, 3, 31), date(2021, 6, 30), date(2023, 12, 1)]
)
@pytest.mark.parametrize("planned_on", [date(2019, 10, 1), date(2020, 7, 1), date(2020, 12, 1)])
def test_scrap_renewal_reminders_all_come_while_the_regime_is_in_force_and_none_announces_a_window(
    valid_until: date, planned_on: date
) -> None:
    """A renewal reminder asks for a filing on a day the regime still judges it (the window
    ends with the regime, ``shared/domain/renewal.py``); scrap has no opening day, so no
    opening notice. What comes after the regime's end (the missed window, the expiry) is
    worded as ended, above."""
    doc = {
        "_id": "reg_1",
        "number": "R-1",
        "category": "scrap.metal",
        "valid_until": stored_day(valid_until),
    }
    plan = plan_renewal(cached_catalog(), "scrap.metal", valid_until, planned_on)
    points = [p for d in term_deadlines(doc, plan, NOW) for p in reminder_points(d)]
    asks_to_file = [p for p in points if p.event_type == "deadline.renewal_due"]
    assert asks_to_file  # planned before the ban: the window and its reminders exist
    assert all(authority_date(p.fire_at) <= date(2020, 12, 31) for p in asks_to_file)
    assert not [p for p in points if p.event_type == "deadline.renewal_window_opens"]


# -- the notifier judges it on the day it makes the email -----------------------------------


def ctx_at(instant: datetime) -> Any:
    """What ``notice_for`` reads for events without contacts: settings and the clock (no
    contact, so no language is looked up in the database)."""
    return SimpleNamespace(
        settings=SimpleNamespace(ops_email="ops@example.org", catalog_dir=None),
        clock=SimpleNamespace(now=lambda: instant),
        db=None,
    )


def expired_event(category: str) -> CloudEvent:
    data = {
        "deadline_id": "dl_x",
        "reminder_id": "dl_x:expired",
        "kind": "expiry",
        "subject": "reg_1",
        "registration_number": "CHN-SCRAP-7",
        "category": category,
        "due_at": "2021-09-30T16:00:00Z",
        "valid_until": "2021-09-30",
        "days_left": 0,
    }
    return CloudEvent(source="urn:regwatch:test", type="registration.expired", time=NOW, data=data)


@pytest.mark.asyncio
async def test_the_deadline_events_category_decides_the_wording_on_the_day_it_is_sent() -> None:
    after = await notice_for(
        ctx_at(datetime(2021, 10, 1, 2, tzinfo=UTC)), expired_event("scrap.metal")
    )
    assert after is not None
    assert after.regime_ended == RegimeEnded(last_day=date(2020, 12, 31), reason=BAN)
    # 2020-12-31 16:30 UTC is already 1 January 2021 in Beijing: the regime has ended.
    first_day = await notice_for(
        ctx_at(datetime(2020, 12, 31, 16, 30, tzinfo=UTC)), expired_event("scrap.metal")
    )
    assert first_day is not None
    assert first_day.regime_ended is not None
    last_day = await notice_for(
        ctx_at(datetime(2020, 12, 31, 15, 30, tzinfo=UTC)), expired_event("scrap.metal")
    )
    assert last_day is not None
    assert last_day.regime_ended is None  # still in force on its last day
    food = await notice_for(
        ctx_at(datetime(2031, 10, 1, 2, tzinfo=UTC)), expired_event("food.dairy")
    )
    assert food is not None
    assert food.regime_ended is None


@pytest.mark.asyncio
async def test_a_registration_events_category_decides_the_wording() -> None:
    data = {
        "registration_id": "reg_1",
        "registration_number": "CHN-SCRAP-7",
        "from_status": "active",
        "to_status": "cancelled",
        "trigger": "cancelled",
        "actor": "ops",
        "at": "2021-03-01T02:00:00Z",
        "category": "scrap.paper",
        "valid_until": "2021-09-30",
    }
    event = CloudEvent(
        source="urn:regwatch:test", type="registration.status_changed", time=NOW, data=data
    )
    notice = await notice_for(ctx_at(datetime(2021, 3, 1, 2, tzinfo=UTC)), event)
    assert notice is not None
    assert notice.regime_ended == RegimeEnded(last_day=date(2020, 12, 31), reason=BAN)


# -- what each email says ---------------------------------------------------------------------


def application_change(
    category: str, to_status: str, *, kind: str, reason: str | None = None
) -> Notice:
    application = Application(
        _id="app_1",
        partner_id="ptn_1",
        exporter=Exporter(
            name="Rust Belt Metals Inc", country="US", contact_emails=["c@rb.example"]
        ),
        category=category,
        kind=kind,  # type: ignore[arg-type]
        registration_number="CHN-7",
        registration_valid_until=date(2021, 9, 30),
        created_at=NOW,
        updated_at=NOW,
    )
    change = ApplicationStatusChanged(
        application_id="app_1",
        from_status="submitted",
        to_status=to_status,
        actor="validator",
        at=NOW,
        reason=reason,
    )
    notice = status_notice(
        ApplicationChange(
            change=change, application=application, missing=[], due_at=None, days_left=None
        )
    )
    assert notice is not None
    return notice


def registration_move(category: str, trigger: str, to_status: str) -> Notice:
    notice = registration(trigger, to_status, category=category, reason="Inspection findings")
    assert notice is not None
    return notice


# (template, how the notice is built for a category, what it says while a regime is in force)
CASES: list[tuple[str, Callable[[str], Notice], str]] = [
    (
        "renewal_refused",
        lambda c: application_change(c, "refused", kind="renewal", reason="The window closed"),
        "a new registration application is needed; please contact your export agent.",
    ),
    (
        "failure_notice",
        lambda c: application_change(c, "refused", kind="new", reason="The window closed"),
        "Please contact your export agent about whether and how to apply again.",
    ),
    (
        "certificate_issued",
        lambda c: application_change(c, "renewed", kind="renewal"),
        "We will remind you before it must be renewed again.",
    ),
    (
        "renewal_missed",
        lambda c: renewal("deadline.missed", days_left=0),
        "a new registration application is needed; please contact your export agent.",
    ),
    (
        "expired",
        lambda c: renewal("registration.expired", kind="expiry", days_left=0),
        "To export again, a new registration application is needed; please contact your export"
        " agent.",
    ),
    (
        "missed",
        lambda c: deadline("deadline.missed", days_left=0, application_status="failed"),
        "Please contact your export agent about the next steps.",
    ),
    (
        "registration_cancelled",
        lambda c: registration_move(c, "cancelled", "cancelled"),
        "To export again, a new registration application is needed; please contact your export"
        " agent.",
    ),
    (
        "registration_suspended",
        lambda c: registration_move(c, "suspended", "suspended"),
        "we will tell you when it is reinstated.",
    ),
    (
        "renewal_rejected_late",
        lambda c: registration_move(c, "renewal_rejected_late", "active"),
        "To export to China after that day, a new registration application is needed; please"
        " contact your export agent.",
    ),
]
IDS = [template for template, _, _ in CASES]
LABELS = (("en", "Exporter: "), ("zh", "出口企业："))


def made_on(build: Callable[[str], Notice], category: str, template: str) -> Notice:
    """The notice as the notifier completes it on a day after the ban."""
    notice = build(category)
    assert notice.template == template
    notice.regime_ended = regime_ended(cached_catalog(), category, AFTER_THE_BAN)
    return notice


@pytest.mark.parametrize(("template", "build", "in_force"), CASES, ids=IDS)
def test_scrap_emails_after_the_ban_say_the_regime_ended_and_send_nobody_to_apply_again(
    template: str, build: Callable[[str], Notice], in_force: str
) -> None:
    notice = made_on(build, "scrap.metal", template)
    # The message, before the facts and the still-missing list that every email may carry.
    english, chinese = (
        render(notice, language=x)[0].split("\n\n" + label)[0] for x, label in LABELS
    )
    english_html, chinese_html = (
        render(notice, language=x)[1].split("<table>")[0] for x, _ in LABELS
    )
    assert ENDED in english
    assert f"<p>{ENDED}</p>" in english_html
    assert ENDED_ZH in chinese
    assert f"<p>{ENDED_ZH}</p>" in chinese_html
    assert BAN in english  # why, in the catalog's words
    assert BAN_ZH in chinese
    for words in APPLY_AGAIN:
        assert words not in english
        assert words not in english_html
    for words in APPLY_AGAIN_ZH:
        assert words not in chinese
        assert words not in chinese_html


@pytest.mark.parametrize(("template", "build", "in_force"), CASES, ids=IDS)
def test_food_emails_keep_their_wording(
    template: str, build: Callable[[str], Notice], in_force: str
) -> None:
    notice = made_on(build, "food.dairy", template)
    assert notice.regime_ended is None
    english = render(notice, language="en")[0]
    chinese = render(notice, language="zh")[0]
    assert in_force in english
    assert ENDED not in english
    assert ENDED_ZH not in chinese
    assert "该类别的注册制度" not in chinese


def test_scrap_renewal_refused_after_the_ban_reads_exactly_so_in_both_languages() -> None:
    notice = made_on(
        lambda c: application_change(c, "refused", kind="renewal", reason=BAN),
        "scrap.metal",
        "renewal_refused",
    )
    english, chinese = render(notice, language="en")[0], render(notice, language="zh")[0]
    assert english.split("Exporter: ")[0] == (
        "Dear Rust Belt Metals Inc team,\n"
        "\n"
        "The renewal application app_1 for registration CHN-7 has been refused.\n"
        f"Its reason: {BAN}\n"  # the ban is the refusal's reason: not told twice
        "\n"
        "This application will not go further.\n"
        f"{ENDED}\n"
        "\n"
    )
    assert chinese.split("出口企业：")[0] == (
        "Rust Belt Metals Inc 团队：\n"
        "\n"
        "注册 CHN-7 的延续申请 app_1 未获批准。\n"
        f"原因：{BAN_ZH}\n"
        "\n"
        "该申请不再继续办理。\n"
        f"{ENDED_ZH}\n"
        "\n"
    )


def test_dairy_renewal_refused_reads_as_before_in_both_languages() -> None:
    notice = made_on(
        lambda c: application_change(c, "refused", kind="renewal", reason="The window closed"),
        "food.dairy",
        "renewal_refused",
    )
    english, chinese = render(notice, language="en")[0], render(notice, language="zh")[0]
    assert english.split("Exporter: ")[0] == (
        "Dear Rust Belt Metals Inc team,\n"
        "\n"
        "The renewal application app_1 for registration CHN-7 has been refused.\n"
        "Its reason: The window closed\n"
        "\n"
        "This application will not go further. To keep exporting to China after the registration"
        " expires on 30 September 2021, a new registration application is needed; please contact"
        " your export agent.\n"
        "\n"
    )
    assert chinese.split("出口企业：")[0] == (
        "Rust Belt Metals Inc 团队：\n"
        "\n"
        "注册 CHN-7 的延续申请 app_1 未获批准。\n"
        "原因：The window closed\n"
        "\n"
        "该申请不再继续办理。注册于2021年9月30日到期后如需继续向中国出口，须重新申请注册；"
        "请联系您的出口代理。\n"
        "\n"
    )


def test_expiry_reminder_of_a_scrap_registration_gives_the_catalogs_reason_in_chinese() -> None:
    notice = renewal(
        "deadline.expiry_due",
        kind="expiry",
        days_left=30,
        renewable=False,
        not_renewable_reason=BAN,
        not_renewable_from=date(2021, 1, 1),
    )
    assert f"It cannot be renewed: {BAN} (since 01 January 2021)." in render(notice)[0]
    chinese = render(notice, language="zh")[0]
    assert f"该注册无法延续：{BAN_ZH}（自2021年1月1日起）。" in chinese
