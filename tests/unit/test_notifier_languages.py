"""Emails in each contact's language: the same events worded in English and Chinese."""

from __future__ import annotations

import gettext
import io
from collections.abc import Iterator
from datetime import date
from email.header import decode_header, make_header
from typing import Any

import pytest
from babel.messages.catalog import Message
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from services.notifier import i18n, pybabel, render
from services.notifier.notices import Notice
from shared.app.registrations import check_row
from shared.domain.catalog import cached_catalog
from shared.domain.models import Exporter
from tests.unit.notices import NOW, deadline, registration, renewal

ZH_PO = i18n.TRANSLATIONS / "zh" / "LC_MESSAGES" / "messages.po"


def email(notice: Notice, recipient: str) -> Any:
    return render.compose(
        notice,
        recipient=recipient,
        sender="regwatch <n@r.local>",
        event_id="e1",
        event_type="t",
        date=NOW,
    )


def subject(message: Any) -> str:
    return str(make_header(decode_header(str(message["Subject"]))))


def text(message: Any) -> str:
    return message.get_body(("plain",)).get_content()


def test_renewal_reminder_reads_in_english_and_in_chinese_from_the_same_event() -> None:
    notice = renewal("deadline.renewal_due", days_left=14)
    notice.category = "food.dairy"
    assert notice.subject.render("en") == (
        "Renewal due in 14 days: Fjord Dairy AS, registration CHN-DAIRY-0042 (by 31 May 2027)"
    )
    assert notice.subject.render("zh") == (
        "延续注册申请期将在14天后截止：Fjord Dairy AS，注册号 CHN-DAIRY-0042（2027年5月31日前）"
    )
    english, _ = render.render(notice, language="en")
    chinese, html = render.render(notice, language="zh")
    assert "is open and closes on 31 May 2027, in 14 days" in english
    assert "将于2027年5月31日截止，还有14天" in chinese
    assert "该注册将于2027年8月31日到期。" in chinese
    assert "类别：乳品" in chinese  # as GACC writes them
    assert "产品：干酪" in chinese
    assert "Category: Dairy products" in english
    assert "Product: Cheese" in english
    assert '<html lang="zh-Hans">' in html


def test_window_reminder_translates_the_window_and_the_plural_of_days() -> None:
    notice = deadline("deadline.rectification_due", days_left=1)
    assert notice.subject.render("en").startswith("Rectification due in 1 day: Nordic Scrap AB")
    assert notice.subject.render("zh").startswith("整改期限将在1天后截止：Nordic Scrap AB")


def test_missing_exporter_name_is_your_company_in_each_language() -> None:
    notice = deadline("deadline.rectification_due", exporter_name=None)
    assert "your company, application app_1" in notice.subject.render("en")
    assert "贵公司，申请 app_1" in notice.subject.render("zh")
    assert render.render(notice, language="zh")[0].startswith("贵公司 团队：")


def test_registration_move_reads_in_both_languages() -> None:
    notice = registration("suspended", "suspended", reason="Inspection findings")
    assert notice is not None
    assert notice.subject.render("zh") == "注册已被暂停：Fjord Dairy AS，注册号 CHN-DAIRY-0042"
    chinese = render.render(notice, language="zh")[0]
    assert "海关总署已暂停您的注册 CHN-DAIRY-0042。" in chinese
    assert "原因：Inspection findings" in chinese  # what ops typed is shown as typed


def test_a_contact_with_zh_gets_chinese_and_one_without_a_language_english() -> None:
    notice = deadline("deadline.rectification_due")
    notice.languages = {"b@nordic.example": "zh"}
    english, chinese = email(notice, "a@nordic.example"), email(notice, "b@nordic.example")
    assert subject(english).startswith("Rectification due in 7 days")
    assert subject(chinese).startswith("整改期限将在7天后截止")
    assert "Dear Nordic Scrap AB team," in text(english)
    assert "Nordic Scrap AB 团队：" in text(chinese)
    assert english["Content-Language"] == "en"
    assert chinese["Content-Language"] == "zh-Hans"


