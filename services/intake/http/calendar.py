"""Calendar feeds (iCalendar): a partner's open deadlines, and an exporter contact's by its
secret link (the link in every email's footer)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Response

from services.intake.http.deps import context_dependency, require_partner
from shared.app.calendar_feed import FeedDeadline, build_calendar
from shared.app.calendar_links import contact_deadlines, contact_for_token, partner_deadlines
from shared.domain.models import Partner
from shared.infra.runtime import ServiceContext

router = APIRouter(tags=["calendar"])
MEDIA_TYPE = "text/calendar; charset=utf-8"
FEED: dict[int | str, dict[str, Any]] = {200: {"content": {"text/calendar": {}}}}
ContextDep = Annotated[ServiceContext, Depends(context_dependency)]


def _feed(ctx: ServiceContext, entries: list[FeedDeadline], name: str) -> Response:
    body = build_calendar(entries, name=name, now=ctx.clock.now())
    # Calendars poll the feed: a fresh copy each time, never cached by a proxy on the way.
    return Response(body, media_type=MEDIA_TYPE, headers={"Cache-Control": "private, no-store"})


@router.get("/v1/calendar.ics", response_class=Response, responses=FEED)
async def partner_calendar(
    partner: Annotated[Partner, Depends(require_partner)], ctx: ContextDep
) -> Response:
    """Every open deadline of your applications and registrations, as an iCalendar feed:
    all-day events on the authority's days (China Standard Time), each with an alarm."""
    entries = await partner_deadlines(ctx.db, partner.id)
    return _feed(ctx, entries, f"regwatch deadlines: {partner.name}")


@router.get(
    "/calendar/{token}.ics", response_class=Response, responses=FEED, include_in_schema=False
)
async def contact_calendar(token: str, ctx: ContextDep) -> Response:
    """An exporter contact's deadlines; the token is the secret, revocable link."""
    email = await contact_for_token(ctx.db, token)
    if email is None:
        raise HTTPException(404, "There is no such calendar (the link may have been revoked).")
    return _feed(ctx, await contact_deadlines(ctx.db, email), "regwatch deadlines")
