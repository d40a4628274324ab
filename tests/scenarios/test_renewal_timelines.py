"""A registration's life, step by step, with the services as processes restarted at each
step's instant: at every step exactly the emails that are true on that day, nothing else.

Dates are the authority's (Asia/Shanghai). Each step is at 10:00 Beijing time, an hour
after the 09:00 reminders of its day. Decree 248/280 food registrations: renewal window
from 6 to 3 calendar months before expiry, reminders 180/120/90/60/30/14/7/1 days before
the window's last day but none before it opens, one notice 30 days before it opens.

The timelines take minutes together: the long ones carry the ``scenarios`` marker and run
in ``make test-faults`` (``make test-scenarios``); ``make test`` runs the short one (a
renewal filed too early). The scrap ones follow the solid-waste ban: announced on
2020-11-24, in force from 2021-01-01.
"""

from __future__ import annotations

import uuid
from datetime import date

import pytest

from tests.scenarios.timeline import Prefix, Timeline, beijing

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="session")]
scenarios = pytest.mark.scenarios

DAIRY = "Fjord Dairy AS"
SCRAP = "Rust Belt Metals Inc"
# catalog/regimes.yaml, aqsiq_scrap: closed_reason, and what every notice says once it ended.
SOLID_WASTE_BAN = (
    "China has banned all imports of solid waste since 2021-01-01 (joint announcement of"
    " 2020-11-24): no scrap-material registration can be applied for or renewed after 2020-12-31."
)
SCRAP_REGIME_ENDED = (
    "No new registration can be applied for, nor any registration renewed: the registration"
    " regime for this category ended on 31 December 2020 and nothing has replaced it."
)
# aqsiq_scrap's closure (announced 2020-11-24): what every notice says until the regime ends.
SOLID_WASTE_BAN_ANNOUNCED = (
    "China bans all imports of solid waste from 2021-01-01 (joint announcement of 2020-11-24):"
    " no scrap-material registration, new or renewed, can carry exports to China beyond"
    " 2020-12-31."
)
SCRAP_REGIME_ENDING = (
    "The registration regime for this category ends on 31 December 2020 and nothing will"
    " replace it: a registration, new or renewed, cannot carry exports to China beyond that day."
)


def number(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:8].upper()}"


def renewal_due(days: int, exporter: str, registration: str, by: str) -> str:
    left = "1 day" if days == 1 else f"{days} days"
    return f"Renewal due in {left}: {exporter}, registration {registration} (by {by})"


@scenarios
async def test_dairy_renewal_filed_in_the_window_then_granted_tells_only_what_is_true(
    timeline: Timeline,
) -> None:
    tl = timeline
    reg = number("CIFM")
    valid_until = date(2027, 8, 31)  # window 2027-02-28 .. 2027-05-31 (Decree 280)
    row = tl.csv_row(
        reg,
        exporter=DAIRY,
        category="food.dairy",
        product="milk_powder",
        issued_on=date(2022, 9, 1),
        valid_until=valid_until,
    )

    async with tl.at(beijing(2026, 12, 1)):
        await tl.import_registration(row)
    tl.expect_emails("import, well before the window", set())

    async with tl.at(beijing(2027, 1, 29)):
        pass
    tl.expect_emails(
        "30 days before the window opens",
        {(f"Renewal window opens on 28 February 2027: {DAIRY}, registration {reg}", tl.contact)},
    )

    async with tl.at(beijing(2027, 3, 5)):  # T-90d fell on 2027-03-02
        pass
    tl.expect_emails(
        "window open, nothing filed",
        {(renewal_due(87, DAIRY, reg, "31 May 2027"), tl.contact)},
    )

    async with tl.at(beijing(2027, 3, 6)):
        application_id = await tl.file_renewal(number=reg, valid_until=valid_until, exporter=DAIRY)
        await tl.wait_quiet("after the filing")
        application = await tl.application(application_id)
    tl.expect_emails("renewal filed in the window", set())
    tl.expect_equal("renewal filed: application status", application["status"], "under_examination")
    tl.expect_equal(
        "renewal filed: registration status",
        (await tl.registration(reg))["status"],
        "renewal_filed",
    )

    async with tl.at(beijing(2027, 5, 27)):  # with the authority since 2027-03-06
        pass
    tl.expect_emails(
        "a few days before the close, renewal filed",
        {(Prefix("Processing overdue: "), tl.ops)},
    )

    async with tl.at(beijing(2027, 6, 5)):
        pass
    tl.expect_emails("after the close, renewal filed in time", set())

    async with tl.at(beijing(2027, 6, 10)):
        await tl.decide(
            application_id,
            "certificate_issued",
            registration_number=reg,
            issued_on=date(2027, 6, 10),
            valid_until=date(2032, 8, 31),
        )
    tl.expect_emails(
        "certificate issued on the renewal",
        {(f"Certificate issued: {DAIRY}, registration {reg}", tl.contact)},
    )
    renewed = await tl.registration(reg)
    tl.expect_equal(
        "certificate issued: the new term", renewed["valid_until"].date(), date(2032, 8, 31)
    )

    async with tl.at(beijing(2027, 9, 2)):
        pass
    tl.expect_emails("after the old expiry date, renewed", set())
    tl.expect_equal("dead letters at the end", await tl.dead_letters(), 0)
    tl.assert_every_step()