def test_an_unknown_language_reads_english() -> None:
    notice = deadline("deadline.rectification_due")
    assert notice.subject.render("fr") == notice.subject.render("en")


def test_chinese_dates_are_written_year_month_day() -> None:
    assert i18n.day(date(2027, 5, 31), "zh") == "2027年5月31日"
    assert i18n.day(date(2027, 5, 31), "en") == "31 May 2027"


def test_catalog_names_in_chinese_as_gacc_writes_them_and_free_text_stays_as_typed() -> None:
    assert i18n.name("food.dairy", "zh") == "乳品"
    assert i18n.name("scrap.metal", "zh") == "废金属"
    assert i18n.name("Copper scrap", "zh") == "Copper scrap"  # typed by the partner


DAIRY_OVER_30 = "Foods containing more than 30% dairy products"


def test_a_catalog_name_with_a_percent_sign_reads_in_chinese_as_written() -> None:
    assert i18n.name("dairy_over_30_percent", "zh") == "乳制品含量超过30%的食品"
    notice = renewal("deadline.renewal_due", days_left=14, product=DAIRY_OVER_30)
    notice.category = "food.dairy"
    chinese, html = render.render(notice, language="zh")
    assert "产品：乳制品含量超过30%的食品\n" in chinese
    assert "<td>乳制品含量超过30%的食品</td>" in html
    english, _ = render.render(notice, language="en")
    assert f"Product: {DAIRY_OVER_30}\n" in english


def test_catalog_texts_are_plain_text_to_babel_and_formats_stay_formats() -> None:
    assert Message(DAIRY_OVER_30, context="catalog").flags == {"python-format"}  # Babel's guess
    with pybabel.plain_catalog_texts():
        name = Message(DAIRY_OVER_30, context=i18n.CATALOG_CONTEXT)
        marked = Message("Up 30% daily", flags=["no-python-format"])
        template = Message("Dear %(exporter)s team,")
    assert name.flags == {"no-python-format"}
    assert marked.flags == {"no-python-format"}
    assert template.flags == {"python-format"}
    assert Message(DAIRY_OVER_30, context="catalog").flags == {"python-format"}  # restored


def test_the_zh_catalog_passes_babels_checks_as_make_translations_compiles_it() -> None:
    with pybabel.plain_catalog_texts(), ZH_PO.open("rb") as po:
        catalog = read_po(po, locale="zh")
    assert [(message.id, errors) for message, errors in catalog.check()] == []
    assert catalog.get(DAIRY_OVER_30, context="catalog").flags == {"no-python-format"}


@pytest.fixture
def zh_without_a_message() -> Iterator[str]:
    """The zh catalog with one subject left out, as when a catalog lags behind the code."""
    left_out = "Registration suspended: {exporter}, registration {number}"
    with ZH_PO.open("rb") as po:
        catalog = read_po(po, locale="zh")
    catalog.delete(left_out)
    mo = io.BytesIO()
    write_mo(mo, catalog)
    mo.seek(0)
    lagging = gettext.GNUTranslations(mo)
    real = i18n.translations
    i18n.translations.cache_clear()
    render.environment.cache_clear()
    i18n.translations = lambda language: lagging if language == "zh" else real(language)  # type: ignore[assignment]
    try:
        yield left_out
    finally:
        i18n.translations = real  # type: ignore[assignment]
        render.environment.cache_clear()


def test_a_message_missing_from_the_zh_catalog_reads_english_never_a_key(
    zh_without_a_message: str,
) -> None:
    notice = registration("suspended", "suspended")
    assert notice is not None
    assert notice.subject.render("zh") == (
        "Registration suspended: Fjord Dairy AS, registration CHN-DAIRY-0042"
    )
    assert "海关总署已暂停您的注册" in render.render(notice, language="zh")[0]  # the rest: zh


