"""The auth service's business settings, read from ``KOEPON_`` environment variables."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from koepon.kernel.settings import Settings, load_service_settings

SERVICE = "auth"


class AuthSettings(BaseSettings):
    """Token lifetimes and sign-in throttling. Each field documents its environment variable;
    the signing keys and their issuer stay with the platform's (``kernel/settings.py``)."""

    model_config = SettingsConfigDict(env_prefix="KOEPON_", extra="ignore")

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


def load(settings: Settings) -> AuthSettings:
    """Auth's settings from the environment, under the values ``settings`` gives auth."""
    return load_service_settings(AuthSettings, settings, SERVICE)
