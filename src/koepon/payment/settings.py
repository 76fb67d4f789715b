"""The payment service's business settings, read from ``KOEPON_`` environment variables."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from koepon.contracts.payment import MedalTerms
from koepon.kernel.settings import Settings, load_service_settings

SERVICE = "payment"


class PaymentSettings(BaseSettings):
    """Medal validity and spend order, purchases, providers and caps. Each field documents its
    environment variable; the platform's technical settings stay in ``kernel/settings.py``."""

    model_config = SettingsConfigDict(env_prefix="KOEPON_", extra="ignore")

    # --- 推しメダル ledger and wallets (COMPLIANCE M1–M3) ---
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
    # --- medal purchases (checkouts, providers, webhooks, caps) ---
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

    def medal_terms(self) -> MedalTerms:
        """What the legal pages state about medals: the values the service applies."""
        return MedalTerms(
            paid_validity_days=self.paid_medal_validity_days,
            free_validity_days=self.free_medal_validity_days,
            free_first=self.spend_free_first,
            tax_percent=self.consumption_tax_percent,
        )


def load(settings: Settings) -> PaymentSettings:
    """Payment's settings from the environment, under the values ``settings`` gives payment."""
    return load_service_settings(PaymentSettings, settings, SERVICE)
