"""Every setting of the platform, read from environment variables (prefix ``KOEPON_``).

Leaving everything unset gives the embedded default: every service in one process, one SQLite
file per service under ``./data/``, an in-process bus, in-memory cache and rate limits.
Setting the URLs below switches to PostgreSQL / Redis / RabbitMQ without touching code.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

SERVICES: tuple[str, ...] = ("auth", "payment")


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
    access_token_seconds: int = Field(900, description="KOEPON_ACCESS_TOKEN_SECONDS (15 min)")
    refresh_token_days: int = Field(30, description="KOEPON_REFRESH_TOKEN_DAYS")
    login_attempts_per_window: int = Field(
        20, description="KOEPON_LOGIN_ATTEMPTS_PER_WINDOW: failed logins per email per window"
    )
    login_window_seconds: int = Field(900, description="KOEPON_LOGIN_WINDOW_SECONDS")
    rate_limit_per_ip: str = Field(
        "600/minute", description="KOEPON_RATE_LIMIT_PER_IP (limits syntax)"
    )
    rate_limit_per_user: str = Field(
        "300/minute", description="KOEPON_RATE_LIMIT_PER_USER (limits syntax)"
    )
    max_body_bytes: int = Field(
        1_048_576, description="KOEPON_MAX_BODY_BYTES: JSON bodies above this get 413"
    )
    cors_origins: list[str] = Field(
        default_factory=list, description="KOEPON_CORS_ORIGINS: JSON list of allowed origins"
    )
    smtp_url: str | None = Field(
        None, description="KOEPON_SMTP_URL: smtp://user:pass@host:port ; unset: dev mailbox"
    )
    mail_from: str = Field("no-reply@koepon.jp", description="KOEPON_MAIL_FROM")
    log_level: str = Field("INFO", description="KOEPON_LOG_LEVEL")
    relay_poll_seconds: float = Field(
        0.5, description="KOEPON_RELAY_POLL_SECONDS: outbox relay poll interval"
    )

    @property
    def embedded(self) -> bool:
        return self.database_url is None

    def database_url_for(self, service: str) -> tuple[str, str | None]:
        """The URL and schema of one service's own database."""
        if self.database_url:
            return self.database_url, service
        self.data_dir.mkdir(parents=True, exist_ok=True)
        return f"sqlite+aiosqlite:///{(self.data_dir / f'{service}.db').resolve()}", None


@lru_cache
def get_settings() -> Settings:
    return Settings()
