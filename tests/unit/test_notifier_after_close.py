"""Emails sent once their window, application or registration has closed, and the requests
and reminders of a window the category's regime outlived: each tells what is true on the day
it is made.

A closed window lists what was missing when it closed and no way to send it (sending can
change nothing any more). An application's window still open after its category's regime
ended for good (scrap after the solid-waste ban of 2021-01-01) asks for nothing: no
registration can come of the application, whatever is sent.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from types import SimpleNamespace
from typing import Any

import pytest

from services.notifier.application_notices import ApplicationChange, status_notice
from services.notifier.handlers import notice_for
from services.notifier.notices import Notice, regime_ended
from services.notifier.render import render
from shared.domain.catalog import cached_catalog
from shared.domain.events import ApplicationStatusChanged, CloudEvent
from shared.domain.models import Application, Exporter
from tests.unit.notices import NOW, deadline, renewal

FOOTER = {"en": "Dates are the days", "zh": "日期均为"}
ITEM = "11 facility photos required, 8 received"
HOW_TO_SEND = ("How to send it", "提交方式")
AFTER_THE_BAN = date(2021, 1, 8)  # a Beijing day, a week into the solid-waste ban
ENDED = (
    "No new registration can be applied for, nor any registration renewed: the registration"
    " regime for this category ended on 31 December 2020 and nothing has replaced it.\n"
    "China has banned all imports of solid waste since 2021-01-01 (joint announcement of"
    " 2020-11-24): no scrap-material registration can be applied for or renewed after 2020-12-31.\n"
)
ENDED_ZH = (
    "无法再申请新的注册，也无法延续任何注册：该类别的注册制度已于2020年12月31日终止，"
    "且没有新的制度取代。\n"
    "自2021年1月1日起，中国全面禁止进口固体废物（2020年11月24日联合公告）："
    "2020年12月31日后不得再申请或延续任何废料注册。\n"
)


def body(notice: Notice, language: str = "en") -> str:
    """The plain text down to the footer every email shares."""
    return render(notice, language=language)[0].split(FOOTER[language])[0]


def html(notice: Notice, language: str = "en") -> str:
    return render(notice, language=language)[1]


def missed_window(**fields: Any) -> Notice:
    values: dict[str, Any] = {
        "kind": "additional_materials",
        "days_left": 0,
        "application_status": "not_accepted",
    }
    return deadline("deadline.missed", **(values | fields))


# -- a closed window: what was missing then, and no way to send it --------------------------


def test_missed_window_lists_what_was_missing_when_it_closed_and_no_way_to_send_it() -> None:
    notice = missed_window()
    assert body(notice) == (
        "Dear Nordic Scrap AB team,\n"
        "\n"
        "The additional materials window for application app_1 closed on 08 March 2031 and we"
        " did not receive what was needed in time.\n"
        'The application is now recorded as "not accepted".\n'
        "\n"
        "Please contact your export agent about the next steps.\n"
        "\n"
        "Exporter: Nordic Scrap AB\n"
        "Product: Copper scrap\n"
        "Application: app_1\n"
        "Window closed: 08 March 2031\n"
        "\n"
        "Missing when the window closed:\n"
        f"  - {ITEM}\n"
        "\n"
    )
    assert body(notice, "zh") == (
        "Nordic Scrap AB 团队：\n"
        "\n"
        "申请 app_1 的补充材料期限已于2031年3月8日截止，我们未能按时收到所需材料。\n"
        "该申请现记录为“未受理”。\n"
        "\n"
        "请联系您的出口代理商议后续步骤。\n"
        "\n"
        "出口企业：Nordic Scrap AB\n"
        "产品：Copper scrap\n"
        "申请：app_1\n"
        "期限已截止：2031年3月8日\n"
        "\n"
        "期限截止时仍缺少：\n"
        f"  - {ITEM}\n"
        "\n"
    )
    assert f"<p>Missing when the window closed:</p>\n<ul>\n  <li>{ITEM}</li>\n</ul>\n" in html(
        notice
    )
    assert "<p>期限截止时仍缺少：</p>" in html(notice, "zh")
    for language, words in zip(("en", "zh"), HOW_TO_SEND, strict=True):
        assert words not in render(notice, language=language)[0]
        assert words not in html(notice, language)


def test_missed_rectification_window_reads_the_same_way() -> None:
    text = body(missed_window(kind="rectification", application_status="failed"))
    assert "The rectification window for application app_1 closed on 08 March 2031" in text
    assert text.endswith(f"Missing when the window closed:\n  - {ITEM}\n\n")


def test_an_open_window_still_says_what_is_missing_and_how_to_send_it() -> None:
    text = body(deadline("deadline.additional_materials_due", kind="additional_materials"))
    assert text.endswith(
        "Still missing, from the latest check of your documents:\n"
        f"  - {ITEM}\n"
        "\n"
        "How to send it: have your export agent submit each missing document to regwatch for"
        " application app_1, through its regwatch connection (RabbitMQ, header x-application-id)"
        " or the upload API. Each document is checked when it arrives, and we will tell you if"
        " anything is still missing.\n"
        "\n"
    )


def test_missed_renewal_window_lists_what_was_missing_when_it_closed() -> None:
    notice = renewal("deadline.missed", days_left=0, missing=[ITEM])
    assert body(notice).endswith(
        "Renewal window closed: 31 May 2027\n"
        "Registration valid until: 31 August 2027\n"
        "\n"
        "Missing when the window closed:\n"
        f"  - {ITEM}\n"
        "\n"
    )
    assert body(notice, "zh").endswith(f"期限截止时仍缺少：\n  - {ITEM}\n\n")


def test_expired_registration_lists_what_was_missing_when_it_expired() -> None:
    notice = renewal("registration.expired", kind="expiry", days_left=0, missing=[ITEM])
    assert body(notice).endswith(
        "Registration valid until: 31 August 2027\n"
        "\n"
        "Missing when the registration expired:\n"
        f"  - {ITEM}\n"
        "\n"
    )
    assert body(notice, "zh").endswith(f"注册到期时仍缺少：\n  - {ITEM}\n\n")
    assert "How to send it" not in render(notice)[0]


def application_change(to_status: str, items: list[str]) -> Notice:
    application = Application(
        _id="app_1",
        partner_id="ptn_1",
        exporter=Exporter(name="Fjord Dairy AS", country="NO", contact_emails=["c@fjord.example"]),
        category="food.dairy",
        product="Cheese",
        kind="new",
        registration_number="CHN-9",
        created_at=NOW,
        updated_at=NOW,
    )
    change = ApplicationStatusChanged(
        application_id="app_1",
        from_status="under_examination",
        to_status=to_status,
        actor="ops",
        at=NOW,
        items=items,
    )
    notice = status_notice(
        ApplicationChange(
            change=change, application=application, missing=[], due_at=None, days_left=None
        )
    )
    assert notice is not None
    return notice


@pytest.mark.parametrize("to_status", ["not_accepted", "failed", "refused"])
def test_refused_application_lists_what_was_missing_when_it_was_refused(to_status: str) -> None:
    notice = application_change(to_status, [ITEM])
    assert body(notice).endswith(
        f"Application: app_1\n\nMissing when the application was refused:\n  - {ITEM}\n\n"
    )
    assert body(notice, "zh").endswith(f"申请未获批准时仍缺少：\n  - {ITEM}\n\n")
    assert "How to send it" not in render(notice)[0]


def test_certificate_asks_for_nothing_a_check_still_found_missing() -> None:
    notice = application_change("registered", [ITEM])
    assert notice.missing == []
    assert ITEM not in render(notice)[0]


# -- a window the category's regime outlived ---------------------------------------------------


def scrap_reminder(kind: str = "additional_materials", **fields: Any) -> Notice:
    ended = regime_ended(cached_catalog(), "scrap.metal", AFTER_THE_BAN)
    assert ended is not None
    event_type = f"deadline.{kind}_due"
    return deadline(event_type, ended, kind=kind, category="scrap.metal", **fields)


def test_window_reminder_after_the_regime_ended_asks_for_nothing_in_either_language() -> None:
    notice = scrap_reminder()
    assert notice.subject.render("en") == (
        "Nothing to send for application app_1 (Nordic Scrap AB): the registration regime of"
        " its category has ended"
    )
    assert notice.subject.render("zh") == (
        "申请 app_1（Nordic Scrap AB）无需再提交材料：其类别的注册制度已终止"
    )
    assert body(notice) == (
        "Dear Nordic Scrap AB team,\n"
        "\n"
        "The additional materials window for application app_1 closes on 08 March 2031, but the"
        " application can no longer lead to a registration: there is nothing to send for it.\n"
        f"{ENDED}"
        "\n"
        "Exporter: Nordic Scrap AB\n"
        "Product: Copper scrap\n"
        "Application: app_1\n"
        "Window closes: 08 March 2031\n"
        "\n"
    )
    assert body(notice, "zh") == (
        "Nordic Scrap AB 团队：\n"
        "\n"
        "申请 app_1 的补充材料期限于2031年3月8日截止，但该申请已无法获得注册："
        "无需为其提交任何材料。\n"
        f"{ENDED_ZH}"
        "\n"
        "出口企业：Nordic Scrap AB\n"
        "产品：Copper scrap\n"
        "申请：app_1\n"
        "期限截止：2031年3月8日\n"
        "\n"
    )
    assert (
        "<p>The additional materials window for application app_1 closes on 08 March 2031, but"
        " the application can no longer lead to a registration: there is nothing to send for"
        " it.</p>\n<p>No new registration can be applied for"
    ) in html(notice)
    for words in ("waiting for your", "Still missing", "How to send it", ITEM, "<ul>"):
        assert words not in render(notice)[0]
        assert words not in html(notice)


def test_rectification_reminder_after_the_regime_ended_asks_for_nothing_either() -> None:
    notice = scrap_reminder("rectification")
    assert str(notice.subject).startswith("Nothing to send for application app_1")
    assert body(notice).startswith(
        "Dear Nordic Scrap AB team,\n"
        "\n"
        "The rectification window for application app_1 closes on 08 March 2031, but the"
        " application can no longer lead to a registration: there is nothing to send for it.\n"
        f"{ENDED}"
    )


def test_no_advice_of_the_latest_check_goes_with_a_window_the_regime_outlived() -> None:
    notice = scrap_reminder()
    notice.advice = ["the photos look alike"]
    assert "Advice from the latest check" not in render(notice)[0]
    assert "Advice from the latest check" not in html(notice)


def test_missed_window_after_the_regime_ended_says_what_happened_and_lists_nothing() -> None:
    notice = missed_window(category="scrap.metal")
    notice.regime_ended = regime_ended(cached_catalog(), "scrap.metal", AFTER_THE_BAN)
    assert body(notice) == (
        "Dear Nordic Scrap AB team,\n"
        "\n"
        "The additional materials window for application app_1 closed on 08 March 2031.\n"
        'The application is now recorded as "not accepted".\n'
        "\n"
        f"{ENDED}"
        "\n"
        "Exporter: Nordic Scrap AB\n"
        "Product: Copper scrap\n"
        "Application: app_1\n"
        "Window closed: 08 March 2031\n"
        "\n"
    )
    assert body(notice, "zh") == (
        "Nordic Scrap AB 团队：\n"
        "\n"
        "申请 app_1 的补充材料期限已于2031年3月8日截止。\n"
        "该申请现记录为“未受理”。\n"
        "\n"
        f"{ENDED_ZH}"
        "\n"
        "出口企业：Nordic Scrap AB\n"
        "产品：Copper scrap\n"
        "申请：app_1\n"
        "期限已截止：2031年3月8日\n"
        "\n"
    )


# -- the notifier judges it on the day it makes the email -------------------------------------


class LatestCheck:
    """The validation results the notifier reads the advice from: one with a warning."""

    async def find_one(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        return {"warnings": ["the facility photos look alike"]}


def ctx_at(instant: datetime) -> Any:
    """Settings, the clock and the latest check (the event has no contact to look up)."""
    return SimpleNamespace(
        settings=SimpleNamespace(ops_email="ops@example.org", catalog_dir=None),
        clock=SimpleNamespace(now=lambda: instant),
        db={"validation_results": LatestCheck()},
    )


def window_event(category: str) -> CloudEvent:
    data = {
        "deadline_id": "dl_w",
        "reminder_id": "dl_w:T-7d",
        "kind": "additional_materials",
        "subject": "app_1",
        "application_id": "app_1",
        "exporter_name": "Rust Belt Metals Inc",
        "category": category,
        "due_at": "2021-01-14T16:00:00Z",
        "due_on": "2021-01-14",
        "days_left": 7,
        "missing": [ITEM],
    }
    return CloudEvent(
        source="urn:regwatch:test",
        type="deadline.additional_materials_due",
        time=NOW,
        data=data,
    )


@pytest.mark.asyncio
async def test_the_reminder_asks_for_materials_until_the_regimes_last_day_and_not_after() -> None:
    # 2020-12-31 15:30 UTC is 23:30 on the regime's last day in Beijing; 16:30 is 1 January.
    last_day = await notice_for(
        ctx_at(datetime(2020, 12, 31, 15, 30, tzinfo=UTC)), window_event("scrap.metal")
    )
    assert last_day is not None
    assert str(last_day.subject) == (
        "Additional materials due in 7 days: Rust Belt Metals Inc, application app_1"
        " (by 14 January 2021)"
    )
    assert "How to send it" in render(last_day)[0]
    assert "  - the facility photos look alike\n" in render(last_day)[0]
    after = await notice_for(
        ctx_at(datetime(2020, 12, 31, 16, 30, tzinfo=UTC)), window_event("scrap.metal")
    )
    assert after is not None
    assert str(after.subject) == (
        "Nothing to send for application app_1 (Rust Belt Metals Inc): the registration regime"
        " of its category has ended"
    )
    assert after.regime_ended is not None
    assert after.regime_ended.last_day == date(2020, 12, 31)
    assert "there is nothing to send for it" in render(after)[0]
    assert "How to send it" not in render(after)[0]
    assert "the facility photos look alike" not in render(after)[0]


@pytest.mark.asyncio
async def test_a_food_reminder_on_the_same_day_asks_for_its_materials() -> None:
    food = await notice_for(ctx_at(datetime(2021, 1, 8, 2, tzinfo=UTC)), window_event("food.dairy"))
    assert food is not None
    assert food.regime_ended is None
    assert str(food.subject).startswith("Additional materials due in 7 days")
    assert "The customs authority is waiting for your additional materials." in render(food)[0]


# -- the authority's request for a window, once the category's regime has ended ----------------

WINDOW_ENDS = datetime(2021, 1, 14, 16, 0, tzinfo=UTC)  # the end of 14 January 2021 in Beijing


def scrap_application() -> Application:
    return Application(
        _id="app_1",
        partner_id="ptn_1",
        exporter=Exporter(name="Nordic Scrap AB", country="SE", contact_emails=[]),
        category="scrap.metal",
        product="Copper scrap",
        kind="new",
        created_at=NOW,
        updated_at=NOW,
    )


def window_request(kind: str = "additional_materials", **fields: Any) -> ApplicationStatusChanged:
    """Ops record the authority's request for ``kind`` (materials asked for: ``ITEM``)."""
    values: dict[str, Any] = {
        "application_id": "app_1",
        "from_status": "accepted",
        "to_status": f"{kind}_requested",
        "actor": "ops",
        "at": NOW,
        "due_at": WINDOW_ENDS,
        "items": [ITEM],
    }
    return ApplicationStatusChanged(**(values | fields))


