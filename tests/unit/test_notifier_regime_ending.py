"""Emails about a category whose regime's end for good was announced and has not come yet
(scrap from the joint announcement of 2020-11-24 to the regime's last day, 2020-12-31): no
email promises exports beyond that day or sends the contacts to apply for them, in either
language. Before the announcement the emails read as before; from 2021-01-01 they say the
regime ended. The closure is the catalog's (``aqsiq_scrap``: ``closure.announced_on``,
``closure.notice``, ``in_force_until``), judged on the day the email is made.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime

import pytest

from services.notifier.handlers import notice_for
from services.notifier.notices import Notice, RegimeEnding, regime_ended, regime_ending
from services.notifier.render import render
from shared.domain.catalog import cached_catalog
from tests.unit.categories import ARTICLE_7, SCRAP
from tests.unit.notices import deadline, renewal
from tests.unit.test_notifier_regime_ended import (
    BAN,
    BAN_ZH,
    CASES,
    ENDED,
    ENDED_ZH,
    application_change,
    ctx_at,
    expired_event,
    registration_move,
)

# Beijing days around the announcement (2020-11-24) and the regime's last day (2020-12-31).
BEFORE = date(2020, 11, 23)
ANNOUNCED = date(2020, 11, 24)
DURING = date(2020, 12, 1)
LAST_DAY = date(2020, 12, 31)
AFTER = date(2021, 1, 1)

ANNOUNCEMENT = (
    "China bans all imports of solid waste from 2021-01-01 (joint announcement of 2020-11-24):"
    " no scrap-material registration, new or renewed, can carry exports to China beyond"
    " 2020-12-31."
)
ANNOUNCEMENT_ZH = (
    "自2021年1月1日起，中国全面禁止进口固体废物（2020年11月24日联合公告）："
    "任何废料注册，无论新注册还是延续注册，均不能用于2020年12月31日之后向中国出口。"
)
ENDING = (
    "The registration regime for this category ends on 31 December 2020 and nothing will"
    " replace it: a registration, new or renewed, cannot carry exports to China beyond that day."
)
ENDING_ZH = (
    "该类别的注册制度将于2020年12月31日终止，且不会有新的制度取代："
    "任何注册，无论新注册还是延续注册，均不能用于该日之后向中国出口。"
)
# What promises exports beyond the regime's end, or sends the contacts to apply for them.
PROMISES = (
    "new registration application",
    "apply again",
    "without interruption",
    "have the renewal filed again",
)
PROMISES_ZH = ("重新申请", "出口中断", "重新提交")


# -- the catalog's closure ------------------------------------------------------------------


@pytest.mark.parametrize("category", SCRAP)
def test_every_scrap_category_is_closing_from_the_announcement_to_the_regimes_last_day(
    category: str,
) -> None:
    catalog = cached_catalog()
    regime = catalog.regimes["aqsiq_scrap"]
    assert regime.closure is not None
    assert regime.closure.announced_on == ANNOUNCED
    assert regime.closure.source.startswith("joint announcement of 2020-11-24")
    assert catalog.closing_regime_for(category, BEFORE) is None
    for day in (ANNOUNCED, DURING, LAST_DAY):
        assert catalog.closing_regime_for(category, day) is regime
        assert regime_ending(catalog, category, day) == RegimeEnding(
            last_day=LAST_DAY, notice=ANNOUNCEMENT
        )
        assert regime_ended(catalog, category, day) is None
    assert catalog.closing_regime_for(category, AFTER) is None
    assert regime_ending(catalog, category, AFTER) is None
    assert regime_ended(catalog, category, AFTER) is not None


@pytest.mark.parametrize("category", [*ARTICLE_7, "food.other"])
def test_no_food_category_is_closing(category: str) -> None:
    catalog = cached_catalog()
    for day in (ANNOUNCED, LAST_DAY, date(2026, 5, 31), date(2040, 1, 1)):
        assert catalog.closing_regime_for(category, day) is None
        assert regime_ending(catalog, category, day) is None


# -- the notifier judges it on the day it makes the email -----------------------------------


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("instant", "ending", "ended"),
    [
        (datetime(2020, 11, 23, 15, 30, tzinfo=UTC), False, False),  # 23:30 on 23 Nov, Beijing
        (datetime(2020, 11, 23, 16, 30, tzinfo=UTC), True, False),  # 00:30 on 24 Nov, Beijing
        (datetime(2020, 12, 1, 2, tzinfo=UTC), True, False),
        (datetime(2020, 12, 31, 15, 30, tzinfo=UTC), True, False),  # 23:30 on 31 Dec, Beijing
        (datetime(2020, 12, 31, 16, 30, tzinfo=UTC), False, True),  # 00:30 on 1 Jan, Beijing
    ],
)
async def test_the_sending_day_in_beijing_decides_between_in_force_ending_and_ended(
    instant: datetime, ending: bool, ended: bool
) -> None:
    notice = await notice_for(ctx_at(instant), expired_event("scrap.plastics"))
    assert notice is not None
    expected = RegimeEnding(last_day=LAST_DAY, notice=ANNOUNCEMENT) if ending else None
    assert notice.regime_ending == expected
    assert (notice.regime_ended is not None) is ended
    food = await notice_for(ctx_at(instant), expired_event("food.dairy"))
    assert food is not None
    assert food.regime_ending is None
    assert food.regime_ended is None


# -- what each email says, day by day --------------------------------------------------------


def _gone(template: str) -> tuple[str | None, str | None]:
    """What an email says while the regime is in force and must not say once its end is
    announced (English, Chinese); None where nothing of it becomes false."""
    return {
        "renewal_refused": ("a new registration application is needed", "须重新申请注册"),
        "failure_notice": ("whether and how to apply again", "是否以及如何重新申请"),
        "certificate_issued": ("We will remind you before it must be renewed", "我们会提醒您"),
        "renewal_missed": ("a new registration application is needed", "须重新申请注册"),
        "expired": ("To export again, a new registration application", "须重新申请注册"),
        "missed": ("Please contact your export agent about the next steps.", "商议后续步骤"),
        "registration_cancelled": ("To export again, a new registration", "须重新申请注册"),
        "renewal_rejected_late": ("a new registration application is needed", "须重新申请注册"),
        "renewal_due": (
            "so that your exports to China can continue without interruption",
            "以免您对中国的出口中断",
        ),
        "renewal_rejected": ("Please have the renewal filed again", "重新提交延续申请"),
    }.get(template, (None, None))


# (template, how the notice is built for a category): every email an exporter may get.
EMAILS: list[tuple[str, Callable[[str], Notice]]] = [
    *((template, build) for template, build, _ in CASES),
    ("renewal_due", lambda c: renewal("deadline.renewal_due", days_left=30)),
    ("renewal_window_opens", lambda c: renewal("deadline.renewal_window_opens", days_left=120)),
    (
        "expiry_due",
        lambda c: renewal(
            "deadline.expiry_due",
            kind="expiry",
            days_left=30,
            renewable=False,
            not_renewable_reason="the registration was issued for one term only",
        ),
    ),
    ("window_due", lambda c: deadline("deadline.rectification_due")),
    (
        "window_opened",
        lambda c: application_change(c, "rectification_requested", kind="new", reason="Photos"),
    ),
    ("renewal_rejected", lambda c: registration_move(c, "renewal_rejected", "renewal_open")),
    ("registration_reinstated", lambda c: registration_move(c, "reinstated", "active")),
]
EMAIL_IDS = [template for template, _ in EMAILS]
LABELS = (("en", "\n\nExporter: "), ("zh", "\n\n出口企业："))


def made_on(build: Callable[[str], Notice], category: str, template: str, day: date) -> Notice:
    """The notice as the notifier completes it on ``day`` (Beijing)."""
    notice = build(category)
    assert notice.template == template
    notice.regime_ended = regime_ended(cached_catalog(), category, day)
    notice.regime_ending = regime_ending(cached_catalog(), category, day)
    return notice


def messages(notice: Notice) -> dict[str, tuple[str, str]]:
    """language -> (text, HTML) of the message, before the facts every email lists."""
    return {
        language: (
            render(notice, language=language)[0].split(label)[0],
            render(notice, language=language)[1].split("<table>")[0],
        )
        for language, label in LABELS
    }


@pytest.mark.parametrize(("template", "build"), EMAILS, ids=EMAIL_IDS)
def test_scrap_emails_the_day_before_the_announcement_read_as_while_the_regime_is_in_force(
    template: str, build: Callable[[str], Notice]
) -> None:
    said = messages(made_on(build, "scrap.metal", template, BEFORE))
    for text, html in said.values():
        for ending in (ENDING, ENDING_ZH, ANNOUNCEMENT, ANNOUNCEMENT_ZH, ENDED, ENDED_ZH):
            assert ending not in text
            assert ending not in html
    gone_en, gone_zh = _gone(template)
    if gone_en is not None:
        assert gone_en in said["en"][0]
    if gone_zh is not None:
        assert gone_zh in said["zh"][0]


@pytest.mark.parametrize("day", [ANNOUNCED, DURING, LAST_DAY], ids=str)
@pytest.mark.parametrize(("template", "build"), EMAILS, ids=EMAIL_IDS)
def test_scrap_emails_from_the_announcement_to_the_last_day_say_the_regime_ends(
    template: str, build: Callable[[str], Notice], day: date
) -> None:
    said = messages(made_on(build, "scrap.metal", template, day))
    english, english_html = said["en"]
    chinese, chinese_html = said["zh"]
    assert f"{ENDING}\n{ANNOUNCEMENT}" in english
    assert f"<p>{ENDING}</p>\n<p>{ANNOUNCEMENT}</p>" in english_html
    assert f"{ENDING_ZH}\n{ANNOUNCEMENT_ZH}" in chinese
    assert f"<p>{ENDING_ZH}</p>\n<p>{ANNOUNCEMENT_ZH}</p>" in chinese_html
    for words in PROMISES:
        assert words not in english
        assert words not in english_html
    for words in PROMISES_ZH:
        assert words not in chinese
        assert words not in chinese_html
    gone_en, gone_zh = _gone(template)
    for gone, text, html in ((gone_en, english, english_html), (gone_zh, chinese, chinese_html)):
        if gone is not None:
            assert gone not in text
            assert gone not in html
    for ended in (ENDED, ENDED_ZH, BAN, BAN_ZH):
        assert ended not in english + chinese


@pytest.mark.parametrize(("template", "build"), EMAILS, ids=EMAIL_IDS)
def test_scrap_emails_from_the_first_day_of_the_ban_say_the_regime_ended(
    template: str, build: Callable[[str], Notice]
) -> None:
    said = messages(made_on(build, "scrap.metal", template, AFTER))
    english, english_html = said["en"]
    chinese, chinese_html = said["zh"]
    assert ENDED in english
    assert f"<p>{ENDED}</p>" in english_html
    assert ENDED_ZH in chinese
    assert f"<p>{ENDED_ZH}</p>" in chinese_html
    for ending in (ENDING, ANNOUNCEMENT):
        assert ending not in english
        assert ending not in english_html
    for ending in (ENDING_ZH, ANNOUNCEMENT_ZH):
        assert ending not in chinese
        assert ending not in chinese_html


@pytest.mark.parametrize("day", [BEFORE, ANNOUNCED, LAST_DAY, AFTER], ids=str)
@pytest.mark.parametrize(("template", "build"), EMAILS, ids=EMAIL_IDS)
def test_food_emails_never_speak_of_an_ending_regime(
    template: str, build: Callable[[str], Notice], day: date
) -> None:
    notice = made_on(build, "food.dairy", template, day)
    assert notice.regime_ending is None
    said = messages(notice)
    for words in (ENDING, ANNOUNCEMENT, ENDED):
        assert words not in said["en"][0]
    for words in (ENDING_ZH, ANNOUNCEMENT_ZH, ENDED_ZH):
        assert words not in said["zh"][0]
    gone_en, gone_zh = _gone(template)
    if gone_en is not None:
        assert gone_en in said["en"][0]
    if gone_zh is not None:
        assert gone_zh in said["zh"][0]


# -- exactly so, in both languages ------------------------------------------------------------


def test_scrap_renewal_reminder_after_the_announcement_reads_exactly_so() -> None:
    notice = made_on(
        lambda c: renewal(
            "deadline.renewal_due",
            registration_number="CHN-SCRAP-7",
            exporter_name="Rust Belt Metals Inc",
            product=None,
            due_on=LAST_DAY,
            opens_on=None,
            valid_until=date(2021, 9, 30),
            days_left=30,
        ),
        "scrap.metal",
        "renewal_due",
        DURING,
    )
    said = messages(notice)
    assert said["en"][0] == (
        "Dear Rust Belt Metals Inc team,\n"
        "\n"
        "The renewal window for registration CHN-SCRAP-7 is open and closes on 31 December 2020,"
        " in 30 days. The authority takes renewal applications until the end of that day"
        " (Beijing time).\n"
        "\n"
        "The registration expires on 30 September 2021.\n"
        f"{ENDING}\n"
        f"{ANNOUNCEMENT}"
    )
    assert said["zh"][0] == (
        "Rust Belt Metals Inc 团队：\n"
        "\n"
        "注册 CHN-SCRAP-7 的延续申请期已开放，将于2020年12月31日截止，还有30天。"
        "主管部门受理延续申请至该日24:00（北京时间）。\n"
        "\n"
        "该注册将于2021年9月30日到期。\n"
        f"{ENDING_ZH}\n"
        f"{ANNOUNCEMENT_ZH}"
    )


def test_scrap_expiry_after_the_announcement_reads_exactly_so() -> None:
    notice = made_on(
        lambda c: renewal(
            "registration.expired",
            kind="expiry",
            registration_number="CHN-SCRAP-7",
            exporter_name="Rust Belt Metals Inc",
            valid_until=date(2020, 11, 30),
            days_left=0,
        ),
        "scrap.metal",
        "expired",
        DURING,
    )
    said = messages(notice)
    assert said["en"][0] == (
        "Dear Rust Belt Metals Inc team,\n"
        "\n"
        "Your registration CHN-SCRAP-7 expired on 30 November 2020 (the end of that day in"
        " Beijing). Goods covered by it can no longer be cleared by China customs.\n"
        f"{ENDING}\n"
        f"{ANNOUNCEMENT}"
    )
    assert said["zh"][0] == (
        "Rust Belt Metals Inc 团队：\n"
        "\n"
        "您的注册 CHN-SCRAP-7 已于2020年11月30日（北京时间当日24:00）到期。"
        "其所涵盖的货物将无法在中国海关通关。\n"
        f"{ENDING_ZH}\n"
        f"{ANNOUNCEMENT_ZH}"
    )
