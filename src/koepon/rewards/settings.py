"""The rewards service's business settings, read from ``KOEPON_`` environment variables."""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from koepon.kernel.settings import Settings, load_service_settings

SERVICE = "rewards"
MB = 1024 * 1024


class RewardsSettings(BaseSettings):
    """Uploads, previews, downloads and exports. Each field documents its environment variable."""

    model_config = SettingsConfigDict(env_prefix="KOEPON_", extra="ignore")

    # --- uploads (contents) ---
    max_image_bytes: int = Field(
        20 * MB, ge=1, description="KOEPON_MAX_IMAGE_BYTES: largest image upload (PNG/JPEG/WebP)"
    )
    max_audio_bytes: int = Field(
        50 * MB, ge=1, description="KOEPON_MAX_AUDIO_BYTES: largest audio upload (MP3/WAV/OGG/M4A)"
    )
    max_video_bytes: int = Field(
        500 * MB, ge=1, description="KOEPON_MAX_VIDEO_BYTES: largest video upload (MP4/WebM)"
    )
    max_pdf_bytes: int = Field(
        20 * MB, ge=1, description="KOEPON_MAX_PDF_BYTES: largest PDF upload"
    )
    max_direct_upload_bytes: int = Field(
        50 * MB,
        ge=1,
        description="KOEPON_MAX_DIRECT_UPLOAD_BYTES: largest file sent through the service; "
        "larger files go straight to storage through a presigned upload",
    )
    max_image_pixels: int = Field(
        40_000_000,
        ge=1,
        description="KOEPON_MAX_IMAGE_PIXELS: largest image (width × height) accepted; more is "
        "refused as a decompression bomb",
    )
    max_image_side: int = Field(
        12_000, ge=1, description="KOEPON_MAX_IMAGE_SIDE: longest image side in pixels"
    )
    preview_side: int = Field(
        320, ge=32, le=2048, description="KOEPON_PREVIEW_SIDE: longest side of previews in pixels"
    )
    uploads_per_hour: int = Field(
        120,
        ge=1,
        description="KOEPON_UPLOADS_PER_HOUR: content uploads (direct ones included) a VTuber's "
        "team may start per hour",
    )
    upload_url_seconds: int = Field(
        900, ge=60, le=86_400, description="KOEPON_UPLOAD_URL_SECONDS: presigned upload lifetime"
    )

    # --- downloads ---
    download_url_seconds: int = Field(
        300,
        ge=10,
        le=3600,
        description="KOEPON_DOWNLOAD_URL_SECONDS: how long a download URL works (default 5 min)",
    )
    downloads_per_minute: int = Field(
        20, ge=1, description="KOEPON_DOWNLOADS_PER_MINUTE: download URLs a fan may ask per minute"
    )
    exports_per_day: int = Field(
        5, ge=1, description="KOEPON_EXPORTS_PER_DAY: collection archives a fan may ask per day"
    )
    download_signing_key: SecretStr | None = Field(
        None,
        description="KOEPON_DOWNLOAD_SIGNING_KEY: HMAC key of download URLs and watermarks "
        "(32+ random bytes, base64). Unset outside production: generated once under "
        "data_dir/keys",
    )


def load(settings: Settings) -> RewardsSettings:
    return load_service_settings(RewardsSettings, settings, SERVICE)