def scrap_window_opened(day: date = AFTER_THE_BAN, **fields: Any) -> Notice:
    """The email of a window request as the notifier makes it on ``day`` (a Beijing day)."""
    notice = status_notice(
        ApplicationChange(
            change=window_request(**fields),
            application=scrap_application(),
            missing=[],
            due_at=WINDOW_ENDS,
            days_left=7,
        ),
        regime_ended(cached_catalog(), "scrap.metal", day),
    )
    assert notice is not None
    assert notice.template == "window_opened"
    return notice


def test_window_request_after_the_regime_ended_asks_for_nothing_in_either_language() -> None:
    notice = scrap_window_opened()
    assert notice.subject.render("en") == (
        "Nothing to send for application app_1 (Nordic Scrap AB): the registration regime of"
        " its category has ended"
    )
    assert notice.subject.render("zh") == (
        "申请 app_1（Nordic Scrap AB）无需再提交材料：其类别的注册制度已终止"
    )
    assert body(notice) == (
        "Dear Nordic Scrap AB team,\n"
        "\n"
        "The customs authority has requested additional materials for your application.\n"
        "But the application can no longer lead to a registration: there is nothing to send"
        " for it.\n"
        f"{ENDED}"
        "\n"
        "Exporter: Nordic Scrap AB\n"
        "Category: Scrap metal\n"
        "Product: Copper scrap\n"
        "Application: app_1\n"
        "Window closes: 14 January 2021\n"
        "\n"
    )
    assert body(notice, "zh") == (
        "Nordic Scrap AB 团队：\n"
        "\n"
        "海关总署要求您的申请进行补充材料。\n"
        "但该申请已无法获得注册：无需为其提交任何材料。\n"
        f"{ENDED_ZH}"
        "\n"
        "出口企业：Nordic Scrap AB\n"
        "类别：废金属\n"
        "产品：Copper scrap\n"
        "申请：app_1\n"
        "期限截止：2021年1月14日\n"
        "\n"
    )
    assert (
        "<p>The customs authority has requested additional materials for your application.</p>\n"
        "<p>But the application can no longer lead to a registration: there is nothing to send"
        " for it.</p>\n<p>No new registration can be applied for"
    ) in html(notice)
    assert ("<p>但该申请已无法获得注册：无需为其提交任何材料。</p>\n<p>无法再申请新的注册") in html(
        notice, "zh"
    )
    assert '<th align="left">Window closes</th><td>14 January 2021</td>' in html(notice)
    for words in ("reply by", "Reply by", "days left", "Still missing", *HOW_TO_SEND, ITEM):
        for language in ("en", "zh"):
            assert words not in render(notice, language=language)[0]
            assert words not in html(notice, language)
    for words in ("请于", "答复期限", "剩余", "仍缺少", "<ul>"):
        assert words not in render(notice, language="zh")[0]
        assert words not in html(notice, "zh")


