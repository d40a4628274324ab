"""One registration's life as a timeline of steps, each with the services run as processes
whose clocks start at the step's instant (``REGWATCH_NOW``).

``async with timeline.at(instant):`` starts intake, validator, scheduler and notifier, waits
until the system is quiet (every reminder due by the instant settled, the outbox sent, the
queues empty, the mail count stable), runs the step's actions (import, a renewal over the
partner API, a decision by ops), waits until quiet again and stops the services with
SIGTERM. ``timeline.expect_emails(step, {...})`` then checks the exact set of mails the
step produced for this test's contacts and ops address; ``assert_every_step()`` at the end
fails with every step that was wrong.
"""

from __future__ import annotations

import asyncio
import json
import mailbox
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aio_pika
import httpx
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from devtools.local_infra import free_port
from shared.app.partners import issue_api_key, new_partner, save_partner
from shared.infra import db as mongo
from shared.infra.settings import Settings
from shared.infra.topology import (
    CONSUMER_QUEUES,
    DEAD_LETTER_QUEUE_NAME,
    READER_DOCUMENTS,
    WEBHOOKS_EVENTS,
)
from tests.integration.deadline_support import body_text, subject_of
from tests.processes import ServiceProcess, service_env
from tests.support import sample_pdf, wait_until

BEIJING = ZoneInfo("Asia/Shanghai")
SERVICES = ("intake", "validator", "scheduler", "notifier")
# The queues of those services: the reader (off in the tests: READER_ENABLED=false) and the
# webhook sender take no part in what an exporter is told.
QUEUES = tuple(q for q in CONSUMER_QUEUES if q not in (READER_DOCUMENTS, WEBHOOKS_EVENTS))
CSV_HEADER = (
    "registration_number,exporter_name,country,category,product,issued_on,valid_until,"
    "contact_emails"
)
TICK_SECONDS = 0.3
SETTLE_SECONDS = 2.0  # the observed state must hold unchanged this long to count as quiet
QUIET_TIMEOUT = 120.0
# A food renewal's documents (catalog/requirements/food.yaml, food.renewal).
FOOD_RENEWAL_DOCUMENTS: tuple[tuple[str, dict[str, Any]], ...] = (
    ("renewal_application_form", {"language": "zh"}),
    ("commercial_certificate", {"language": "en", "expiry_date": "2035-01-01"}),
    ("compliance_declaration", {"language": "en"}),
)


def beijing(year: int, month: int, day: int, hour: int = 10, minute: int = 0) -> datetime:
    """An instant given in Beijing time (the authority's calendar)."""
    return datetime(year, month, day, hour, minute, tzinfo=BEIJING)


@dataclass(frozen=True)
class Prefix:
    """An expected subject known only by its beginning (e.g. the processing-overdue mail)."""

    text: str

    def matches(self, subject: str) -> bool:
        return subject.startswith(self.text)

    def __repr__(self) -> str:
        return f"{self.text!r}..."


Expected = tuple[str | Prefix, str]


def _matches(expected: str | Prefix, subject: str) -> bool:
    return expected.matches(subject) if isinstance(expected, Prefix) else expected == subject


