"""Every setting of the platform, read from environment variables (prefix ``KOEPON_``).

Leaving everything unset gives the embedded default: every service in one process, one SQLite
file per service under ``./data/``, an in-process bus, in-memory cache and rate limits.
Setting the URLs below switches to PostgreSQL / Redis / RabbitMQ without touching code.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

SERVICES: tuple[str, ...] = ("auth", "payment")
LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]
LOG_LEVEL_ALIASES = {"WARN": "WARNING", "FATAL": "CRITICAL"}


class SettingsError(ValueError):
    """A setting has a value the platform cannot start with; the message is one line naming
    the environment variable(s), fit to print instead of a traceback."""


class Settings(BaseSettings):
    """Platform settings. Each field documents its environment variable."""

    model_config = SettingsConfigDict(env_prefix="KOEPON_", extra="ignore")

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
    access_token_seconds: int = Field(900, description="KOEPON_ACCESS_TOKEN_SECONDS (15 min)")
    refresh_token_days: int = Field(30, description="KOEPON_REFRESH_TOKEN_DAYS")
    login_attempts_per_window: int = Field(
        20, description="KOEPON_LOGIN_ATTEMPTS_PER_WINDOW: failed logins per email per window"
    )
    login_window_seconds: int = Field(900, description="KOEPON_LOGIN_WINDOW_SECONDS")
    login_attempts_per_ip_window: int = Field(
        100,
        description="KOEPON_LOGIN_ATTEMPTS_PER_IP_WINDOW: failed logins per client IP per window "
        "(higher than per email: many people can share one address)",
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
    relay_poll_seconds: float = Field(
        0.5, description="KOEPON_RELAY_POLL_SECONDS: outbox relay poll interval"
    )
    # --- 推しメダル ledger and wallets (payment service; COMPLIANCE M1–M3) ---
    spend_free_first: bool = Field(
        True, description="KOEPON_SPEND_FREE_FIRST: spend free medals before paid ones (M1)"
    )
    paid_medal_validity_days: int = Field(
        180, description="KOEPON_PAID_MEDAL_VALIDITY_DAYS: validity of a paid lot (M2)"
    )
    free_medal_validity_days: int = Field(
        90, description="KOEPON_FREE_MEDAL_VALIDITY_DAYS: validity of a free lot (M2)"
    )
    medal_expiry_notice_days: int = Field(
        7, description="KOEPON_MEDAL_EXPIRY_NOTICE_DAYS: fans are told this long before expiry"
    )
    wallet_sweep_seconds: float = Field(
        30.0,
        description="KOEPON_WALLET_SWEEP_SECONDS: how often expired holds are voided, expired "
        "lots written off and expiry notices sent",
    )
    prepaid_threshold_jpy: int = Field(
        10_000_000,
        description="KOEPON_PREPAID_THRESHOLD_JPY: base-date unused balance above which the "
        "deposit and filing obligations apply (M3)",
    )
    prepaid_alert_jpy: int = Field(
        7_000_000, description="KOEPON_PREPAID_ALERT_JPY: operators are alerted from here (M3)"
    )
    # --- medal purchases (payment service: checkouts, providers, webhooks, caps) ---
    payment_providers: list[str] = Field(
        default_factory=lambda: ["sandbox"],
        description='KOEPON_PAYMENT_PROVIDERS: JSON list of enabled providers, from "sandbox", '
        '"stripe", "komoju"',
    )
    stripe_secret_key: SecretStr | None = Field(
        None, description="KOEPON_STRIPE_SECRET_KEY: sk_… (required when stripe is enabled)"
    )
    stripe_webhook_secret: SecretStr | None = Field(
        None, description="KOEPON_STRIPE_WEBHOOK_SECRET: whsec_… of the webhook endpoint"
    )
    komoju_secret_key: SecretStr | None = Field(
        None, description="KOEPON_KOMOJU_SECRET_KEY: sk_… (required when komoju is enabled)"
    )
    komoju_webhook_secret: SecretStr | None = Field(
        None, description="KOEPON_KOMOJU_WEBHOOK_SECRET: secret token of the KOMOJU webhook"
    )
    komoju_api_base: str = Field(
        "https://komoju.com", description="KOEPON_KOMOJU_API_BASE: KOMOJU REST API origin"
    )
    sandbox_webhook_secret: SecretStr | None = Field(
        None,
        description="KOEPON_SANDBOX_WEBHOOK_SECRET: HMAC key of the sandbox provider's webhooks. "
        "Unset outside production: generated once under data_dir/keys",
    )
    sandbox_webhook_url: str | None = Field(
        None,
        description="KOEPON_SANDBOX_WEBHOOK_URL: where the sandbox provider posts its webhooks. "
        "Unset: public_url + /api/v1/webhooks/sandbox",
    )
    sandbox_webhook_transport: Literal["http", "asgi"] = Field(
        "http",
        description='KOEPON_SANDBOX_WEBHOOK_TRANSPORT: "http" posts over the network; "asgi" '
        "posts into the payment service's own webhook route in-process (no socket)",
    )
    sandbox_webhook_retry_first_seconds: float = Field(
        1.0,
        gt=0,
        description="KOEPON_SANDBOX_WEBHOOK_RETRY_FIRST_SECONDS: the sandbox's wait after a "
        "webhook's first failed delivery; each further failure doubles it",
    )
    sandbox_webhook_retry_max_seconds: float = Field(
        3600.0,
        gt=0,
        description="KOEPON_SANDBOX_WEBHOOK_RETRY_MAX_SECONDS: longest wait between two "
        "deliveries of one sandbox webhook",
    )
    sandbox_webhook_max_attempts: int = Field(
        30,
        ge=1,
        description="KOEPON_SANDBOX_WEBHOOK_MAX_ATTEMPTS: deliveries of one sandbox webhook "
        "before the sandbox gives up (the recovery job still asks about the payment)",
    )
    payment_recovery_quiet_minutes: float = Field(
        5.0,
        gt=0,
        description="KOEPON_PAYMENT_RECOVERY_QUIET_MINUTES: an unsettled checkout is asked about "
        "at its provider once it has been quiet this long (its webhook would have come)",
    )
    payment_recovery_every_seconds: float = Field(
        60.0,
        gt=0,
        description="KOEPON_PAYMENT_RECOVERY_EVERY_SECONDS: how often the lost-webhook recovery "
        "job runs",
    )
    provider_timeout_seconds: float = Field(
        10.0, description="KOEPON_PROVIDER_TIMEOUT_SECONDS: timeout of one provider call"
    )
    provider_breaker_failures: int = Field(
        5, description="KOEPON_PROVIDER_BREAKER_FAILURES: consecutive failures opening a circuit"
    )
    provider_breaker_reset_seconds: float = Field(
        30.0, description="KOEPON_PROVIDER_BREAKER_RESET_SECONDS: open circuit before a trial call"
    )
    webhook_tolerance_seconds: int = Field(
        300, description="KOEPON_WEBHOOK_TOLERANCE_SECONDS: max age of a signed webhook timestamp"
    )
    webhook_max_body_bytes: int = Field(
        65_536, description="KOEPON_WEBHOOK_MAX_BODY_BYTES: larger webhook bodies get 413"
    )
    checkout_expiry_minutes: int = Field(
        30, description="KOEPON_CHECKOUT_EXPIRY_MINUTES: an unpaid hosted page expires after"
    )
    monthly_cap_under_16_jpy: int = Field(
        5_000, description="KOEPON_MONTHLY_CAP_UNDER_16_JPY: COMPLIANCE A2, tax included"
    )
    monthly_cap_16_17_jpy: int = Field(
        10_000, description="KOEPON_MONTHLY_CAP_16_17_JPY: COMPLIANCE A2, tax included"
    )
    consumption_tax_percent: int = Field(
        10, description="KOEPON_CONSUMPTION_TAX_PERCENT: 消費税 contained in tax-included prices"
    )
    medal_pack_max_bonus_percent: int = Field(
        100,
        description="KOEPON_MEDAL_PACK_MAX_BONUS_PERCENT: bonus medals allowed per pack, as a "
        "percentage of its paid medals (a same-kind bonus is a discount, COMPLIANCE G10)",
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

    @property
    def embedded(self) -> bool:
        return self.database_url is None

    def database_url_for(self, service: str) -> tuple[str, str | None]:
        """The URL and schema of one service's own database."""
        if self.database_url:
            return self.database_url, service
        self.data_dir.mkdir(parents=True, exist_ok=True)
        return f"sqlite+aiosqlite:///{(self.data_dir / f'{service}.db').resolve()}", None


def describe_error(error: ValidationError, prefix: str = "KOEPON_") -> str:
    """One line naming each bad variable and what is wrong with it."""
    problems = []
    for item in error.errors():
        name = prefix + "_".join(str(part) for part in item["loc"][:1]).upper()
        problems.append(f"{name}: {item['msg']}")
    return "Invalid settings: " + "; ".join(problems)


def load_settings() -> Settings:
    """The settings from the environment; ``SettingsError`` (one clear line) when invalid."""
    try:
        return Settings()
    except ValidationError as exc:
        raise SettingsError(describe_error(exc)) from None


@lru_cache
def get_settings() -> Settings:
    return load_settings()
