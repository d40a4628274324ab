"""An application's window, step by step, with the services as processes restarted at each
step's instant (see ``timeline.py``): at every step exactly the emails that are true on that
day. While a window is open its reminders say what is still missing and how to send it; once
it has closed, the missed-window email says what was missing then and no way to send it. A
scrap application whose window outlives the regime (the solid-waste ban from 2021-01-01)
is asked for nothing more: no registration can come of it.

Windows run 30 days from the date on the authority's notice; reminders 14/7/3/1 days before
the window's last day, and after a gap only the most recent point is sent.
"""

from __future__ import annotations

import pytest

from tests.scenarios.test_renewal_timelines import (
    DAIRY,
    SCRAP,
    SCRAP_REGIME_ENDED,
    SOLID_WASTE_BAN,
)
from tests.scenarios.timeline import Prefix, Timeline, beijing

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="session")]
scenarios = pytest.mark.scenarios

# catalog/requirements/food.yaml: a new dairy application (Decree 280, filed by the company
# itself) with only its application form, as the checks word what it lacks.
DAIRY_NEW_MISSING = (
    "  - business licence (1 required)\n"
    "  - declaration of compliance (1 required)\n"
    "  - recommendation letter of the home authority (1 required)\n"
    "  - review and inspection report of the home authority (1 required)"
)


@scenarios
async def test_dairy_application_missing_its_materials_is_told_what_was_missing_at_the_close(
    timeline: Timeline,
) -> None:
    tl = timeline
    async with tl.at(beijing(2027, 3, 1)):  # Decree 280; only the application form sent
        application_id = await tl.file_application(
            exporter=DAIRY,
            category="food.dairy",
            product="milk_powder",
            documents=[("application_form", {"language": "en"})],
        )
        await tl.wait_quiet("after the filing")
    tl.expect_emails("an incomplete application filed", set())

    async with tl.at(beijing(2027, 3, 10)):  # 30 days from the notice: last day 2027-04-09
        await tl.decide(application_id, "additional_materials_requested", notified_on="2027-03-10")
    requested = f"Additional materials requested for application {application_id} ({DAIRY})"
    tl.expect_emails("additional materials requested", {(requested, tl.contact)})
    tl.expect_equal(
        "while the window is open: what is missing and how to send it",
        tl.listed_after_facts(requested, tl.contact),
        "Still missing, from the latest check of your documents:\n"
        f"{DAIRY_NEW_MISSING}\n"
        "\n"
        "How to send it: have your export agent submit each missing document to regwatch for"
        f" application {application_id}, through its regwatch connection (RabbitMQ, header"
        " x-application-id) or the upload API. Each document is checked when it arrives, and we"
        " will tell you if anything is still missing.",
    )

    async with tl.at(beijing(2027, 4, 10)):  # the day after the window's last day
        closed = await tl.application(application_id)
    missed = (
        "Deadline missed: the additional materials window for application"
        f" {application_id} closed on 09 April 2027"
    )
    tl.expect_emails("the day after the window closed", {(missed, tl.contact)})
    tl.expect_equal("window missed: application status", closed["status"], "not_accepted")
    tl.expect_equal(
        "window missed: what happened, and the next steps",
        tl.message_of(missed, tl.contact),
        f"The additional materials window for application {application_id} closed on"
        " 09 April 2027 and we did not receive what was needed in time.\n"
        'The application is now recorded as "not accepted".\n'
        "\n"
        "Please contact your export agent about the next steps.",
    )
    tl.expect_equal(
        "window missed: what was missing when it closed, and no way to send it",
        tl.listed_after_facts(missed, tl.contact),
        f"Missing when the window closed:\n{DAIRY_NEW_MISSING}",
    )
    tl.expect_equal("dead letters at the end", await tl.dead_letters(), 0)
    tl.assert_every_step()


@scenarios
async def test_scrap_application_whose_window_outlives_the_regime_is_asked_for_nothing(
    timeline: Timeline,
) -> None:
    tl = timeline
    async with tl.at(beijing(2020, 11, 2)):  # before the ban; only the application form sent
        application_id = await tl.file_application(
            exporter=SCRAP,
            category="scrap.metal",
            product=None,
            documents=[("application_form", {"language": "en"})],
        )
        await tl.wait_quiet("after the filing")
    tl.expect_emails("an incomplete application filed", set())

    async with tl.at(beijing(2020, 12, 16)):  # 30 days from the notice: last day 2021-01-15
        await tl.decide(application_id, "additional_materials_requested", notified_on="2020-12-16")
    requested = f"Additional materials requested for application {application_id} ({SCRAP})"
    tl.expect_emails(
        "additional materials requested, a month after the filing",
        {(requested, tl.contact), (Prefix("Processing overdue: "), tl.ops)},
    )

    async with tl.at(beijing(2021, 1, 9)):  # T-14d (2021-01-01) and T-7d fell, after the ban
        pass
    nothing_to_send = (
        f"Nothing to send for application {application_id} ({SCRAP}):"
        " the registration regime of its category has ended"
    )
    tl.expect_emails("a week into the ban, the window open", {(nothing_to_send, tl.contact)})
    tl.expect_equal(
        "a week into the ban: the reminder asks for nothing and says why",
        tl.message_of(nothing_to_send, tl.contact),
        f"The additional materials window for application {application_id} closes on"
        " 15 January 2021, but the application can no longer lead to a registration: there is"
        " nothing to send for it.\n"
        f"{SCRAP_REGIME_ENDED}\n"
        f"{SOLID_WASTE_BAN}",
    )
    tl.expect_equal(
        "a week into the ban: no list of documents",
        tl.listed_after_facts(nothing_to_send, tl.contact),
        "",
    )

    async with tl.at(beijing(2021, 1, 16)):  # the day after the window's last day
        closed = await tl.application(application_id)
    missed = (
        "Deadline missed: the additional materials window for application"
        f" {application_id} closed on 15 January 2021"
    )
    tl.expect_emails("the day after the window closed", {(missed, tl.contact)})
    tl.expect_equal("window missed: application status", closed["status"], "not_accepted")
    tl.expect_equal(
        "window missed after the ban: what happened and why, nobody sent to apply or to send",
        tl.message_of(missed, tl.contact),
        f"The additional materials window for application {application_id} closed on"
        " 15 January 2021.\n"
        'The application is now recorded as "not accepted".\n'
        "\n"
        f"{SCRAP_REGIME_ENDED}\n"
        f"{SOLID_WASTE_BAN}",
    )
    tl.expect_equal(
        "window missed after the ban: no list of documents",
        tl.listed_after_facts(missed, tl.contact),
        "",
    )
    tl.expect_equal("dead letters at the end", await tl.dead_letters(), 0)
    tl.assert_every_step()