def test_rectification_request_after_the_regime_ended_gives_its_reason_and_asks_for_nothing() -> (
    None
):
    notice = scrap_window_opened(kind="rectification", reason="The floor plan gives no sizes")
    assert str(notice.subject).startswith("Nothing to send for application app_1")
    assert body(notice).startswith(
        "Dear Nordic Scrap AB team,\n"
        "\n"
        "The customs authority has requested rectification for your application.\n"
        "Its reason: The floor plan gives no sizes\n"
        "But the application can no longer lead to a registration: there is nothing to send"
        " for it.\n"
        f"{ENDED}"
    )
    assert body(notice, "zh").startswith(
        "Nordic Scrap AB 团队：\n"
        "\n"
        "海关总署要求您的申请进行整改。\n"
        "原因：The floor plan gives no sizes\n"
        "但该申请已无法获得注册：无需为其提交任何材料。\n"
        f"{ENDED_ZH}"
    )


def test_no_advice_of_the_latest_check_goes_with_a_request_the_regime_outlived() -> None:
    notice = scrap_window_opened()
    notice.advice = ["the photos look alike"]
    assert "Advice from the latest check" not in render(notice)[0]
    assert "Advice from the latest check" not in html(notice)


def test_window_request_on_the_regimes_last_day_still_asks_for_a_reply_by_its_day() -> None:
    notice = scrap_window_opened(date(2020, 12, 31))
    assert notice.regime_ended is None
    assert str(notice.subject) == (
        "Additional materials requested for application app_1 (Nordic Scrap AB)"
    )
    text = body(notice)
    assert "Please reply by 14 January 2021.\n" in text
    assert "Reply by: 14 January 2021 (7 days left)\n" in text
    assert f"  - {ITEM}\n" in text
    assert "How to send it" in text
    assert "nothing to send" not in text
    assert "请于2021年1月14日前答复。\n" in body(notice, "zh")


