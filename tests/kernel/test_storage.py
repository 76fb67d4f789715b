"""The object storage port: one contract, run against both adapters (local disk and the S3 API
through moto on loopback), then what only the S3 adapter does (presigned URLs checked by the
server, errors, settings).

The S3 server (tests/s3_server.py) checks SigV4 signatures and expiry in front of moto, which
checks neither; its clock is moved forward instead of sleeping.
"""

from __future__ import annotations

import asyncio
import os
import socket
import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

import httpx
import pytest

from koepon.kernel.settings import Settings
from koepon.kernel.storage import ObjectNotFound, Storage, StorageError
from koepon.kernel.storage.factory import storage_from_settings
from koepon.kernel.storage.local import LocalStorage
from koepon.kernel.storage.s3 import S3Storage, attachment_disposition
from s3_server import S3TestServer, unique_prefix

SECRET = "testing"  # the test server's secret: must never appear in an error


def s3_settings(server: S3TestServer, **overrides: object) -> Settings:
    values: dict[str, object] = {"environment": "test", **server.settings(unique_prefix())}
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


def s3_storage(server: S3TestServer, **overrides: object) -> S3Storage:
    return S3Storage.from_settings(s3_settings(server, **overrides), prefix="svc/")


@pytest.fixture(params=["local", "s3"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Storage]:
    storage: Storage
    if request.param == "local":
        storage = LocalStorage(tmp_path / "objects")
    else:
        storage = s3_storage(request.getfixturevalue("s3_server"))
    try:
        yield storage
    finally:
        await storage.close()


@pytest.fixture
async def s3(s3_server: S3TestServer) -> AsyncIterator[S3Storage]:
    storage = s3_storage(s3_server)
    try:
        yield storage
    finally:
        await storage.close()


# -- the contract, both adapters ----------------------------------------------------------------


async def test_put_then_get_and_size(store: Storage) -> None:
    data = bytes(range(256)) * 4096 + os.urandom(1000)  # every byte value, about 1 MiB
    await store.put("contents/42/original.png", data, content_type="image/png")
    assert await store.get("contents/42/original.png") == data
    assert await store.size("contents/42/original.png") == len(data)


async def test_empty_object(store: Storage) -> None:
    await store.put("empty.bin", b"", content_type="application/octet-stream")
    assert await store.get("empty.bin") == b""
    assert await store.size("empty.bin") == 0


async def test_put_replaces_the_object(store: Storage) -> None:
    await store.put("a.txt", b"first version", content_type="text/plain")
    await store.put("a.txt", b"second", content_type="text/plain")
    assert await store.get("a.txt") == b"second"
    assert await store.size("a.txt") == len(b"second")
    assert await store.keys("") == ["a.txt"]


async def test_missing_object(store: Storage) -> None:
    with pytest.raises(ObjectNotFound):
        await store.get("nothing/here.bin")
    assert issubclass(ObjectNotFound, StorageError)
    assert await store.size("nothing/here.bin") is None


async def test_delete_is_idempotent(store: Storage) -> None:
    await store.put("gone.bin", b"x", content_type="application/octet-stream")
    await store.delete("gone.bin")
    await store.delete("gone.bin")
    await store.delete("never/was.bin")
    with pytest.raises(ObjectNotFound):
        await store.get("gone.bin")
    assert await store.size("gone.bin") is None
    assert await store.keys("") == []


async def test_a_directory_is_not_an_object(store: Storage) -> None:
    await store.put("a/b.bin", b"inside", content_type="application/octet-stream")
    with pytest.raises(ObjectNotFound):
        await store.get("a")
    assert await store.size("a") is None
    await store.delete("a")
    assert await store.get("a/b.bin") == b"inside"


async def test_keys_by_prefix(store: Storage) -> None:
    for key in ["v/2/b.png", "v/1/a.png", "v/1/c.mp3", "v/10/x.png", "w/1/a.png"]:
        await store.put(key, key.encode(), content_type="application/octet-stream")
    assert await store.keys("v/1/") == ["v/1/a.png", "v/1/c.mp3"]
    assert await store.keys("v/1") == ["v/1/a.png", "v/1/c.mp3", "v/10/x.png"]
    assert await store.keys("v/") == ["v/1/a.png", "v/1/c.mp3", "v/10/x.png", "v/2/b.png"]
    assert await store.keys("") == [
        "v/1/a.png",
        "v/1/c.mp3",
        "v/10/x.png",
        "v/2/b.png",
        "w/1/a.png",
    ]
    assert await store.keys("z/") == []


async def test_many_objects_at_once(store: Storage) -> None:
    keys = [f"bulk/{i:03}.bin" for i in range(40)]
    await asyncio.gather(
        *(store.put(k, k.encode() * 100, content_type="application/octet-stream") for k in keys)
    )
    assert await store.keys("bulk/") == keys
    got = await asyncio.gather(*(store.get(k) for k in keys))
    assert got == [k.encode() * 100 for k in keys]


REFUSED_KEYS = [
    "../x",
    "a/../../x",
    "a/../b",
    "./a",
    "a/./b",
    "..",
    "/abs",
    "/etc/passwd",
    "a//b",
    "a/",
    "",
    "x" * 513,
    "a b",
    "a\\b",
    "a?b",
    "a#b",
    "a%2e%2e",
    "a\x00b",
    "a\nb",
    "ボイス.mp3",
    "~/x",
]


@pytest.mark.parametrize("key", REFUSED_KEYS, ids=repr)
async def test_refused_keys(store: Storage, key: str) -> None:
    with pytest.raises(ValueError, match="Not a storage key"):
        await store.put(key, b"x", content_type="text/plain")
    with pytest.raises(ValueError, match="Not a storage key"):
        await store.get(key)
    with pytest.raises(ValueError, match="Not a storage key"):
        await store.size(key)
    with pytest.raises(ValueError, match="Not a storage key"):
        await store.delete(key)
    with pytest.raises(ValueError, match="Not a storage key"):
        await store.presigned_get(key, expires_seconds=60, filename="x", content_type="text/plain")
    with pytest.raises(ValueError, match="Not a storage key"):
        await store.presigned_put(key, expires_seconds=60, content_type="text/plain")
    assert await store.keys("") == []


async def test_longest_key_is_accepted(store: Storage) -> None:
    key = "k/" + "x" * 200 + "/" + "y" * 200 + "/" + "z" * 108  # 512 characters
    assert len(key) == 512
    await store.put(key, b"long", content_type="text/plain")
    assert await store.get(key) == b"long"


# -- local disk ---------------------------------------------------------------------------------


async def test_local_disk_cannot_sign_urls(tmp_path: Path) -> None:
    local = LocalStorage(tmp_path)
    await local.put("a.bin", b"x", content_type="application/octet-stream")
    url = await local.presigned_get(
        "a.bin", expires_seconds=60, filename="a.bin", content_type="text/plain"
    )
    assert url is None
    assert await local.presigned_put("b.bin", expires_seconds=60, content_type="text/plain") is None


async def test_local_disk_leaves_no_partial_files(tmp_path: Path) -> None:
    local = LocalStorage(tmp_path)
    await local.put("a/b.bin", b"x" * 10_000, content_type="application/octet-stream")
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == ["b.bin"]


async def test_local_disk_refuses_a_key_under_an_object(tmp_path: Path) -> None:
    local = LocalStorage(tmp_path)
    await local.put("a", b"x", content_type="application/octet-stream")
    with pytest.raises(StorageError):
        await local.put("a/b", b"y", content_type="application/octet-stream")
    assert await local.get("a") == b"x"


# -- S3: presigned downloads --------------------------------------------------------------------


def with_query(url: str, **changes: str) -> str:
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    query.update(changes)
    return urlunsplit(parts._replace(query=urlencode(query)))


async def test_presigned_get_downloads_with_the_filename(
    s3: S3Storage, s3_server: S3TestServer
) -> None:
    await s3.put("contents/7/voice.mp3", b"ID3 voice bytes", content_type="audio/mpeg")
    url = await s3.presigned_get(
        "contents/7/voice.mp3",
        expires_seconds=300,
        filename="おはようボイス.mp3",
        content_type="audio/mpeg",
    )
    assert url is not None
    query = dict(parse_qsl(urlsplit(url).query))
    assert query["X-Amz-Algorithm"] == "AWS4-HMAC-SHA256"
    assert query["X-Amz-Expires"] == "300"
    assert SECRET not in url.replace("Credential=testing", "")  # the key id only, no secret
    async with httpx.AsyncClient() as http:
        response = await http.get(url)
    assert response.status_code == 200
    assert response.content == b"ID3 voice bytes"
    assert response.headers["content-type"] == "audio/mpeg"
    disposition = response.headers["content-disposition"]
    assert disposition.startswith("attachment;")
    assert unquote(disposition.split("filename*=UTF-8''")[1]) == "おはようボイス.mp3"


async def test_presigned_get_expires(s3: S3Storage, s3_server: S3TestServer) -> None:
    await s3.put("e.bin", b"soon gone", content_type="application/octet-stream")
    url = await s3.presigned_get(
        "e.bin", expires_seconds=300, filename="e.bin", content_type="application/octet-stream"
    )
    assert url is not None
    async with httpx.AsyncClient() as http:
        with s3_server.later(290):
            assert (await http.get(url)).status_code == 200
        with s3_server.later(302):
            refused = await http.get(url)
    assert refused.status_code == 403
    assert b"expired" in refused.content
    assert b"soon gone" not in refused.content


async def test_tampered_presigned_get_is_refused(s3: S3Storage) -> None:
    await s3.put("mine.bin", b"mine", content_type="application/octet-stream")
    await s3.put("theirs.bin", b"theirs", content_type="application/octet-stream")
    url = await s3.presigned_get(
        "mine.bin", expires_seconds=300, filename="mine.bin", content_type="text/plain"
    )
    assert url is not None
    signature = dict(parse_qsl(urlsplit(url).query))["X-Amz-Signature"]
    forged = "0" if signature[0] != "0" else "1"
    tampered = [
        url.replace("/mine.bin?", "/theirs.bin?"),  # another object
        with_query(url, **{"X-Amz-Expires": "604800"}),  # a longer life
        with_query(url, **{"X-Amz-Date": "20991231T000000Z"}),  # another signing time
        with_query(url, **{"response-content-type": "text/html"}),  # served as a page
        with_query(url, **{"response-content-disposition": "inline"}),
        with_query(url, **{"X-Amz-Signature": forged + signature[1:]}),
        with_query(url, **{"X-Amz-Credential": "AKIAOTHER/20260101/us-east-1/s3/aws4_request"}),
        urlunsplit(urlsplit(url)._replace(query="")),  # no signature: the bucket is private
    ]
    async with httpx.AsyncClient() as http:
        assert (await http.get(url)).status_code == 200
        for bad in tampered:
            response = await http.get(bad)
            assert response.status_code == 403, bad
            assert b"mine" not in response.content and b"theirs" not in response.content


async def test_presigned_expiry_bounds(s3: S3Storage) -> None:
    for seconds in (0, -5, 7 * 24 * 3600 + 1):
        with pytest.raises(ValueError, match="expires_seconds"):
            await s3.presigned_get("a", expires_seconds=seconds, filename="a", content_type="a/b")
        with pytest.raises(ValueError, match="expires_seconds"):
            await s3.presigned_put("a", expires_seconds=seconds, content_type="a/b")


# -- S3: presigned uploads ----------------------------------------------------------------------


async def test_presigned_put_uploads_then_get(s3: S3Storage) -> None:
    before = datetime.now(UTC)
    upload = await s3.presigned_put(
        "uploads/big.mp4", expires_seconds=600, content_type="video/mp4"
    )
    assert upload is not None
    assert upload.method == "PUT"
    assert upload.headers == {"Content-Type": "video/mp4"}
    assert 595 <= (upload.expires_at - before).total_seconds() <= 605
    data = os.urandom(300_000)
    async with httpx.AsyncClient() as http:
        response = await http.request(
            upload.method, upload.url, content=data, headers=upload.headers
        )
    assert response.status_code == 200
    assert await s3.get("uploads/big.mp4") == data
    assert await s3.size("uploads/big.mp4") == len(data)


async def test_presigned_put_refuses_another_type_key_or_late_upload(
    s3: S3Storage, s3_server: S3TestServer
) -> None:
    upload = await s3.presigned_put("uploads/a.png", expires_seconds=60, content_type="image/png")
    assert upload is not None
    async with httpx.AsyncClient() as http:
        html = {"Content-Type": "text/html"}
        other_type = await http.put(upload.url, content=b"<html>", headers=html)
        other_key = await http.put(
            upload.url.replace("/a.png?", "/b.png?"), content=b"png", headers=upload.headers
        )
        with s3_server.later(61):
            late = await http.put(upload.url, content=b"png", headers=upload.headers)
    assert [other_type.status_code, other_key.status_code, late.status_code] == [403, 403, 403]
    assert await s3.keys("uploads/") == []


# -- S3: isolation, errors, settings ------------------------------------------------------------


async def test_prefixes_isolate(s3_server: S3TestServer) -> None:
    one, two = s3_storage(s3_server), s3_storage(s3_server)
    try:
        await one.put("same.key", b"one", content_type="text/plain")
        assert await two.keys("") == []
        assert await two.size("same.key") is None
        await two.put("same.key", b"two", content_type="text/plain")
        assert await one.get("same.key") == b"one"
    finally:
        await one.close()
        await two.close()


async def test_wrong_credentials_are_a_storage_error(s3_server: S3TestServer) -> None:
    wrong = s3_storage(s3_server, s3_secret_access_key="not-the-secret-8c1f")
    try:
        with pytest.raises(StorageError) as refused:
            await wrong.put("a.bin", b"x", content_type="application/octet-stream")
        assert not isinstance(refused.value, ObjectNotFound)
        assert "SignatureDoesNotMatch" in str(refused.value)
        assert "not-the-secret-8c1f" not in str(refused.value)
        with pytest.raises(StorageError) as refused:
            await wrong.get("a.bin")
        assert not isinstance(refused.value, ObjectNotFound)
    finally:
        await wrong.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def silent_listener() -> Iterator[str]:
    """A port that accepts connections and never answers."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        sock.close()


@pytest.mark.parametrize("where", ["closed port", "silent server"])
async def test_unreachable_store_fails_fast(
    s3_server: S3TestServer, silent_listener: str, where: str
) -> None:
    endpoint = f"http://127.0.0.1:{free_port()}" if where == "closed port" else silent_listener
    settings = s3_settings(
        s3_server, s3_endpoint_url=endpoint, s3_secret_access_key="hidden-secret-77"
    )
    storage = S3Storage.from_settings(
        settings, prefix="svc/", connect_timeout=0.3, read_timeout=0.3, max_attempts=2
    )
    try:
        calls = [storage.put("a", b"x", content_type="text/plain"), storage.get("a")]
        if where == "closed port":  # refused at once: every call (a silent one costs timeouts)
            calls += [storage.size("a"), storage.delete("a"), storage.keys("")]
        for call in calls:
            started = time.monotonic()
            with pytest.raises(StorageError) as failed:
                await call
            # Fails, never hangs: 0.3 s timeouts × 2 attempts, with room for a loaded machine
            # (boto3's own defaults would wait 60 s a try).
            assert time.monotonic() - started < 20
            assert not isinstance(failed.value, ObjectNotFound)
            assert "hidden-secret-77" not in str(failed.value)
    finally:
        await storage.close()


def test_attachment_disposition() -> None:
    plain = attachment_disposition("a.png")
    assert plain == "attachment; filename=\"a.png\"; filename*=UTF-8''a.png"
    japanese = attachment_disposition("サイン 写真.jpg")
    assert japanese.startswith('attachment; filename="___ __.jpg"; ')
    assert unquote(japanese.split("filename*=UTF-8''")[1]) == "サイン 写真.jpg"
    sneaky = attachment_disposition('../x"; filename=evil.exe\r\n.png')
    assert "\r" not in sneaky and "\n" not in sneaky
    assert sneaky.count('"') == 2 and "/" not in sneaky.split("filename*=")[0]
    empty = attachment_disposition("")
    assert empty == "attachment; filename=\"download\"; filename*=UTF-8''download"


def test_factory_picks_the_adapter(tmp_path: Path, s3_server: S3TestServer) -> None:
    local = storage_from_settings(Settings(environment="test", data_dir=tmp_path), "rewards")
    assert isinstance(local, LocalStorage)
    assert local.root == (tmp_path / "objects" / "rewards").resolve()
    remote = storage_from_settings(s3_settings(s3_server, s3_prefix="shared"), "rewards")
    assert isinstance(remote, S3Storage)
    assert remote.prefix == "shared/rewards/"
    assert remote.bucket == s3_server.bucket
    assert "testing" not in repr(remote)


def test_settings_refused() -> None:
    with pytest.raises(ValueError, match="R2"):
        S3Storage.from_settings(
            Settings(environment="test", s3_bucket="b", s3_region="auto"), prefix="x/"
        )
    with pytest.raises(ValueError, match="KOEPON_S3_BUCKET"):
        S3Storage.from_settings(Settings(environment="test"), prefix="x/")
    with pytest.raises(ValueError, match="Not a storage key"):
        S3Storage.from_settings(
            Settings(environment="test", s3_bucket="b", s3_region="eu-west-1", s3_prefix="../"),
            prefix="x/",
        )