class Timeline:
    """The state one scenario test keeps across its steps."""

    def __init__(self, settings: Settings, maildir: Path, tag: str) -> None:
        self.tag = tag
        self.settings = settings
        self.maildir = Path(maildir)
        self.contact = f"exporter-{tag}@scenario.example"
        self.ops = settings.ops_email
        self.client: AsyncMongoClient = mongo.connect(settings)
        self.db: AsyncDatabase = mongo.database(self.client, settings)
        self._seen_mail: set[str] = set(self._mail_keys())
        self._new_mail: list[tuple[str, str]] = []
        self._texts: dict[tuple[str, str], str] = {}  # (subject, recipient) -> plain text
        self.now: datetime | None = None
        self.http: httpx.AsyncClient | None = None
        self.processes: list[ServiceProcess] = []
        self._partner_key: str | None = None
        self._amqp: aio_pika.abc.AbstractRobustConnection | None = None
        self.steps: list[str] = []  # each step and its verdict, for the report
        self.failures: list[str] = []

    async def close(self) -> None:
        if self._amqp is not None:
            await self._amqp.close()
        await self.client.drop_database(self.settings.mongodb_db)
        await self.client.close()

    # -- steps ----------------------------------------------------------------------------

    @asynccontextmanager
    async def at(self, instant: datetime) -> AsyncIterator[Timeline]:
        """The services up at ``instant``; quiet before and after the step's actions."""
        assert instant.tzinfo is not None
        self.now = instant.astimezone(UTC)
        port = free_port()
        env = service_env(
            self.settings,
            regwatch_now=self.now.isoformat(),
            scheduler_tick_seconds=TICK_SECONDS,
            intake_http_port=port,
            ops_email=self.ops,
            orphan_sweep_seconds=3600,
        )
        # The scheduler logs each run of its jobs (APScheduler) only when debugging: the
        # quiet check waits for its start-up sweep and two ticks after it.
        debug = {"scheduler": {"LOG_LEVEL": "DEBUG"}}
        self.processes = [ServiceProcess(n, {**env, **debug.get(n, {})}) for n in SERVICES]
        try:
            async with httpx.AsyncClient(
                base_url=f"http://127.0.0.1:{port}", timeout=60
            ) as self.http:
                await self._wait_ready()
                await self.wait_quiet("after start")
                yield self
                await self.wait_quiet("after the step's actions")
        finally:
            self.http = None
            for process in self.processes:
                process.stop()
        failed = [p for p in self.processes if p.process.returncode != 0]
        assert not failed, "\n".join(
            f"{p.name} exited with {p.process.returncode}:\n{p.output()[-3000:]}" for p in failed
        )
        self._collect_mail()

    async def _wait_ready(self) -> None:
        async def intake_answers() -> bool:
            assert self.http is not None
            try:
                return (await self.http.get("/healthz")).status_code == 200
            except httpx.TransportError:
                return False

        await wait_until(intake_answers, timeout=90, interval=0.2, message=self._outputs)
        for queue in QUEUES:

            async def consumed(name: str = queue.name) -> bool:
                depth = await self._queue(name)
                return depth is not None and depth[1] >= 1

            await wait_until(
                consumed,
                timeout=90,
                interval=0.2,
                message=lambda q=queue.name: f"no consumer on {q}",
            )

    def _outputs(self) -> str:
        return "\n".join(f"--- {p.name}\n{p.output()[-1500:]}" for p in self.processes)

    async def _queue(self, name: str) -> tuple[int, int] | None:
        """(ready messages, consumers) of ``name``, asked of the broker (a passive declare;
        the management API's counts lag by a statistics interval)."""
        try:
            if self._amqp is None or self._amqp.is_closed:
                self._amqp = await aio_pika.connect(self.settings.amqp_url)
            channel = await self._amqp.channel()
        except Exception:
            return None
        try:
            declared = await channel.declare_queue(name, passive=True)
        except Exception:  # not declared yet: the broker closed the channel
            return None
        result = declared.declaration_result
        await channel.close()
        return int(result.message_count or 0), int(result.consumer_count or 0)

    async def _state(self) -> tuple[dict[str, Any], list[str]]:
        """What the quiet check observes, and what still keeps the system busy."""
        assert self.now is not None
        busy: list[str] = []
        queues = {q.name: await self._queue(q.name) for q in QUEUES}
        for name, depth in queues.items():
            if depth is None or depth[0] > 0:
                busy.append(f"queue {name}: {depth}")
        db = self.db
        unsent = await db["outbox"].count_documents({"status": {"$ne": "sent"}})
        if unsent:
            busy.append(f"{unsent} outbox entries unsent")
        due = await db["reminders"].count_documents(
            {"status": {"$in": ["pending", "claimed"]}, "fire_at": {"$lte": self.now}}
        )
        if due:
            busy.append(f"{due} reminders due and not settled")
        sending = await db["deliveries"].count_documents({"status": "sending"})
        if sending:
            busy.append(f"{sending} deliveries being sent")
        ticks = self._scheduler_runs()
        if ticks["sweep"] < 1 or ticks["tick_after_sweep"] < 2:
            busy.append(f"scheduler has not swept and ticked twice yet: {dict(ticks)}")
        observed = {
            "outbox": await db["outbox"].count_documents({}),
            "reminders": sorted(
                (r["_id"], r["status"])
                for r in await db["reminders"].find({}, {"status": 1}).to_list()
            ),
            "applications": sorted(
                (a["_id"], a["status"])
                for a in await db["applications"].find({}, {"status": 1}).to_list()
            ),
            "mail": len(self._mail_keys()),
            "busy": busy,
        }
        return observed, busy

    def _scheduler_runs(self) -> Counter[str]:
        """Sweep and tick runs the scheduler's log reports (APScheduler logs each run)."""
        runs: Counter[str] = Counter()
        scheduler = next(p for p in self.processes if p.name == "scheduler")
        for line in scheduler.output().splitlines():
            if "executed successfully" not in line:
                continue
            if ".sweep" in line:
                runs["sweep"] += 1
            elif ".tick" in line and runs["sweep"]:
                runs["tick_after_sweep"] += 1
        return runs

    async def wait_quiet(self, when: str) -> None:
        """Until nothing is due, pending or in flight and the observed state stays unchanged
        for ``SETTLE_SECONDS``."""
        deadline = time.monotonic() + QUIET_TIMEOUT
        last: dict[str, Any] | None = None
        since = time.monotonic()
        while True:
            for process in self.processes:
                assert process.alive(), f"{process.name} died:\n{process.output()[-3000:]}"
            observed, busy = await self._state()
            if observed != last:
                last, since = observed, time.monotonic()
            elif not busy and time.monotonic() - since >= SETTLE_SECONDS:
                return
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"not quiet {when} at {self.now} within {QUIET_TIMEOUT} s: {busy}\n"
                    + self._outputs()
                )
            await asyncio.sleep(0.25)

    # -- mail ------------------------------------------------------------------------------

    def _mail_keys(self) -> list[str]:
        keys = []
        for sub in ("new", "cur"):
            folder = self.maildir / sub
            if folder.is_dir():
                keys.extend(p.name for p in folder.iterdir())
        return keys

    def _collect_mail(self) -> None:
        box = mailbox.Maildir(str(self.maildir), create=False)
        ours = {self.contact, self.ops}
        for key in box.iterkeys():
            if key in self._seen_mail:
                continue
            self._seen_mail.add(key)
            message = box.get_message(key)
            if message["To"] in ours:
                mail = (subject_of(message), str(message["To"]))
                self._new_mail.append(mail)
                self._texts[mail] = body_text(message)

    def emails_since_last_step(self) -> set[tuple[str, str]]:
        """(subject, recipient) of the mails to this test's addresses since the last call."""
        self._collect_mail()
        mails, self._new_mail = self._new_mail, []
        self._last_list = mails
        return set(mails)

    def expect_emails(self, step: str, expected: Iterable[Expected]) -> None:
        """The step produced exactly ``expected``: nothing missing, nothing more, no repeat."""
        got = self.emails_since_last_step()
        mails = self._last_list
        missing = [e for e in expected if not any(_matches(e[0], s) and e[1] == r for s, r in got)]
        unexpected = sorted(
            (s, r) for s, r in got if not any(_matches(e[0], s) and e[1] == r for e in expected)
        )
        repeated = sorted(m for m, n in Counter(mails).items() if n > 1)
        problems = []
        if missing:
            problems.append(f"missing: {missing}")
        if unexpected:
            problems.append(f"unexpected: {unexpected}")
        if repeated:
            problems.append(f"sent more than once: {repeated}")
        verdict = "; ".join(problems) if problems else "as expected"
        self.steps.append(f"{self.now:%Y-%m-%d %H:%M}Z {step}: {verdict}")
        if problems:
            self.failures.append(f"step {step!r} at {self.now}: {verdict}")

    def message_of(self, subject: str, recipient: str) -> str | None:
        """What a mail collected so far says: its text between the greeting and the facts
        listed under it (``Exporter: ...``), blank lines kept; None when no such mail came."""
        text = self._texts.get((subject, recipient))
        if text is None:
            return None
        lines = text.splitlines()
        end = next(i for i, line in enumerate(lines) if line.startswith("Exporter: "))
        return "\n".join(lines[1:end]).strip("\n")

    def listed_after_facts(self, subject: str, recipient: str) -> str | None:
        """What a mail collected so far lists after its facts (``Exporter: ...`` and the
        lines under it) and before the footer every email shares; None when no such mail."""
        text = self._texts.get((subject, recipient))
        if text is None:
            return None
        lines = text.splitlines()
        facts = next(i for i, line in enumerate(lines) if line.startswith("Exporter: "))
        start = next(i for i in range(facts, len(lines)) if not lines[i].strip())
        end = next(i for i, line in enumerate(lines) if line.startswith("Dates are the days"))
        return "\n".join(lines[start:end]).strip("\n")

    def expect_equal(self, what: str, got: Any, expected: Any) -> None:
        """A state the step must have reached (checked, reported with the steps)."""
        verdict = "as expected" if got == expected else f"expected {expected!r}, got {got!r}"
        self.steps.append(f"{self.now:%Y-%m-%d %H:%M}Z {what}: {verdict}")
        if got != expected:
            self.failures.append(f"{what} at {self.now}: {verdict}")

    def assert_every_step(self) -> None:
        """Fail with every step whose emails were not the expected ones (steps go on after
        a wrong step, so one run shows the whole timeline)."""
        assert not self.failures, "\n".join(self.failures)

    # -- actions -----------------------------------------------------------------------------

    def csv_row(
        self,
        number: str,
        *,
        exporter: str,
        category: str,
        product: str = "",
        issued_on: date,
        valid_until: date,
        country: str = "NO",
    ) -> str:
        return (
            f"{number},{exporter},{country},{category},{product},{issued_on.isoformat()},"
            f"{valid_until.isoformat()},{self.contact}"
        )

    async def import_registration(self, row: str) -> None:
        """Ops import one registration over the intake's HTTP API."""
        assert self.http is not None
        response = await self.http.post(
            "/v1/registrations/import",
            content=f"{CSV_HEADER}\n{row}\n",
            headers={**self._ops_headers(), "Content-Type": "text/csv"},
        )
        assert response.status_code == 200, response.text
        assert response.json()["imported"] == 1, response.text

    def import_registration_cli(self, row: str) -> None:
        """Ops import one registration with ``regwatch registrations import FILE``."""
        assert self.now is not None
        with tempfile.NamedTemporaryFile("w", suffix=".csv", delete=False) as handle:
            handle.write(f"{CSV_HEADER}\n{row}\n")
        env = service_env(self.settings, regwatch_now=self.now.isoformat())
        done = subprocess.run(
            [sys.executable, "-m", "services.cli", "registrations", "import", handle.name],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        Path(handle.name).unlink()
        assert done.returncode == 0, done.stdout + done.stderr
        assert "1 imported" in done.stdout, done.stdout

    def _ops_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.settings.regwatch_ops_token}"}

    async def _partner_headers(self) -> dict[str, str]:
        if self._partner_key is None:
            now = datetime.now(UTC)
            partner = new_partner(name=f"Scenario partner {self.tag}", now=now)
            await save_partner(self.db, partner=partner)
            self._partner_key = await issue_api_key(self.db, partner_id=partner.id, now=now)
        return {"Authorization": f"Bearer {self._partner_key}"}

    async def file_renewal(
        self,
        *,
        number: str,
        valid_until: date,
        exporter: str,
        category: str = "food.dairy",
        product: str | None = "milk_powder",
        documents: Iterable[tuple[str, dict[str, Any]]] = FOOD_RENEWAL_DOCUMENTS,
    ) -> str:
        """A partner creates a renewal application and uploads its documents over HTTP."""
        renewal = {"registration_number": number, "registration_valid_until": valid_until}
        return await self.file_application(
            kind="renewal",
            exporter=exporter,
            category=category,
            product=product,
            documents=documents,
            **renewal,
        )

    async def file_application(
        self,
        *,
        exporter: str,
        category: str,
        product: str | None,
        documents: Iterable[tuple[str, dict[str, Any]]],
        kind: str = "new",
        **fields: Any,
    ) -> str:
        """A partner creates an application and uploads its documents over HTTP."""
        assert self.http is not None
        headers = await self._partner_headers()
        body = {
            "exporter": {
                "name": exporter,
                "country": "NO",
                "home_registration_number": f"NO-{self.tag}",
                "contact_emails": [self.contact],
            },
            "category": category,
            "product": product,
            "kind": kind,
            **{k: _json(v) for k, v in fields.items()},
        }
        created = await self.http.post("/v1/applications", json=body, headers=headers)
        assert created.status_code == 201, created.text
        application_id = str(created.json()["id"])
        for document_type, metadata in documents:
            uploaded = await self.http.post(
                f"/v1/applications/{application_id}/documents",
                files={
                    "file": (
                        f"{document_type}.pdf",
                        sample_pdf(f"{document_type} {uuid.uuid4()}"),
                        "application/pdf",
                    )
                },
                data={"document_type": document_type, "metadata": json.dumps(metadata)},
                headers=headers,
            )
            assert uploaded.status_code == 201, uploaded.text
        return application_id

    async def decide(self, application_id: str, kind: str, **fields: Any) -> dict[str, Any]:
        """Ops record the authority's decision over HTTP."""
        assert self.http is not None
        body = {"kind": kind, **{k: _json(v) for k, v in fields.items()}}
        response = await self.http.post(
            f"/v1/applications/{application_id}/decisions", json=body, headers=self._ops_headers()
        )
        assert response.status_code == 201, response.text
        return dict(response.json())

    async def application(self, application_id: str) -> dict[str, Any]:
        """The application as its partner sees it (``GET /v1/applications/{id}``)."""
        assert self.http is not None
        response = await self.http.get(
            f"/v1/applications/{application_id}", headers=await self._partner_headers()
        )
        assert response.status_code == 200, response.text
        return dict(response.json())

    async def registration(self, number: str) -> dict[str, Any]:
        found = await self.db["registrations"].find_one({"number": number})
        assert found is not None, f"no registration {number}"
        return dict(found)

    async def dead_letters(self) -> int:
        depth = await self._queue(DEAD_LETTER_QUEUE_NAME)
        return depth[0] if depth else 0


def _json(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date) else value