@scenarios
async def test_scrap_registration_not_renewed_is_reminded_then_missed_then_expired(
    timeline: Timeline,
) -> None:
    tl = timeline
    reg = number("SCRAP")
    # AQSIQ scrap: the window closes 6 months before expiry, on 2020-05-30; no opening day.
    row = tl.csv_row(
        reg,
        exporter=SCRAP,
        category="scrap.metal",
        country="US",
        issued_on=date(2017, 12, 1),
        valid_until=date(2020, 11, 30),
    )

    async with tl.at(beijing(2019, 10, 1)):
        tl.import_registration_cli(row)
    tl.expect_emails("import", set())

    async with tl.at(beijing(2019, 12, 10)):  # T-180d fell on 2019-12-02
        pass
    tl.expect_emails(
        "after the first reminder point",
        {(renewal_due(172, SCRAP, reg, "30 May 2020"), tl.contact)},
    )

    async with tl.at(beijing(2020, 4, 1)):  # T-120d, T-90d and T-60d (2020-03-31) fell
        pass
    tl.expect_emails(
        "after three reminder points: only the latest",
        {(renewal_due(59, SCRAP, reg, "30 May 2020"), tl.contact)},
    )

    async with tl.at(beijing(2020, 5, 31)):  # the day after the window's last day
        pass
    tl.expect_emails(
        "the day after the window closed",
        {
            (
                f"Deadline missed: the renewal window for registration {reg} closed on 30 May 2020",
                tl.contact,
            )
        },
    )

    async with tl.at(beijing(2020, 12, 1)):  # after the ban's announcement, before the ban
        pass
    expired = f"Registration expired: {SCRAP}, registration {reg} (on 30 November 2020)"
    tl.expect_emails("the day after expiry", {(expired, tl.contact)})
    tl.expect_equal(
        "the day after expiry: the expiry says the regime ends, and sends nobody to apply",
        tl.message_of(expired, tl.contact),
        f"Your registration {reg} expired on 30 November 2020 (the end of that day in Beijing)."
        " Goods covered by it can no longer be cleared by China customs.\n"
        f"{SCRAP_REGIME_ENDING}\n"
        f"{SOLID_WASTE_BAN_ANNOUNCED}",
    )
    tl.expect_equal(
        "the day after expiry: registration status",
        (await tl.registration(reg))["status"],
        "expired",
    )
    tl.expect_equal("dead letters at the end", await tl.dead_letters(), 0)
    tl.assert_every_step()


@scenarios
async def test_scrap_renewal_reminders_stop_promising_exports_once_the_ban_is_announced(
    timeline: Timeline,
) -> None:
    tl = timeline
    reg = number("SCRAP")
    # Valid past the ban: the window (6 months before expiry, 2021-03-30) ends with the
    # regime on 2020-12-31; reminders 180/120/90/60/30/14/7/1 days before that day.
    row = tl.csv_row(
        reg,
        exporter=SCRAP,
        category="scrap.paper",
        country="US",
        issued_on=date(2018, 10, 1),
        valid_until=date(2021, 9, 30),
    )

    async with tl.at(beijing(2020, 7, 1)):
        tl.import_registration_cli(row)
    tl.expect_emails("import", set())

    async with tl.at(beijing(2020, 11, 20)):  # T-60d fell on 2020-11-01; not yet announced
        pass
    before = renewal_due(41, SCRAP, reg, "31 December 2020")
    tl.expect_emails("before the ban was announced", {(before, tl.contact)})
    tl.expect_equal(
        "before the ban was announced: the reminder reads as while the regime goes on",
        tl.message_of(before, tl.contact),
        f"The renewal window for registration {reg} is open and closes on 31 December 2020, in"
        " 41 days. The authority takes renewal applications until the end of that day (Beijing"
        " time). Please have the renewal application filed before then, so that your exports to"
        " China can continue without interruption.\n"
        "\n"
        "The registration expires on 30 September 2021.",
    )

    async with tl.at(beijing(2020, 12, 2)):  # T-30d fell on 2020-12-01, after the announcement
        pass
    after = renewal_due(29, SCRAP, reg, "31 December 2020")
    tl.expect_emails("after the ban was announced", {(after, tl.contact)})
    tl.expect_equal(
        "after the ban was announced: the reminder promises no exports beyond the regime",
        tl.message_of(after, tl.contact),
        f"The renewal window for registration {reg} is open and closes on 31 December 2020, in"
        " 29 days. The authority takes renewal applications until the end of that day (Beijing"
        " time).\n"
        "\n"
        "The registration expires on 30 September 2021.\n"
        f"{SCRAP_REGIME_ENDING}\n"
        f"{SOLID_WASTE_BAN_ANNOUNCED}",
    )

    async with tl.at(beijing(2021, 1, 1)):  # the window closed with the regime
        pass
    missed = (
        f"Deadline missed: the renewal window for registration {reg} closed on 31 December 2020"
    )
    tl.expect_emails("the first day of the ban", {(missed, tl.contact)})
    tl.expect_equal(
        "the first day of the ban: the missed window says the regime ended",
        tl.message_of(missed, tl.contact),
        f"The renewal window for registration {reg} closed on 31 December 2020 without a renewal"
        " application filed with the authority.\n"
        "The registration expires on 30 September 2021.\n"
        f"{SCRAP_REGIME_ENDED}\n"
        f"{SOLID_WASTE_BAN}",
    )
    tl.expect_equal("dead letters at the end", await tl.dead_letters(), 0)
    tl.assert_every_step()


