"""The gacha service's business settings, read from ``KOEPON_`` environment variables."""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from koepon.kernel.settings import Settings, load_service_settings

SERVICE = "gacha"


class GachaSettings(BaseSettings):
    """Draws, the draw saga, odds changes, the public draw log and audits. Each field documents
    its environment variable."""

    model_config = SettingsConfigDict(env_prefix="KOEPON_", extra="ignore")

    # --- the draw and its saga (DESIGN.md "The draw") ---
    draw_wait_ms: int = Field(
        2000,
        ge=0,
        le=10_000,
        description="KOEPON_DRAW_WAIT_MS: how long a draw request waits for its result before "
        "answering 202 (the fan then polls GET /api/v1/draws/{id})",
    )
    draw_accept_concurrency: int = Field(
        16,
        ge=1,
        description="KOEPON_DRAW_ACCEPT_CONCURRENCY: draw requests a process accepts at once; "
        "the rest wait their turn (and meanwhile the process leaves the sagas to the queue)",
    )
    draw_accept_wait_seconds: float = Field(
        10.0,
        gt=0,
        description="KOEPON_DRAW_ACCEPT_WAIT_SECONDS: longest wait for that turn before the "
        "request is answered 503 with Retry-After (nothing stored); keep it well below the "
        "gateway's timeout for gacha, or a draw could be stored after the gateway gave up",
    )
    draw_hold_seconds: int = Field(
        900,
        ge=60,
        description="KOEPON_DRAW_HOLD_SECONDS: how long reserved medals stay held for a draw; "
        "the recovery sweeper finishes or releases a draw well within it",
    )
    draw_recovery_seconds: float = Field(
        5.0,
        gt=0,
        description="KOEPON_DRAW_RECOVERY_SECONDS: how often the recovery sweeper looks for "
        "draws left unfinished by a crashed or slow worker",
    )
    draw_stale_seconds: float = Field(
        10.0,
        gt=0,
        description="KOEPON_DRAW_STALE_SECONDS: a draw untouched this long is taken over by the "
        "recovery sweeper",
    )
    draw_give_up_seconds: int = Field(
        300,
        ge=10,
        description="KOEPON_DRAW_GIVE_UP_SECONDS: a draw that could not reserve its medals for "
        "this long (payment unreachable) is refused and any hold released",
    )
    gacha_payment_timeout_seconds: float = Field(
        3.0,
        gt=0,
        description="KOEPON_GACHA_PAYMENT_TIMEOUT_SECONDS: timeout of each call to the payment "
        "service",
    )
    gacha_payment_breaker_failures: int = Field(
        5,
        ge=1,
        description="KOEPON_GACHA_PAYMENT_BREAKER_FAILURES: consecutive failed calls to payment "
        "that open the circuit breaker (new draws are then refused with 503)",
    )
    gacha_payment_breaker_reset_seconds: int = Field(
        15,
        ge=1,
        description="KOEPON_GACHA_PAYMENT_BREAKER_RESET_SECONDS: how long an open breaker waits "
        "before a trial call",
    )
    # --- odds versions (COMPLIANCE G4) ---
    odds_notice_hours: int = Field(
        24,
        ge=0,
        description="KOEPON_ODDS_NOTICE_HOURS: advance notice before a live gacha's new odds "
        "version takes effect (G4)",
    )
    catalog_cache_seconds: int = Field(
        60,
        ge=1,
        description="KOEPON_CATALOG_CACHE_SECONDS: lifetime of a cached catalogue page or odds "
        "table (changes invalidate at once; this bounds a missed invalidation)",
    )
    # --- the public draw log (RFC 9162 tree, C2SP checkpoints) ---
    draw_log_origin: str = Field(
        "koepon.jp/draw-log",
        description="KOEPON_DRAW_LOG_ORIGIN: the log's origin line in checkpoints (and the "
        "name of its key)",
    )
    draw_log_signing_key: SecretStr | None = Field(
        None,
        description="KOEPON_DRAW_LOG_SIGNING_KEY: the log's Ed25519 signer key in signed-note "
        "form (PRIVATE+KEY+…). Unset outside production: generated once under data_dir/keys",
    )
    draw_log_sequence_seconds: float = Field(
        1.0,
        gt=0,
        description="KOEPON_DRAW_LOG_SEQUENCE_SECONDS: how often completed draws are appended "
        "to the log",
    )
    draw_log_checkpoint_seconds: float = Field(
        10.0,
        gt=0,
        description="KOEPON_DRAW_LOG_CHECKPOINT_SECONDS: how often a new signed checkpoint is "
        "published when the log has grown",
    )
    # --- audits (COMPLIANCE G9) ---
    audit_alpha: str = Field(
        "0.001",
        description="KOEPON_AUDIT_ALPHA: the nightly audit alerts when a test's p-value is "
        "below this (decimal string)",
    )
    audit_hour_jst: int = Field(
        3, ge=0, le=23, description="KOEPON_AUDIT_HOUR_JST: the hour (JST) of the nightly audit"
    )


def load(settings: Settings) -> GachaSettings:
    """Gacha's settings from the environment, under the values ``settings`` gives gacha."""
    return load_service_settings(GachaSettings, settings, SERVICE)
