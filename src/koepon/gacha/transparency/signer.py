"""The draw log's Ed25519 signing key (C2SP signed-note signer key form).

Configured with ``KOEPON_DRAW_LOG_SIGNING_KEY`` (``PRIVATE+KEY+<origin>+<key id>+<base64>``);
outside production, a key generated once is kept under ``data_dir/keys`` (like the auth
service's JWT key), so a development log keeps verifying across restarts. The key's name is the
log's origin: the standalone verifier accepts a checkpoint only when its origin line is the
name of the key that signed it.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from pathlib import Path

from koepon.gacha.settings import GachaSettings
from koepon.gacha.transparency.note import (
    NoteError,
    SignerKey,
    new_signer_key,
    parse_signer_key,
    valid_name,
)
from koepon.kernel.settings import Settings

KEYS_DIR = Path("keys")
VARIABLE = "KOEPON_DRAW_LOG_SIGNING_KEY"


def dev_key_path(settings: Settings, origin: str) -> Path:
    """Where a development key for ``origin`` is kept (one file per origin, so changing
    KOEPON_DRAW_LOG_ORIGIN never signs with a key named after another origin)."""
    tag = hashlib.sha256(origin.encode()).hexdigest()[:12]
    return settings.data_dir / KEYS_DIR / f"draw-log-{tag}.key"


def _parse(text: str, origin: str, where: str) -> SignerKey:
    try:
        signer = parse_signer_key(text.strip())
    except NoteError as error:
        raise RuntimeError(f"{where} is not a signed-note signer key: {error}") from None
    if signer.name != origin:
        raise RuntimeError(
            f"{where} is named {signer.name!r} but the log's origin "
            f"(KOEPON_DRAW_LOG_ORIGIN) is {origin!r}: a checkpoint's origin is its key's name"
        )
    return signer


def load_signer(settings: Settings, gacha_settings: GachaSettings) -> SignerKey:
    """The configured key; outside production, one generated once and kept under data_dir.

    ``RuntimeError`` (start-up stops with the message) when production has no key, or the key
    is malformed or named after another origin."""
    origin = gacha_settings.draw_log_origin
    if not valid_name(origin):
        raise RuntimeError(
            f"KOEPON_DRAW_LOG_ORIGIN {origin!r} is not a valid key name (no spaces, no '+')"
        )
    if gacha_settings.draw_log_signing_key is not None:
        return _parse(gacha_settings.draw_log_signing_key.get_secret_value(), origin, VARIABLE)
    if settings.environment == "production":
        raise RuntimeError(
            f"{VARIABLE} is required in production: the draw log's Ed25519 signer key "
            f"(PRIVATE+KEY+{origin}+…), made once with "
            f'`python -c "from koepon.gacha.transparency.note import new_signer_key; '
            f"print(new_signer_key('{origin}'))\"` and kept secret"
        )
    path = dev_key_path(settings, origin)
    if path.exists():
        return _parse(path.read_text(), origin, str(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    signer = new_signer_key(origin)
    # Written whole to a private temporary file, then linked into place: a process starting at
    # the same moment either links first (its key is used) or reads a complete file.
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(f"{signer}\n")
    try:
        os.link(temporary, path)
    except FileExistsError:
        return _parse(path.read_text(), origin, str(path))
    finally:
        temporary.unlink()
    return signer
