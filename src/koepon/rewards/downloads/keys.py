"""The downloads' HMAC key (download URLs, IP hashes, watermark patterns).

Configured with ``KOEPON_DOWNLOAD_SIGNING_KEY`` (32+ random bytes, base64); outside production,
a key generated once is kept under ``data_dir/keys`` (like the draw log's signer), so issued
URLs and watermarks stay verifiable across restarts. Production refuses to start without it:
a key that changed would make every watermark unreadable.
"""

from __future__ import annotations

import base64
import binascii
import os
import secrets
from pathlib import Path

from koepon.kernel.settings import Settings
from koepon.rewards.settings import RewardsSettings

VARIABLE = "KOEPON_DOWNLOAD_SIGNING_KEY"
MIN_KEY_BYTES = 32


def dev_key_path(settings: Settings) -> Path:
    return settings.data_dir / "keys" / "download-signing.key"


def _decode(text: str, where: str) -> bytes:
    try:
        raw = base64.b64decode(text.strip() + "=" * (-len(text.strip()) % 4), altchars=b"-_")
    except (binascii.Error, ValueError):
        raise RuntimeError(f"{where} is not base64") from None
    if len(raw) < MIN_KEY_BYTES:
        raise RuntimeError(f"{where} must hold at least {MIN_KEY_BYTES} bytes (base64)")
    return raw


def load_signing_key(settings: Settings, rewards_settings: RewardsSettings) -> bytes:
    """The configured key; outside production one generated once under data_dir.

    ``RuntimeError`` (start-up stops with the message) when production has none or the key is
    malformed."""
    if rewards_settings.download_signing_key is not None:
        return _decode(rewards_settings.download_signing_key.get_secret_value(), VARIABLE)
    if settings.environment == "production":
        raise RuntimeError(
            f"{VARIABLE} is required in production: 32+ random bytes in base64, made once with "
            '`python -c "import secrets, base64; '
            'print(base64.b64encode(secrets.token_bytes(32)).decode())"` and kept secret'
        )
    path = dev_key_path(settings)
    if path.exists():
        return _decode(path.read_text(), str(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    text = base64.b64encode(secrets.token_bytes(MIN_KEY_BYTES)).decode()
    # Written whole to a private temporary file, then linked into place: a process starting at
    # the same moment either links first (its key is used) or reads a complete file.
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(f"{text}\n")
    try:
        os.link(temporary, path)
    except FileExistsError:
        return _decode(path.read_text(), str(path))
    finally:
        temporary.unlink()
    return _decode(text, str(path))
