"""What a backup holds (docs/RUNBOOK.md "Backups"): every service's rows, listed in a manifest
with their checksums, and no secret: not the keys and secrets the platform runs with (they are
the environment's), not the one-time links of queued mail, not content files."""

from __future__ import annotations

import base64
import json
import re
import secrets
import subprocess
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pydantic import SecretStr
from sqlalchemy import text

from conftest import TEST_INTERNAL_TOKEN
from gacha import samples
from gacha.conftest import (  # noqa: F401 - the desk fixture
    Desk,
    desk_fixture,
    live_now,
    with_real_contents,
)
from koepon.gacha.transparency.note import new_signer_key
from koepon.kernel.settings import SERVICES, Settings
from koepon.ops.backup import MANIFEST, backup_to_dir, pg_tool, sha256_of
from koepon.ops.restore import verify
from payment.fixtures.shop import shop_fixture  # noqa: F401 - the shop fixture

JWT_KEY = (
    Ed25519PrivateKey.generate()
    .private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    .decode()
)
DRAW_LOG_KEY = str(new_signer_key("koepon.jp/draw-log"))
DOWNLOAD_KEY = base64.b64encode(secrets.token_bytes(32)).decode()
WEBHOOK_SECRET = "whsec_" + secrets.token_hex(24)


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The ops settings, with every key and secret the platform runs with given explicitly."""
    given = settings.model_copy(update={"jwt_private_key": SecretStr(JWT_KEY)})
    given = given.with_service_settings("gacha", draw_log_signing_key=DRAW_LOG_KEY)
    given = given.with_service_settings("rewards", download_signing_key=DOWNLOAD_KEY)
    return given.with_service_settings("payment", sandbox_webhook_secret=WEBHOOK_SECRET)


def dump_text(backup: Path, file: str) -> str:
    """A dump as searchable text: the SQL a custom-format dump restores, or SQLite's bytes."""
    path = backup / file
    if file.endswith(".dump"):
        done = subprocess.run(
            [pg_tool("pg_restore"), "-f", "-", str(path)], capture_output=True, check=True
        )
        return done.stdout.decode("utf-8", "replace")
    return path.read_bytes().decode("utf-8", "replace")


def key_material(pem: str) -> list[str]:
    """The PEM's base64 body and the raw private key bytes, in the forms a dump could hold."""
    body = "".join(line for line in pem.splitlines() if "-----" not in line)
    raw = serialization.load_pem_private_key(pem.encode(), None).private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    return [body, raw.hex(), base64.b64encode(raw).decode()]


@pytest.mark.timeout(120)
async def test_a_backup_lists_its_dumps_and_holds_no_key_secret_or_live_link(
    desk: Desk, tmp_path: Path
) -> None:
    platform = desk.platform
    raw = await with_real_contents(platform, "vt-backup", live_now(samples.box_raw()), {})
    gacha_id = await desk.publish(raw, vtuber_id="vt-backup")
    fan = await desk.fan(medals=1000)  # signs up (a verification mail) and pays (a webhook)
    drawn = await desk.client.post(
        f"/api/v1/gachas/{gacha_id}/draws", json={"count": 1}, headers=fan.ik()
    )
    assert drawn.status_code in (200, 202), drawn.text
    await platform.drain()
    async with platform.units["auth"].db.sessionmaker() as session:
        bodies = (
            await session.scalars(
                text("SELECT body FROM dev_mailbox UNION ALL SELECT body FROM outgoing_mail")
            )
        ).all()
    links = [m for body in bodies for m in re.findall(r"token=([A-Za-z0-9_\-]{16,})", body)]
    assert links, "the sign-up sent no mail with a one-time link"

    backup = tmp_path / "backup"
    dumps = backup_to_dir(platform.settings, backup)

    # The manifest lists every file it holds, each with the checksum of its bytes.
    manifest = json.loads((backup / MANIFEST).read_text(encoding="utf-8"))
    assert {p.name for p in backup.iterdir()} == {MANIFEST, *(d["file"] for d in manifest["dumps"])}
    for listed in manifest["dumps"]:
        assert listed["sha256"] == sha256_of(backup / listed["file"])
        assert listed["size"] == (backup / listed["file"]).stat().st_size
    assert [d.service for d in verify(backup)] == list(SERVICES)
    assert set(manifest["not_included"]) == {"secrets", "content_files", "mail_bodies"}
    assert next(d for d in dumps if d.service == "auth").excluded_data == [
        "outgoing_mail",
        "dev_mailbox",
    ]

    everything = "\n".join(dump_text(backup, d.file) for d in dumps)
    assert fan.id in everything and gacha_id in everything  # the rows are there…
    secret = {
        "JWT private key": key_material(JWT_KEY),
        "draw log signing key": [DRAW_LOG_KEY, DRAW_LOG_KEY.rsplit("+", 1)[-1]],
        "download signing key": [DOWNLOAD_KEY, base64.b64decode(DOWNLOAD_KEY).hex()],
        "webhook secret": [WEBHOOK_SECRET],
        "internal token": [TEST_INTERNAL_TOKEN],
        "one-time link": links,
    }
    found = [name for name, forms in secret.items() if any(f in everything for f in forms)]
    assert found == [], f"secret material in the backup: {found}"
    # Content files are the object store's: the dump holds their keys and checksums only, and
    # the backup directory nothing but the manifest and the dumps (asserted above).
    async with platform.units["rewards"].db.sessionmaker() as session:
        keys = (await session.scalars(text("SELECT storage_key FROM rewards_contents"))).all()
    assert keys and all(key in everything for key in keys)
