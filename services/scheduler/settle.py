"""What happens to a batch of claimed reminders: each emitted, skipped (with why) or cancelled.

A batch settles in one unit of work: its facts are read for the whole batch, each reminder is
decided on its own (``truth.py``), every reminder's state is written in one bulk write
conditional on the claim, the moves of structural points are applied and every event is
staged; the events are published after the commit by the outbox relay. Event ids derive from
the reminder, so no reminder can reach the outbox twice.

A point that moves something (a window opens or closes, a term ends) is decided on facts its
move will change for later reminders of the same deadline, application or registration: those
wait for the next round, a transaction of their own that reads the facts again. A batch whose
transaction fails settles its reminders one by one, so one bad reminder holds up no other.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, cast

from services.scheduler.claims import ById, Claim, LeaseLost, settle_many
from services.scheduler.facts import BatchFacts, load_facts
from services.scheduler.missed import REGISTRATION_TRIGGERS, missed_window, move_registration
from services.scheduler.notices import REMINDER_EVENT_PREFIX, reminder_event, reminder_event_id
from services.scheduler.truth import why_not_sent
from shared.app.reminder_subjects import ReminderSubject, subject_of
from shared.domain.deadlines import Deadline
from shared.infra.partner_routing import UNKNOWN, CarriedPartner
from shared.infra.runtime import ServiceContext
from shared.infra.unit_of_work import UnitOfWork

log = logging.getLogger("regwatch.scheduler")
Outcome = Literal["emitted", "skipped", "cancelled", "lost", "failed"]
ATTEMPTS = 3  # rounds lost to a changed claim before the batch is left to its lease


@dataclass
class Settlement:
    """One reminder's decision: its outcome, the fields it gets, its event's subject and
    the partner its event concerns."""

    reminder: dict[str, Any]
    outcome: Outcome
    fields: dict[str, Any]
    deadline: Deadline | None = None
    subject: ReminderSubject | None = None
    partner_id: CarriedPartner = UNKNOWN

    @property
    def written(self) -> dict[str, Any]:
        """``fields`` as written: an event id as derived from the reminder's id, so that the
        emitted reminders of a batch are one update."""
        if self.fields.get("event_id") is None:
            return self.fields
        return {**self.fields, "event_id": ById(REMINDER_EVENT_PREFIX)}

    @property
    def moves(self) -> bool:
        point = self.reminder["point"]
        return (
            self.outcome == "emitted"
            and self.deadline is not None
            and (point == "due" or (self.deadline.kind, point) in REGISTRATION_TRIGGERS)
        )


def decide(reminder: dict[str, Any], facts: BatchFacts, now: datetime) -> Settlement:
    """Cancel (deadline gone or closed), skip (not true today) or emit one reminder (pure)."""
    deadline = facts.open_deadline(reminder)
    if deadline is None:
        known = reminder["deadline_id"] in facts.deadlines
        reason = "deadline closed" if known else "deadline not found"
        return Settlement(
            reminder, "cancelled", {"status": "cancelled", "cancelled_reason": reason}
        )
    skip_reason = why_not_sent(deadline, reminder, facts, now)
    if skip_reason is not None:
        skipped = {"status": "skipped", "skipped_reason": skip_reason}
        return Settlement(reminder, "skipped", skipped, deadline)
    # Opening the window is a move, not a notice: that point has no event of its own.
    subject: ReminderSubject | None = None
    partner_id: CarriedPartner = UNKNOWN
    if reminder["point"] != "opens":
        application = facts.applications.get(deadline.application_id or "", {})
        missing = facts.missing.get(deadline.application_id or "", [])
        subject = subject_of(deadline, application, facts.registration(deadline), missing)
        partner_id = facts.partner_of(deadline, subject.registration_number)
    event_id = reminder_event_id(reminder["_id"]) if subject else None
    emitted = {"status": "emitted", "emitted_at": now, "event_id": event_id}
    return Settlement(reminder, "emitted", emitted, deadline, subject, partner_id)


def plan_round(
    reminders: list[dict[str, Any]], facts: BatchFacts, now: datetime
) -> tuple[list[Settlement], list[dict[str, Any]]]:
    """Decide in time order; what a move of this round may change waits for the next round."""
    settled: list[Settlement] = []
    deferred: list[dict[str, Any]] = []
    moved: set[str] = set()
    for reminder in sorted(reminders, key=lambda r: (r["fire_at"], r["_id"])):
        keys = facts.keys(reminder)
        if keys & moved:
            deferred.append(reminder)
            continue
        settlement = decide(reminder, facts, now)
        settled.append(settlement)
        if settlement.moves:
            moved |= keys
    return settled, deferred


async def _apply(ctx: ServiceContext, uow: UnitOfWork, s: Settlement, now: datetime) -> None:
    """The moves of an emitted point, then its event."""
    assert s.deadline is not None
    point, event_id = s.reminder["point"], reminder_event_id(s.reminder["_id"])
    await move_registration(ctx, uow, s.deadline, point, now=now, cause=event_id)
    new_status = None
    if point == "due":
        new_status = await missed_window(ctx, uow, s.deadline, now=now, cause=event_id)
        await uow.db["deadlines"].update_one(
            {"_id": s.deadline.id, "status": {"$in": ["open", "closed"]}},
            {"$set": {"status": "missed"}},
            session=uow.session,
        )
    if s.subject is not None:
        uow.stage(
            reminder_event(
                s.deadline,
                s.reminder,
                s.subject,
                now=now,
                service=ctx.service,
                application_status=new_status,
            ),
            partner_id=s.partner_id,
        )


async def _round(
    ctx: ServiceContext, token: str, reminders: list[dict[str, Any]], due_by: datetime
) -> tuple[list[Settlement], list[dict[str, Any]]]:
    """One unit of work: settle what this round can, stage its events; what waits."""
    now = ctx.clock.now()

    async def work(uow: UnitOfWork) -> tuple[list[Settlement], list[dict[str, Any]]]:
        facts = await load_facts(uow.db, reminders, due_by, uow.session)
        settled, deferred = plan_round(reminders, facts, now)
        # Settled first: the moves below may close a deadline and cancel its reminders.
        await settle_many(
            uow.db, token, [(s.reminder["_id"], s.written) for s in settled], uow.session
        )
        for settlement in settled:
            if settlement.outcome == "emitted":
                await _apply(ctx, uow, settlement, now)
        return settled, deferred

    return await ctx.unit_of_work(work)


async def _still_held(
    ctx: ServiceContext, token: str, reminders: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    ids = [r["_id"] for r in reminders]
    query = {"_id": {"$in": ids}, "status": "claimed", "claimed_by": token}
    held = {r["_id"] for r in await ctx.db["reminders"].find(query, {"_id": 1}).to_list()}
    return [r for r in reminders if r["_id"] in held]


async def _settle_round(
    ctx: ServiceContext, token: str, reminders: list[dict[str, Any]], due_by: datetime
) -> tuple[Counter[str], list[dict[str, Any]]]:
    """A round, retried on what is still held when a claim changed under it."""
    outcomes: Counter[str] = Counter()
    for _attempt in range(ATTEMPTS):
        try:
            settled, deferred = await _round(ctx, token, reminders, due_by)
        except LeaseLost as exc:
            log.warning("%s", exc)
            held = await _still_held(ctx, token, reminders)
            outcomes["lost"] += len(reminders) - len(held)
            reminders = held
            if not reminders:
                return outcomes, []
            continue
        outcomes.update(s.outcome for s in settled)
        return outcomes, deferred
    log.warning("%d reminders left to their lease: their claims keep changing", len(reminders))
    outcomes["failed"] += len(reminders)
    return outcomes, []


async def settle_batch(ctx: ServiceContext, claim: Claim, due_by: datetime) -> Counter[str]:
    """Emit, skip or cancel every reminder of ``claim``; counts by outcome.

    A reminder that fails is left claimed: any replica retries it once the lease ends.
    """
    outcomes: Counter[str] = Counter()
    waiting = list(claim.reminders)
    while waiting:
        try:
            done, waiting = await _settle_round(ctx, claim.token, waiting, due_by)
        except Exception:
            if len(waiting) == 1:
                log.exception("reminder %s failed; retried after its lease", waiting[0]["_id"])
                done, waiting = Counter({"failed": 1}), []
            else:  # one at a time, so that one bad reminder holds up no other
                log.warning(
                    "a batch of %d reminders failed; settling them one by one", len(waiting)
                )
                done = Counter()
                for reminder in waiting:
                    done.update(await settle_batch(ctx, Claim(claim.token, [reminder]), due_by))
                waiting = []
        outcomes.update(done)
    return outcomes


async def settle_claimed(
    ctx: ServiceContext, reminder: dict[str, Any], due_by: datetime
) -> Outcome:
    """Emit, skip or cancel one reminder this replica has claimed (a batch of one)."""
    outcomes = await settle_batch(ctx, Claim(reminder["claimed_by"], [reminder]), due_by)
    return cast(Outcome, next(iter(outcomes)))
