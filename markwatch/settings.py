"""One typed settings object, read from ``MARKWATCH_*`` environment variables.

Defaults are the embedded ones: a SQLite store and a broker that needs no server, both under
``MARKWATCH_DATA_DIR``. Production sets ``MARKWATCH_DATABASE_URL`` (PostgreSQL) and
``MARKWATCH_BROKER_URL`` (Redis). Every field is documented in the README; a test keeps the two in
step.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# one entry of MARKWATCH_CRAWL_ALLOWED_PRIVATE_HOSTS: name, IPv4 or [IPv6], optional :port
_HOST_PORT = re.compile(r"^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+)(?::[0-9]{1,5})?$")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MARKWATCH_", extra="ignore", frozen=True)

    env: Literal["development", "test", "production"] = Field(
        "development", description="Deployment environment; production refuses embedded defaults."
    )
    data_dir: Path = Field(
        Path("var"), description="Directory for the embedded store, broker queue and crawl logs."
    )
    database_url: str = Field(
        "", description="SQLAlchemy URL of the store. Empty: SQLite file in the data directory."
    )
    evidence_dir: Path | None = Field(
        None, description="Directory for the WARC copies of every capture. Empty: "
        "<data dir>/evidence. Workers on several hosts use MARKWATCH_EVIDENCE_URL instead."
    )
    evidence_url: str = Field(
        "", description="Where evidence objects are kept: s3://bucket/prefix (any S3-compatible "
        "service; several hosts share it) or file:///path. Empty: the evidence directory."
    )
    s3_endpoint_url: str = Field(
        "", description="Endpoint of an S3-compatible service, e.g. http://minio:9000. Empty: AWS."
    )
    s3_access_key_id: str = Field(
        "", description="Access key for the S3 service. Empty: boto3's own chain (AWS_* "
        "variables, config files, instance role)."
    )
    s3_secret_access_key: SecretStr = Field(
        SecretStr(""), description="Secret key for the S3 service (with the access key)."
    )
    s3_region: str = Field("us-east-1", description="Region of the S3 bucket.")
    metrics_port: int = Field(
        0, ge=0, le=65535, description="Port of this process's Prometheus /metrics endpoint "
        "(workers, the web app). 0: no endpoint."
    )
    metrics_host: str = Field(
        "127.0.0.1", description="Address the Prometheus endpoint binds (0.0.0.0 in containers)."
    )
    evidence_signing_key: Path | None = Field(
        None, description="Ed25519 private key (PEM) that signs evidence checkpoints; created on "
        "first use. Keep it outside the database and its backups. Empty: "
        "<data dir>/keys/evidence-ed25519.pem."
    )
    evidence_checkpoint_log: Path | None = Field(
        None, description="Append-only log of signed evidence checkpoints. Empty: "
        "<evidence dir>/checkpoints.jsonl. Put it where the database's administrators cannot "
        "rewrite it."
    )
    evidence_checkpoint_interval: float = Field(
        3600.0, ge=10, description="Seconds between two evidence checkpoints (beat)."
    )
    broker_url: str = Field(
        "",
        description="Celery broker URL, e.g. redis://127.0.0.1:6379/0. Empty: a filesystem "
        "queue in the data directory (no server needed).",
    )
    worker_concurrency: int = Field(2, ge=1, le=64, description="Celery worker processes.")
    broker_key_prefix: str = Field(
        "", max_length=100, description="Prefix for every Redis key the broker uses, so several "
        "installations (or test runs) can share one Redis server."
    )
    broker_visibility_timeout: int = Field(
        3600, ge=5, description="Seconds after which Redis re-delivers a message whose worker "
        "never acknowledged it (a worker that died)."
    )
    task_time_limit: int = Field(
        1200, ge=5, description="Hard limit in seconds for one task (killed and re-queued); must "
        "exceed MARKWATCH_CRAWL_TIMEOUT by two minutes."
    )
    schedule_interval: float = Field(
        60.0, ge=1, le=3600, description="Seconds between two checks for due watches (beat)."
    )
    notice_sender: str = Field(
        "file", description="How notices are sent: file (written to <data dir>/outbox), console, "
        "webhook, or a sender a plug-in registered."
    )
    notice_webhook_url: str = Field(
        "", description="Where the webhook sender POSTs notices (with an Idempotency-Key header)."
    )
    notice_max_attempts: int = Field(
        5, ge=1, le=50, description="Attempts to deliver one notice, all under its one "
        "idempotency key, before it is left for a person to reconcile."
    )
    notice_lease: float = Field(
        120.0, ge=1, description="Seconds a worker holds a notice it is sending; after that a "
        "notice still marked sending (its worker died) is tried again under the same key."
    )
    sweep_after: float = Field(
        600.0, ge=1, description="Seconds after which queued crawls and unmatched listings whose "
        "messages never arrived are sent again (beat's safety net for a broker that lost them)."
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        "INFO", description="Log level for the CLI, workers and crawls."
    )

    # web app
    web_max_body: int = Field(
        1024 * 1024, ge=1024, description="Largest request body (bytes) the web app reads; a "
        "larger one is refused with 413 before it is read, and before authentication."
    )
    web_max_upload: int = Field(
        11 * 1024 * 1024, ge=1024, description="Largest multipart upload (bytes): registry CSV "
        "imports and rights documents (each file at most 10 MB)."
    )

    login_free_attempts: int = Field(
        5, ge=1, le=100, description="Failed sign-ins to one account before it is locked; each "
        "further failure doubles the lock (MARKWATCH_LOGIN_LOCKOUT_BASE, ..._MAX)."
    )
    login_address_free_attempts: int = Field(
        30, ge=1, le=10_000, description="Failed sign-ins from one client address (any accounts) "
        "before the address is locked the same way."
    )
    login_lockout_base: float = Field(
        1.0, gt=0, le=3600, description="Seconds of the first sign-in lock, doubled by each "
        "further failure."
    )
    login_lockout_max: float = Field(
        900.0, gt=0, le=86_400, description="Longest sign-in lock, seconds."
    )

    # crawling
    crawl_delay: float = Field(
        2.0, ge=0, description="Seconds between two requests to the same marketplace host."
    )
    crawl_concurrency_per_host: int = Field(
        1, ge=1, le=16, description="Requests in flight per marketplace host."
    )
    crawl_max_pages: int = Field(
        20, ge=1, le=1000, description="Search result pages followed per search term."
    )
    crawl_images_per_listing: int = Field(
        4, ge=0, le=20, description="Photos fetched per listing (through the SSRF guard, at the "
        "same politeness as pages) and kept with the evidence; 0 keeps image URLs only."
    )
    networks_interval: float = Field(
        3600.0, ge=60, description="Seconds between two recomputations of the seller networks "
        "(beat)."
    )
    ocr_enabled: bool = Field(
        True, description="Read text in listing photos (Tesseract) when matching, and match it "
        "as the listing's text (reasons say \"in image N\")."
    )
    ocr_languages: str = Field(
        "eng+chi_sim", pattern=r"^[a-z_]{3,12}(\+[a-z_]{3,12}){0,5}$",
        description="Tesseract languages (Debian packages tesseract-ocr-<lang>)."
    )
    ocr_timeout: float = Field(
        5.0, gt=0, le=120, description="Seconds Tesseract may spend on one photo; a slower read "
        "is given up and recorded as such."
    )
    crawl_timeout: int = Field(
        900, ge=10, description="Seconds a single crawl of one watch may run before it is stopped."
    )
    crawl_user_agent: str = Field(
        "markwatch/0.1 (brand-protection monitor)",
        description="User-Agent sent to marketplaces (add your contact address); robots.txt "
        "rules for it are obeyed.",
    )
    crawl_loopback_unthrottled: bool = Field(
        False,
        description="Lift the politeness delay and AutoThrottle for a marketplace on 127.0.0.0/8 "
        "that MARKWATCH_CRAWL_ALLOWED_PRIVATE_HOSTS lets through (the bundled test "
        "marketplaces). Never set this against real marketplaces.",
    )
    crawl_allowed_private_hosts: str = Field(
        "",
        description="Comma-separated host:port pairs (or a bare host for every port) the "
        "crawler's SSRF guard lets through although they are loopback or private addresses: the "
        "bundled test marketplaces. Everything else private, loopback, link-local or "
        "cloud-metadata is refused.",
    )
    crawl_browser: Path = Field(
        Path("/usr/bin/chromium"),
        description="The chromium that renders marketplaces whose profile says render = "
        "\"browser\" (Debian's; no browser is ever downloaded).",
    )
    crawl_browser_timeout: float = Field(
        30.0, gt=0, le=600,
        description="Seconds a page run in the browser may take to load and settle (the "
        "search pages of a render = \"browser\" profile, in a crawl and in probe).",
    )
    crawl_lost_after: float = Field(
        120.0, ge=10, le=86400,
        description="Seconds without a heartbeat after which a running crawl counts as lost "
        "(its host died) and is handed to another crawler worker.",
    )
    crawl_retry_after_max: float = Field(
        60.0, ge=0, le=3600,
        description="Longest Retry-After (seconds) a 429 or 503 may pause a host for; longer "
        "ones are capped.",
    )

    # matching
    # scores are calibrated: the estimated chance, in percent, that a reviewer confirms the alert
    tier_high: int = Field(90, ge=1, le=100, description="Score from which a match is tier high.")
    tier_medium: int = Field(70, ge=1, le=100, description="Score from which a match is medium.")
    tier_low: int = Field(
        50, ge=1, le=100, description="Lowest score that alerts; lower findings are dropped."
    )

    # the web app
    web_port: int = Field(
        8000, ge=1, le=65535,
        description="Port of the web app (`markwatch serve`, `make demo`); --port overrides it.")

    # bundled test marketplaces
    marketplaces_host: str = Field("127.0.0.1", description="Host the test marketplaces bind.")
    marketplaces_port: int = Field(
        8301, ge=1024, le=65000, description="First port of the test marketplaces (one per shop)."
    )
    marketplaces_seed: int = Field(20261124, description="Seed the test listings are made from.")
    marketplaces_listings: int = Field(
        2400, ge=100, le=200_000, description="Listings the test marketplaces generate."
    )
    marketplaces_sea_listings: int = Field(
        800, ge=0, le=200_000,
        description="Listings of the South-East Asian test marketplace, served on the first port "
        "+ 3 (0: not served; else at least 100).",
    )
    fx_rates_file: Path | None = Field(
        None, description="Exchange rates for the price check (JSON, see markwatch/fx.py); "
        "default: <data dir>/fx_rates.json if present, else the bundled file.",
    )

    @field_validator("marketplaces_sea_listings")
    @classmethod
    def _sea_listings(cls, v: int) -> int:
        if 0 < v < 100:
            raise ValueError("0 (not served) or at least 100")
        return v

    @field_validator("data_dir")
    @classmethod
    def _absolute(cls, v: Path) -> Path:
        return v.expanduser().resolve()

    @field_validator("crawl_allowed_private_hosts")
    @classmethod
    def _host_ports(cls, v: str) -> str:
        entries = [e.strip() for e in v.split(",") if e.strip()]
        for e in entries:
            if not _HOST_PORT.match(e):
                raise ValueError(f"{e!r} is not host:port (or host)")
        return ",".join(entries)

    @model_validator(mode="after")
    def _check(self) -> Settings:
        if not (self.tier_low <= self.tier_medium <= self.tier_high):
            raise ValueError(
                "tier thresholds must satisfy MARKWATCH_TIER_LOW <= MARKWATCH_TIER_MEDIUM "
                "<= MARKWATCH_TIER_HIGH"
            )
        if self.task_time_limit < self.crawl_timeout + 120:
            raise ValueError(
                "MARKWATCH_TASK_TIME_LIMIT must exceed MARKWATCH_CRAWL_TIMEOUT by 120 s"
            )
        if self.evidence_url and self.evidence_dir is not None:
            raise ValueError("set MARKWATCH_EVIDENCE_URL or MARKWATCH_EVIDENCE_DIR, not both")
        if self.evidence_url and not self.evidence_url.startswith(("s3://", "file:///")):
            raise ValueError("MARKWATCH_EVIDENCE_URL must be s3://bucket/prefix or file:///path")
        if self.env == "production":
            if self.effective_database_url.startswith("sqlite"):
                raise ValueError("production needs MARKWATCH_DATABASE_URL (PostgreSQL)")
            if self.effective_broker_url.startswith("filesystem"):
                raise ValueError("production needs MARKWATCH_BROKER_URL (Redis)")
            if self.crawl_loopback_unthrottled:
                raise ValueError("MARKWATCH_CRAWL_LOOPBACK_UNTHROTTLED is for tests and demos only")
        return self

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / 'markwatch.db'}"

    @property
    def effective_evidence_dir(self) -> Path:
        return (self.evidence_dir or self.data_dir / "evidence").expanduser().resolve()

    @property
    def effective_signing_key(self) -> Path:
        return (self.evidence_signing_key or self.data_dir / "keys" / "evidence-ed25519.pem"
                ).expanduser().resolve()

    @property
    def effective_checkpoint_log(self) -> Path:
        return (self.evidence_checkpoint_log or self.effective_evidence_dir / "checkpoints.jsonl"
                ).expanduser().resolve()

    @property
    def effective_evidence_url(self) -> str:
        return self.evidence_url or self.effective_evidence_dir.as_uri()

    def evidence_store_options(self) -> dict[str, str]:
        """The arguments of ``storage.open_store`` for the evidence store."""
        return {
            "url": self.effective_evidence_url,
            "endpoint_url": self.s3_endpoint_url,
            "access_key_id": self.s3_access_key_id,
            "secret_access_key": self.s3_secret_access_key.get_secret_value(),
            "region": self.s3_region,
        }

    def crawl_log_path(self, run_id: int) -> Path:
        """Where crawl run ``run_id``'s Scrapy log is kept: ``<data dir>/crawls/<run id>.log``."""
        return self.data_dir / "crawls" / f"{run_id}.log"

    @property
    def effective_broker_url(self) -> str:
        # the filesystem transport has no host; naming one keeps kombu from warning about it
        return self.broker_url or "filesystem://localhost//"

    @property
    def broker_folder(self) -> Path:
        return self.data_dir / "broker"

    @property
    def uses_embedded_broker(self) -> bool:
        return self.effective_broker_url.startswith("filesystem")


@functools.cache
def get_settings() -> Settings:
    """The process's settings, read once. Tests call ``get_settings.cache_clear()``."""
    return Settings()