@scenarios
async def test_renewal_not_accepted_while_the_window_is_open_resumes_the_reminders(
    timeline: Timeline,
) -> None:
    tl = timeline
    reg = number("CIFM")
    valid_until = date(2027, 11, 30)  # window 2027-05-30 .. 2027-08-30
    row = tl.csv_row(
        reg,
        exporter=DAIRY,
        category="food.dairy",
        product="milk_powder",
        issued_on=date(2022, 12, 1),
        valid_until=valid_until,
    )

    async with tl.at(beijing(2027, 3, 1)):
        await tl.import_registration(row)
    tl.expect_emails("import", set())

    async with tl.at(beijing(2027, 4, 30)):
        pass
    tl.expect_emails(
        "30 days before the window opens",
        {(f"Renewal window opens on 30 May 2027: {DAIRY}, registration {reg}", tl.contact)},
    )

    async with tl.at(beijing(2027, 6, 2)):  # T-90d fell on 2027-06-01, then the filing
        application_id = await tl.file_renewal(number=reg, valid_until=valid_until, exporter=DAIRY)
    tl.expect_emails(
        "window open: the reminder due, then the renewal filed",
        {(renewal_due(89, DAIRY, reg, "30 August 2027"), tl.contact)},
    )
    tl.expect_equal(
        "renewal filed: registration status",
        (await tl.registration(reg))["status"],
        "renewal_filed",
    )

    async with tl.at(beijing(2027, 6, 10)):
        await tl.decide(application_id, "non_acceptance_notice", reason="form incomplete")
    tl.expect_emails(
        "renewal not accepted while the window is open",
        {
            (
                "Renewal not accepted, the window is open until 30 August 2027: "
                f"{DAIRY}, registration {reg}",
                tl.contact,
            )
        },
    )
    tl.expect_equal(
        "renewal not accepted: registration status",
        (await tl.registration(reg))["status"],
        "renewal_open",
    )

    async with tl.at(beijing(2027, 7, 2)):  # T-60d fell on 2027-07-01
        pass
    tl.expect_emails(
        "past the next reminder point",
        {(renewal_due(59, DAIRY, reg, "30 August 2027"), tl.contact)},
    )
    tl.expect_equal("dead letters at the end", await tl.dead_letters(), 0)
    tl.assert_every_step()


async def test_renewal_filed_before_the_window_waits_and_moves_on_when_it_opens(
    timeline: Timeline,
) -> None:
    tl = timeline
    reg = number("CIFM")
    valid_until = date(2027, 8, 31)  # window 2027-02-28 .. 2027-05-31
    row = tl.csv_row(
        reg,
        exporter=DAIRY,
        category="food.dairy",
        product="milk_powder",
        issued_on=date(2022, 9, 1),
        valid_until=valid_until,
    )

    async with tl.at(beijing(2027, 1, 20)):
        await tl.import_registration(row)
        application_id = await tl.file_renewal(number=reg, valid_until=valid_until, exporter=DAIRY)
        await tl.wait_quiet("after the filing")
        waiting = await tl.application(application_id)
    tl.expect_emails("import and a complete renewal before the window", set())
    tl.expect_equal("early renewal: application status", waiting["status"], "waiting_for_window")

    async with tl.at(beijing(2027, 2, 28)):  # the opening day, after 09:00 Beijing
        opened = await tl.application(application_id)
    tl.expect_emails("the window's opening day, renewal waiting", set())
    tl.expect_equal("opening day: application status", opened["status"], "under_examination")
    tl.expect_equal(
        "opening day: registration status", (await tl.registration(reg))["status"], "renewal_filed"
    )
    tl.expect_equal("dead letters at the end", await tl.dead_letters(), 0)
    tl.assert_every_step()


