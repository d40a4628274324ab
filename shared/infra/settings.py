"""Configuration of every regwatch service, read from the environment."""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from typing import Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """One settings object for all services; defaults work on a developer machine.

    Environment variables use the field names in upper case (``AMQP_URL``, ``MONGODB_URL``...).
    """

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", populate_by_name=True)

    # One broker address, or several separated by commas (the nodes of a cluster, also
    # accepted as AMQP_URLS): a service connects to the first that answers and fails over to
    # the next when its node goes away. ``amqp_url`` is then the first, for vhost and user.
    amqp_url: str = "amqp://guest:guest@127.0.0.1:5672/"
    amqp_urls: str = ""
    rabbitmq_management_url: str = "http://127.0.0.1:15672"
    rabbitmq_management_user: str = "guest"
    rabbitmq_management_password: str = "guest"

    mongodb_url: str = "mongodb://127.0.0.1:27017/?retryWrites=false&directConnection=true"
    mongodb_db: str = "regwatch"
    mongodb_timeout_ms: int = 5000

    smtp_host: str = "127.0.0.1"
    smtp_port: int = 1025
    smtp_user: str | None = None
    smtp_password: str | None = None
    smtp_tls: Literal["none", "starttls", "tls"] = "none"
    mail_from: str = "regwatch <noreply@regwatch.local>"
    ops_email: str = "ops@regwatch.local"

    intake_http_port: int = 8000
    dashboard_port: int = 8001
    http_host: str = "127.0.0.1"
    # The intake HTTP API as exporters' contacts reach it: their calendar links start so.
    public_base_url: str = "http://127.0.0.1:8000"

    regwatch_ops_token: str = Field(default="change-me-ops-token", alias="REGWATCH_OPS_TOKEN")
    regwatch_now: datetime | None = Field(default=None, alias="REGWATCH_NOW")

    max_document_bytes: int = 25 * 1024 * 1024
    # Intake: images above this many pixels are refused (decompression-bomb guard); GridFS
    # files without a document record after the grace period are swept as orphans.
    max_image_pixels: int = 60_000_000
    orphan_grace_seconds: float = 600.0
    orphan_sweep_seconds: float = 300.0
    # Intake: how long a partner's RabbitMQ user, API key and application ownership are
    # remembered (a revoked partner or key is refused at most this long after; 0 = every time).
    intake_lookup_cache_seconds: float = 5.0
    delivery_limit: int = 5
    # Each partner's events queue keeps at most this many events; beyond, the oldest go to
    # the dead-letter queue (a broker policy set at each start: reaches existing queues).
    partner_events_max_length: int = 10_000
    prefetch_count: int = 32
    outbox_poll_seconds: float = 1.0
    outbox_lease_seconds: float = 30.0
    # A published event is marked sent with the process's next write, or this long after
    # (at most a tenth of the lease).
    outbox_mark_seconds: float = Field(default=1.0, gt=0)
    scheduler_tick_seconds: float = 30.0
    # Scheduler: a claimed reminder is another replica's to take once its lease has ended.
    scheduler_lease_seconds: float = 60.0
    scheduler_concurrency: int = 2  # workers per replica, each settling a batch at a time
    # Reminders claimed at once (one claim, one transaction, their events staged together).
    scheduler_batch_size: int = Field(default=100, ge=1, le=1000)
    # A claim gives up after this long (a replica killed mid-transaction holds its writes
    # until the server aborts it) and keeps what it claimed; the rest waits for a later tick.
    scheduler_claim_timeout_seconds: float = Field(default=5.0, gt=0)
    scheduler_sweep_hour: int = 2  # daily sweep (processing watch), hour of day in UTC
    processing_days: int = 30  # seed 001: "application time 10-30 days"
    # Reminders fire at this time of day in Beijing (the authority's time zone), HH:MM.
    reminder_local_time: str = Field(default="09:00", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    # Notifier: SMTP attempts per message before it is dead-lettered, with doubling waits.
    smtp_timeout_seconds: float = 10.0
    smtp_retry_attempts: int = 5
    smtp_retry_base_seconds: float = 2.0
    smtp_retry_max_seconds: float = 60.0
    # Reader: reads each document's text (OCR for scans) into facts for the content rules.
    # Off: the validator checks metadata only and never waits for facts.
    reader_enabled: bool = True
    reader_prefetch: int = 2  # documents taken from the queue at a time (reading is CPU work)
    reader_concurrency: int = 1  # documents read at the same time per reader process
    reader_page_cap: int = 10  # pages read per document; beyond, the facts say so
    reader_time_limit_seconds: float = 60.0  # reading time per document; beyond, the same
    reader_text_cap: int = 20_000  # characters of text kept per document
    reader_ocr_languages: str = "eng+chi_sim"  # Tesseract models used for scans and images
    # Webhooks: http:// to loopback allowed (make run, the tests; never in production);
    # retries double from the base up to the max, with jitter, for the retry period; an
    # endpoint is disabled after so many consecutive failed attempts.
    webhook_allow_loopback: bool = False
    webhook_retry_hours: float = 24.0
    webhook_retry_base_seconds: float = 30.0
    webhook_retry_max_seconds: float = 3600.0
    webhook_disable_after_failures: int = 20
    webhook_connect_timeout_seconds: float = 5.0
    webhook_read_timeout_seconds: float = 10.0
    webhook_concurrency: int = 16  # requests in flight per replica, at most one per endpoint
    webhook_poll_seconds: float = 1.0
    webhook_lease_seconds: float = 120.0
    # Signing secrets are stored encrypted with the first of these Fernet keys (comma-
    # separated; the others still decrypt); empty: a key derived from REGWATCH_OPS_TOKEN.
    webhook_secret_keys: str = ""
    # After a secret is rotated, deliveries carry signatures with the old one too this long.
    webhook_secret_grace_hours: float = 24.0
    log_level: str = "INFO"
    # "json": one JSON object a line (for log shippers); "text": a line a person reads (make run).
    log_format: Literal["json", "text"] = "json"
    # The broker's "Received" / "Processed" line for every message: below INFO unless asked.
    message_log_level: str = "DEBUG"
    run_dir: str = ".run"
    # The requirements catalog directory; unset: the catalog/ shipped beside the code.
    catalog_dir: str | None = None

    # Dashboard: ops users as "name:scrypt$..." separated by commas (besides the ops token);
    # the session cookie is signed with dashboard_session_secret (derived from the token if empty).
    dashboard_users: str = ""
    dashboard_session_secret: str = ""
    # The session cookie's Secure flag; unset: Secure unless the dashboard is on loopback.
    dashboard_secure_cookie: bool | None = None
    # The dashboard's /docs and /openapi.json: behind log-in, open to anyone, or not served.
    dashboard_docs: Literal["login", "open", "off"] = "login"
    # Prometheus exporter of a process without HTTP (0 = off); HTTP services serve /metrics.
    metrics_port: int = 0
    # /metrics of the HTTP services: for ops only (ops token, or a dashboard session), open
    # to anyone, or off (then scrape METRICS_PORT, a listener of its own).
    metrics_access: Literal["login", "open", "off"] = "login"
    # Count MongoDB commands per process (regwatch_mongodb_commands_total in /metrics): the
    # benchmark's round trips per document. Off by default: a listener on every command.
    mongodb_command_counting: bool = False

    @model_validator(mode="after")
    def _split_broker_addresses(self) -> Settings:
        listed = self.amqp_urls or self.amqp_url  # AMQP_URLS wins over AMQP_URL
        urls = list(dict.fromkeys(u.strip() for u in listed.split(",") if u.strip()))
        if len(urls) > 1 or self.amqp_urls:
            self.amqp_urls = ",".join(urls)
            self.amqp_url = urls[0]
        return self

    @property
    def broker_urls(self) -> list[str]:
        """Every broker address, in the order a service tries them."""
        return self.amqp_urls.split(",") if self.amqp_urls else [self.amqp_url]

    @field_validator("regwatch_now")
    @classmethod
    def _now_is_aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("REGWATCH_NOW must carry a time zone, e.g. 2030-01-01T00:00:00Z")
        return value


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings()