class OneDocument:
    """A collection the notifier reads one document of (``None``: it has none)."""

    def __init__(self, document: dict[str, Any] | None) -> None:
        self.document = document

    async def find_one(self, *args: Any, **kwargs: Any) -> dict[str, Any] | None:
        return self.document


def ctx_with_application(instant: datetime) -> Any:
    """Settings, the clock, the stored application and its latest check (the application
    has no contact, so no language is looked up)."""
    return SimpleNamespace(
        settings=SimpleNamespace(ops_email="ops@example.org", catalog_dir=None),
        clock=SimpleNamespace(now=lambda: instant),
        db={
            "applications": OneDocument(scrap_application().model_dump(by_alias=True)),
            "validation_results": OneDocument({"missing": [ITEM], "warnings": ["blurred"]}),
            "deadlines": OneDocument(None),
        },
    )


def window_request_event() -> CloudEvent:
    change = window_request()
    return CloudEvent(
        source="urn:regwatch:test",
        type="application.status_changed",
        time=NOW,
        data=change.model_dump(mode="json"),
    )


@pytest.mark.asyncio
async def test_the_window_request_asks_for_a_reply_until_the_regimes_last_day_and_not_after() -> (
    None
):
    # 2020-12-31 15:30 UTC is 23:30 on the regime's last day in Beijing; 16:30 is 1 January.
    last_day = await notice_for(
        ctx_with_application(datetime(2020, 12, 31, 15, 30, tzinfo=UTC)), window_request_event()
    )
    assert last_day is not None
    assert last_day.regime_ended is None
    assert str(last_day.subject) == (
        "Additional materials requested for application app_1 (Nordic Scrap AB)"
    )
    assert "Please reply by 14 January 2021." in render(last_day)[0]
    after = await notice_for(
        ctx_with_application(datetime(2020, 12, 31, 16, 30, tzinfo=UTC)), window_request_event()
    )
    assert after is not None
    assert after.regime_ended is not None
    assert after.regime_ended.last_day == date(2020, 12, 31)
    assert str(after.subject) == (
        "Nothing to send for application app_1 (Nordic Scrap AB): the registration regime"
        " of its category has ended"
    )
    text = render(after)[0]
    assert "there is nothing to send for it" in text
    assert "Window closes: 14 January 2021\n" in text
    for words in ("Please reply by", "Reply by", "days left", "How to send it", ITEM, "blurred"):
        assert words not in text