@scenarios
async def test_scrap_registration_past_the_ban_is_told_it_cannot_be_renewed_then_expires(
    timeline: Timeline,
) -> None:
    tl = timeline
    reg = number("SCRAP")
    # Imported after the solid-waste ban: no regime can judge a renewal any more.
    row = tl.csv_row(
        reg,
        exporter=SCRAP,
        category="scrap.metal",
        country="US",
        issued_on=date(2018, 10, 1),
        valid_until=date(2021, 9, 30),
    )

    async with tl.at(beijing(2021, 3, 1)):
        await tl.import_registration(row)
    tl.expect_emails("import after the ban", set())
    tl.expect_equal("import: renewable", (await tl.registration(reg))["renewable"], False)

    async with tl.at(beijing(2021, 7, 5)):  # T-90d before the end fell on 2021-07-02
        pass
    tl.expect_emails(
        "90 days before the end",
        {
            (
                f"Registration expires in 87 days and cannot be renewed: {SCRAP}, "
                f"registration {reg} (on 30 September 2021)",
                tl.contact,
            )
        },
    )

    async with tl.at(beijing(2021, 7, 10)):  # a renewal sent anyway: refused, nothing to apply for
        application_id = await tl.file_renewal(
            number=reg,
            valid_until=date(2021, 9, 30),
            exporter=SCRAP,
            category="scrap.metal",
            product=None,
            documents=[("e_system_account", {"language": "en"})],
        )
        await tl.wait_quiet("after the filing")
        refused = await tl.application(application_id)
    refusal = f"Renewal refused: application {application_id} ({SCRAP})"
    tl.expect_emails("a renewal after the ban", {(refusal, tl.contact)})
    tl.expect_equal("renewal after the ban: application status", refused["status"], "refused")
    tl.expect_equal(
        "renewal after the ban: the refusal says the regime ended, and sends nobody to apply",
        tl.message_of(refusal, tl.contact),
        f"The renewal application {application_id} for registration {reg} has been refused.\n"
        f"Its reason: {SOLID_WASTE_BAN}\n"
        "\n"
        "This application will not go further.\n"
        f"{SCRAP_REGIME_ENDED}",
    )

    async with tl.at(beijing(2021, 10, 1)):
        pass
    expired = f"Registration expired: {SCRAP}, registration {reg} (on 30 September 2021)"
    tl.expect_emails("the day after the end", {(expired, tl.contact)})
    tl.expect_equal(
        "the day after the end: the expiry says the regime ended",
        tl.message_of(expired, tl.contact),
        f"Your registration {reg} expired on 30 September 2021 (the end of that day in Beijing)."
        " Goods covered by it can no longer be cleared by China customs.\n"
        f"{SCRAP_REGIME_ENDED}\n"
        f"{SOLID_WASTE_BAN}",
    )
    tl.expect_equal("dead letters at the end", await tl.dead_letters(), 0)
    tl.assert_every_step()


@scenarios
async def test_renewal_sent_after_the_window_closed_is_refused_with_what_to_do_instead(
    timeline: Timeline,
) -> None:
    tl = timeline
    reg = number("CIFM")
    valid_until = date(2027, 8, 31)  # window 2027-02-28 .. 2027-05-31
    row = tl.csv_row(
        reg,
        exporter=DAIRY,
        category="food.dairy",
        product="milk_powder",
        issued_on=date(2022, 9, 1),
        valid_until=valid_until,
    )

    async with tl.at(beijing(2027, 6, 2)):  # imported after the window closed
        await tl.import_registration(row)
    tl.expect_emails(
        "import after the close: the window closed unfiled",
        {
            (
                f"Deadline missed: the renewal window for registration {reg} closed on 31 May 2027",
                tl.contact,
            )
        },
    )

    async with tl.at(beijing(2027, 6, 5)):
        application_id = await tl.file_renewal(number=reg, valid_until=valid_until, exporter=DAIRY)
        await tl.wait_quiet("after the late filing")
        refused = await tl.application(application_id)
    tl.expect_emails(
        "a renewal after the close",
        {(f"Renewal refused: application {application_id} ({DAIRY})", tl.contact)},
    )
    tl.expect_equal("late renewal: application status", refused["status"], "refused")
    tl.expect_equal(
        "late renewal: registration status", (await tl.registration(reg))["status"], "active"
    )

    async with tl.at(beijing(2027, 9, 1)):
        pass
    tl.expect_emails(
        "the day after expiry",
        {(f"Registration expired: {DAIRY}, registration {reg} (on 31 August 2027)", tl.contact)},
    )
    tl.expect_equal("dead letters at the end", await tl.dead_letters(), 0)
    tl.assert_every_step()
