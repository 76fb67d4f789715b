"""The platform's technical settings, read from environment variables (prefix ``KOEPON_``).

Each service declares its own business settings next to its code (``payment/settings.py``,
``auth/settings.py``) with the same prefix; ``koepon settings`` lists them all.
Leaving everything unset gives the embedded default: every service in one process, one SQLite
file per service under ``./data/``, an in-process bus, in-memory cache and rate limits.
Setting the URLs below switches to PostgreSQL / Redis / RabbitMQ without touching code.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any, Literal, TypeVar

from pydantic import Field, PrivateAttr, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

SERVICES: tuple[str, ...] = ("auth", "payment", "gacha", "rewards", "vtuber")
LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]
LOG_LEVEL_ALIASES = {"WARN": "WARNING", "FATAL": "CRITICAL"}
ServiceSettingsT = TypeVar("ServiceSettingsT", bound=BaseSettings)


class SettingsError(ValueError):
    """A setting has a value the platform cannot start with; the message is one line naming
    the environment variable(s), fit to print instead of a traceback."""


class Settings(BaseSettings):
    """Platform settings. Each field documents its environment variable."""

    model_config = SettingsConfigDict(env_prefix="KOEPON_", extra="ignore")
    # Values the composition root (or a test) gives a service's own settings instead of the
    # environment's, by service name; private so no environment variable can set it.
    _service_overrides: dict[str, dict[str, Any]] = PrivateAttr(default_factory=dict)

    environment: Literal["development", "test", "production"] = Field(
        "development", description="KOEPON_ENVIRONMENT: production refuses demo data and dev keys"
    )
    data_dir: Path = Field(
        Path("data"), description="KOEPON_DATA_DIR: SQLite files, dev keys, dev mailbox, files"
    )
    database_url: str | None = Field(
        None,
        description="KOEPON_DATABASE_URL: postgresql+asyncpg://… ; each service gets its own "
        "schema. Unset: one SQLite file per service under data_dir",
    )
    database_replica_url: str | None = Field(
        None,
        description="KOEPON_DATABASE_REPLICA_URL: postgresql+asyncpg://… of a hot standby of "
        "KOEPON_DATABASE_URL; the public catalogue, the VTuber directory and fans' draw and "
        "wallet history lists are read there (they may lag by the replica's delay), everything "
        "else on the primary. Unset (or embedded): every read on the primary",
    )
    redis_url: str | None = Field(
        None, description="KOEPON_REDIS_URL: redis://… for sessions, cache, rate limits"
    )
    redis_max_connections: int = Field(
        64,
        ge=1,
        description="KOEPON_REDIS_MAX_CONNECTIONS: Redis connections per process; a burst "
        "beyond them waits for a free one (up to redis_pool_timeout_seconds)",
    )
    redis_pool_timeout_seconds: float = Field(
        5.0, gt=0, description="KOEPON_REDIS_POOL_TIMEOUT_SECONDS: longest wait for a connection"
    )
    redis_socket_timeout_seconds: float = Field(
        5.0, gt=0, description="KOEPON_REDIS_SOCKET_TIMEOUT_SECONDS: longest wait for an answer"
    )
    amqp_url: str | None = Field(
        None, description="KOEPON_AMQP_URL: amqp://… RabbitMQ for events. Unset: in-process bus"
    )
    amqp_exchange: str = Field("koepon.events", description="KOEPON_AMQP_EXCHANGE: topic exchange")
    s3_bucket: str | None = Field(
        None,
        description="KOEPON_S3_BUCKET: the private bucket for content files (S3 or Cloudflare "
        "R2). Unset: files on local disk under data_dir/objects",
    )
    s3_endpoint_url: str | None = Field(
        None,
        description="KOEPON_S3_ENDPOINT_URL: the S3 API endpoint; unset for AWS S3, "
        "https://<account>.r2.cloudflarestorage.com for R2, any S3-compatible server",
    )
    s3_region: str = Field(
        "auto", description="KOEPON_S3_REGION: the bucket's region (R2: auto; AWS: ap-northeast-1…)"
    )
    s3_access_key_id: SecretStr | None = Field(
        None, description="KOEPON_S3_ACCESS_KEY_ID: the access key (least privilege: this bucket)"
    )
    s3_secret_access_key: SecretStr | None = Field(
        None, description="KOEPON_S3_SECRET_ACCESS_KEY: its secret"
    )
    s3_prefix: str = Field(
        "", description="KOEPON_S3_PREFIX: a key prefix inside the bucket (shared buckets, tests)"
    )
    public_url: str = Field(
        "http://127.0.0.1:8000", description="KOEPON_PUBLIC_URL: where browsers reach the gateway"
    )
    service_urls: dict[str, str] = Field(
        default_factory=dict,
        description='KOEPON_SERVICE_URLS: JSON {"auth": "http://127.0.0.1:8101", …}; a service '
        "listed here is reached over HTTP, others in-process",
    )
    internal_token: SecretStr | None = Field(
        None,
        description="KOEPON_INTERNAL_TOKEN: shared secret for service-to-service HTTP calls "
        "(required when any service_urls are set)",
    )
    jwt_private_key: SecretStr | None = Field(
        None,
        description="KOEPON_JWT_PRIVATE_KEY: Ed25519 private key (PEM) of the auth service. "
        "Unset outside production: generated once under data_dir/keys",
    )
    jwt_issuer: str = Field("koepon-auth", description="KOEPON_JWT_ISSUER")
    jwt_audience: str = Field("koepon", description="KOEPON_JWT_AUDIENCE")
    jwks_refresh_seconds: int = Field(
        300,
        ge=1,
        description="KOEPON_JWKS_REFRESH_SECONDS: how often verifiers refetch the auth service's "
        "signing keys; the last good keys stay in use while a refetch fails",
    )
    rate_limit_per_ip: str = Field(
        "600/minute", description="KOEPON_RATE_LIMIT_PER_IP (limits syntax)"
    )
    rate_limit_per_user: str = Field(
        "300/minute", description="KOEPON_RATE_LIMIT_PER_USER (limits syntax)"
    )
    max_body_bytes: int = Field(
        1_048_576, description="KOEPON_MAX_BODY_BYTES: JSON bodies above this get 413"
    )
    max_upload_bytes: int = Field(
        50 * 1_048_576 + 65_536,
        description="KOEPON_MAX_UPLOAD_BYTES: content upload bodies (multipart) above this get "
        "413 at the edge; keep it at KOEPON_MAX_DIRECT_UPLOAD_BYTES + 64 KiB (larger files go "
        "straight to storage through a presigned upload)",
    )
    gateway_upstream_timeout_seconds: float = Field(
        15.0,
        gt=0,
        description="KOEPON_GATEWAY_UPSTREAM_TIMEOUT_SECONDS: longest wait for a service's answer "
        "at the gateway, unless gateway_upstream_timeouts names that service",
    )
    gateway_upstream_timeouts: dict[str, float] = Field(
        default_factory=dict,
        description='KOEPON_GATEWAY_UPSTREAM_TIMEOUTS: JSON {"payment": 20, …}: a timeout fitted '
        "to each service's work",
    )
    gateway_upstream_max_concurrent: int = Field(
        200,
        ge=1,
        description="KOEPON_GATEWAY_UPSTREAM_MAX_CONCURRENT: requests in flight to one service "
        "(its bulkhead), as many again may queue; beyond them the gateway answers 503 at once, "
        "so one slow service cannot take the gateway's capacity from the others",
    )
    gateway_upstream_queue_seconds: float = Field(
        1.0,
        ge=0,
        description="KOEPON_GATEWAY_UPSTREAM_QUEUE_SECONDS: longest wait for a free slot of a "
        "service's bulkhead before the gateway answers 503",
    )
    gateway_breaker_failures: int = Field(
        5,
        ge=1,
        description="KOEPON_GATEWAY_BREAKER_FAILURES: consecutive failures (unreachable, timed "
        "out) after which the gateway stops calling a service for a while",
    )
    gateway_breaker_reset_seconds: float = Field(
        2.0,
        gt=0,
        description="KOEPON_GATEWAY_BREAKER_RESET_SECONDS: how long a tripped service is left "
        "alone before the gateway asks its /readyz again (a restarted service is back this "
        "long after it is ready, at most)",
    )
    gateway_checks_sessions: bool = Field(
        True,
        description="KOEPON_GATEWAY_CHECKS_SESSIONS: the gateway refuses access tokens of "
        "signed-out sessions (needs the cache shared with the auth service)",
    )
    response_cache_seconds: int = Field(
        10, description="KOEPON_RESPONSE_CACHE_SECONDS: how long the gateway caches public GETs"
    )
    cors_origins: list[str] = Field(
        default_factory=list, description="KOEPON_CORS_ORIGINS: JSON list of allowed origins"
    )
    smtp_url: str | None = Field(
        None, description="KOEPON_SMTP_URL: smtp://user:pass@host:port ; unset: dev mailbox"
    )
    mail_from: str = Field("no-reply@koepon.jp", description="KOEPON_MAIL_FROM")
    log_level: LogLevel = Field(
        "INFO", description="KOEPON_LOG_LEVEL: DEBUG, INFO, WARNING, ERROR or CRITICAL (any case)"
    )
    log_format: Literal["auto", "console", "json"] = Field(
        "auto",
        description='KOEPON_LOG_FORMAT: "console" (readable lines), "json" (one object a line) or '
        '"auto": readable on a terminal, JSON otherwise',
    )
    otel_exporter_otlp_endpoint: str | None = Field(
        None,
        description="KOEPON_OTEL_EXPORTER_OTLP_ENDPOINT: OTLP/HTTP collector (http://otel:4318) "
        "to send traces to; the standard OTEL_EXPORTER_OTLP_[TRACES_]ENDPOINT work too. Unset: "
        "no tracing",
    )
    otel_traces_sample_rate: float = Field(
        1.0,
        ge=0,
        le=1,
        description="KOEPON_OTEL_TRACES_SAMPLE_RATE: share of new traces kept (a caller's "
        "decision is followed)",
    )
    sentry_dsn: SecretStr | None = Field(
        None, description="KOEPON_SENTRY_DSN: report errors to Sentry. Unset: no Sentry"
    )
    sentry_traces_sample_rate: float = Field(
        0.0,
        ge=0,
        le=1,
        description="KOEPON_SENTRY_TRACES_SAMPLE_RATE: share of requests Sentry also traces",
    )
    release: str | None = Field(
        None, description="KOEPON_RELEASE: the deployed version (image tag), told to Sentry"
    )
    relay_poll_seconds: float = Field(
        0.5, description="KOEPON_RELAY_POLL_SECONDS: outbox relay poll interval"
    )
    idempotency_keep_hours: int = Field(
        24, description="KOEPON_IDEMPOTENCY_KEEP_HOURS: how long Idempotency-Key results are kept"
    )
    idempotency_lock_seconds: int = Field(
        15,
        ge=3,
        description="KOEPON_IDEMPOTENCY_LOCK_SECONDS: a claimed key stays in flight this long "
        "after its claimant was last seen alive (the claimant renews it while it works)",
    )
    issuer_name: str = Field(
        "株式会社こえポン", description="KOEPON_ISSUER_NAME: issuer of 推しメダル (COMPLIANCE M4)"
    )
    support_contact: str = Field(
        "support@koepon.jp", description="KOEPON_SUPPORT_CONTACT: complaints and enquiries (M4)"
    )

    @field_validator("log_level", mode="before")
    @classmethod
    def _log_level_any_case(cls, value: object) -> object:
        # KOEPON_LOG_LEVEL=warning is as valid as WARNING (logging's names are upper case).
        if isinstance(value, str):
            upper = value.strip().upper()
            return LOG_LEVEL_ALIASES.get(upper, upper)
        return value

    def with_service_settings(self, service: str, **values: object) -> Settings:
        """A copy whose ``service`` settings take ``values`` over the environment's."""
        copy = self.model_copy()
        merged = {**self._service_overrides.get(service, {}), **values}
        copy._service_overrides = {**self._service_overrides, service: merged}
        return copy

    def service_overrides(self, service: str) -> dict[str, Any]:
        """The values given to ``service``'s own settings over the environment's."""
        return dict(self._service_overrides.get(service, {}))

    @property
    def embedded(self) -> bool:
        return self.database_url is None

    def database_url_for(self, service: str) -> tuple[str, str | None]:
        """The URL and schema of one service's own database."""
        if self.database_url:
            return self.database_url, service
        self.data_dir.mkdir(parents=True, exist_ok=True)
        return f"sqlite+aiosqlite:///{(self.data_dir / f'{service}.db').resolve()}", None


def bad_variables(error: ValidationError, prefix: str = "KOEPON_") -> list[str]:
    """Each bad variable named, with what is wrong with it."""
    problems = []
    for item in error.errors():
        name = prefix + "_".join(str(part) for part in item["loc"][:1]).upper()
        problems.append(f"{name}: {item['msg']}")
    return problems


def describe_error(error: ValidationError, prefix: str = "KOEPON_") -> str:
    """One line naming each bad variable and what is wrong with it."""
    return "Invalid settings: " + "; ".join(bad_variables(error, prefix))


def load_service_settings(
    cls: type[ServiceSettingsT], settings: Settings, service: str
) -> ServiceSettingsT:
    """A service's own settings: the environment, under the values the platform's settings
    give that service; ``SettingsError`` (one clear line) when invalid."""
    try:
        return cls(**settings.service_overrides(service))
    except ValidationError as exc:
        raise SettingsError(describe_error(exc)) from None


def load_settings() -> Settings:
    """The settings from the environment; ``SettingsError`` (one clear line) when invalid."""
    try:
        return Settings()
    except ValidationError as exc:
        raise SettingsError(describe_error(exc)) from None


@lru_cache
def get_settings() -> Settings:
    return load_settings()