def test_every_zh_translation_keeps_the_fields_of_its_message() -> None:
    with ZH_PO.open("rb") as po:
        catalog = read_po(po, locale="zh")
    for message in catalog:
        if not message.id or not message.string:
            continue
        source = message.id if isinstance(message.id, str) else message.id[0]
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        for field in ("{", "%("):
            wanted = sorted(part.split(")")[0].split("}")[0] for part in source.split(field)[1:])
            for string in strings:
                got = sorted(part.split(")")[0].split("}")[0] for part in string.split(field)[1:])
                assert got == wanted, message.id


def test_committed_mo_matches_its_po() -> None:
    with ZH_PO.open("rb") as po:
        catalog = read_po(po, locale="zh")
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    committed = (ZH_PO.with_suffix(".mo")).read_bytes()
    assert compiled.getvalue() == committed, "run make translations"


def test_exporter_contacts_carry_an_optional_language_each() -> None:
    exporter = Exporter(
        name="Fjord Dairy AS",
        country="NO",
        contact_emails=["a@fjord.example", "b@fjord.example"],
        contact_languages={"b@fjord.example": "zh"},
    )
    assert exporter.contact_languages == {"b@fjord.example": "zh"}
    with pytest.raises(ValueError, match="not in contact_emails"):
        Exporter(name="X", country="NO", contact_languages={"c@x.example": "zh"})
    with pytest.raises(ValueError, match="Input should be 'en' or 'zh'"):
        Exporter(
            name="X",
            country="NO",
            contact_emails=["c@x.example"],
            contact_languages={"c@x.example": "fr"},
        )  # type: ignore[dict-item]


def test_registrations_csv_languages_go_with_the_emails_in_order() -> None:
    row: dict[str, str] = {
        "registration_number": "CHN-1",
        "exporter_name": "Fjord Dairy AS",
        "country": "NO",
        "category": "food.dairy",
        "product": "",
        "issued_on": "2026-09-01",
        "valid_until": "2031-08-31",
        "contact_emails": "a@fjord.example;b@fjord.example;c@fjord.example",
        "languages": "; zh",
    }
    checked = check_row(cached_catalog(), row)
    assert checked.contact_languages == {"a@fjord.example": "en", "b@fjord.example": "zh"}
    del row["languages"]
    assert check_row(cached_catalog(), row).contact_languages == {}


def test_missing_items_of_the_latest_check_read_in_the_contacts_language() -> None:
    notice = renewal("deadline.renewal_due", days_left=14)
    notice.missing = [
        "3 more distinct facility photos (more than 10 required)",
        "2 more facility photos (at least 11 required)",
        "business licence (1 required)",
        "CCIC pre-shipment inspection certificate for copper in 2029",
        "tax registration document for 2028",
        "licence.pdf lacks metadata issue_date",  # free text: shown as stored
    ]
    chinese, html = render.render(notice, language="zh")
    assert "还需3张互不相同的设施照片（要求超过10份）" in chinese
    assert "还需2份设施照片（要求至少11份）" in chinese
    assert "营业执照（要求1）" in chinese
    assert "2029年copper的CCIC装运前检验证书" in chinese
    assert "2028年的税务登记文件" in chinese
    assert "licence.pdf lacks metadata issue_date" in chinese
    assert "还需3张互不相同的设施照片（要求超过10份）" in html
    english, _ = render.render(notice, language="en")
    for item in notice.missing:  # English is what the items are stored in
        assert f"  - {item}\n" in english


def test_an_item_naming_no_catalog_document_stays_as_stored() -> None:
    notice = renewal("deadline.renewal_due", days_left=14)
    notice.missing = ["2 more spare parts (at least 3 required)"]
    chinese, _ = render.render(notice, language="zh")
    assert "  - 2 more spare parts (at least 3 required)\n" in chinese
