"""S3-API object storage: AWS S3, Cloudflare R2 or any S3-compatible server, chosen by settings
alone (endpoint URL, region, bucket, credentials).

boto3 is synchronous: every call runs in a worker thread (``asyncio.to_thread``) on one client
per storage, which boto3 allows (clients are thread-safe). The client is built on first use, so
a platform that never touches its objects pays nothing for it. Every key is checked
(``check_key``) and placed under ``settings.s3_prefix`` + the service's prefix; nothing outside
that prefix is ever read, listed or written.

The bucket stays private: objects are written without an ACL and read through the service or
through short-lived SigV4 presigned URLs. Errors carry the operation, the S3 error code and the
HTTP status only: never a credential, never a signed URL.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import threading
import unicodedata
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar
from urllib.parse import quote

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from koepon.kernel.settings import Settings
from koepon.kernel.storage import ObjectNotFound, PresignedUpload, StorageError, check_key

T = TypeVar("T")

# SigV4 presigned URLs live at most 7 days.
MAX_PRESIGN_SECONDS = 7 * 24 * 3600
NOT_FOUND_CODES = frozenset({"NoSuchKey", "404", "NotFound"})


def attachment_disposition(filename: str) -> str:
    """A ``Content-Disposition: attachment`` value naming ``filename`` for every browser: an
    ASCII fallback plus the exact name in RFC 5987 form (``filename*=UTF-8''…``), so a Japanese
    name such as ``ボイス.mp3`` arrives intact. Path separators and control characters are
    dropped; an empty name becomes ``download``."""
    name = "".join(
        c for c in unicodedata.normalize("NFC", filename) if unicodedata.category(c)[0] != "C"
    )
    name = name.replace("/", "_").replace("\\", "_").strip().strip(".") or "download"
    fallback = "".join(c if c.isascii() and c not in '"%;' else "_" for c in name)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


def _check_expiry(expires_seconds: int) -> int:
    if not 1 <= expires_seconds <= MAX_PRESIGN_SECONDS:
        raise ValueError(f"expires_seconds must be 1..{MAX_PRESIGN_SECONDS}: {expires_seconds}")
    return expires_seconds


class S3Storage:
    """Private objects in one bucket, under one prefix (see the module docstring)."""

    def __init__(self, make_client: Callable[[], Any], *, bucket: str, prefix: str) -> None:
        if prefix:
            check_key(prefix + "x")  # the prefix itself is a safe key path
        self.bucket = bucket
        self.prefix = prefix
        self._make_client = make_client
        self._client: Any = None
        self._client_lock = threading.Lock()

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        *,
        prefix: str,
        connect_timeout: float = 5.0,
        read_timeout: float = 30.0,
        max_attempts: int = 3,
    ) -> S3Storage:
        """The storage of ``settings.s3_bucket``; keys under ``settings.s3_prefix`` + ``prefix``
        (a service's own, e.g. ``rewards/``). Path-style addressing when an endpoint URL is given
        (R2, MinIO, moto), virtual-hosted on AWS. A failed call is retried (``max_attempts`` in
        all, standard mode) and no socket waits longer than the timeouts."""
        if not settings.s3_bucket:
            raise ValueError("KOEPON_S3_BUCKET is not set")
        endpoint = settings.s3_endpoint_url or None
        region = settings.s3_region
        if endpoint is None and region == "auto":
            raise ValueError(
                "KOEPON_S3_REGION=auto is Cloudflare R2's; AWS S3 needs the bucket's region "
                "(or set KOEPON_S3_ENDPOINT_URL for another S3-compatible server)"
            )
        root = settings.s3_prefix
        if root and not root.endswith("/"):
            root += "/"
        config = Config(
            signature_version="s3v4",
            region_name=region,
            s3={"addressing_style": "path" if endpoint else "virtual"},
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            retries={"max_attempts": max_attempts, "mode": "standard"},
            max_pool_connections=32,
            # S3-compatible servers (R2 among them) do not all accept the SDK's newer default
            # checksum trailers; ``put`` sends a Content-MD5 instead, which every one checks.
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
        )
        key_id = settings.s3_access_key_id
        secret = settings.s3_secret_access_key
        credentials: dict[str, str] = {}
        if key_id is not None and secret is not None:
            credentials = {
                "aws_access_key_id": key_id.get_secret_value(),
                "aws_secret_access_key": secret.get_secret_value(),
            }
        # else: boto3's default chain (instance role, AWS_* environment, shared files).

        def make_client() -> Any:
            session = boto3.session.Session()
            return session.client("s3", endpoint_url=endpoint, config=config, **credentials)

        return cls(make_client, bucket=settings.s3_bucket, prefix=root + prefix)

    def __repr__(self) -> str:
        return f"S3Storage(bucket={self.bucket!r}, prefix={self.prefix!r})"

    # -- plumbing -----------------------------------------------------------------------------

    def _key(self, key: str) -> str:
        if key.endswith("/"):  # a "folder" marker, not an object (and local disk has none)
            raise ValueError(f"Not a storage key: {key!r}")
        return self.prefix + check_key(key)

    def _get_client(self) -> Any:
        with self._client_lock:
            if self._client is None:
                self._client = self._make_client()
            return self._client

    async def _call(self, operation: str, key: str, work: Callable[[Any], T]) -> T:
        """``work(client)`` in a worker thread; S3 errors become ``StorageError`` (or
        ``ObjectNotFound``) naming the operation, the key, the error code and the status."""

        def run() -> T:
            return work(self._get_client())

        try:
            return await asyncio.to_thread(run)
        except ClientError as exc:
            error = exc.response.get("Error", {})
            code = str(error.get("Code", "?"))
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", "?")
            if code in NOT_FOUND_CODES:
                raise ObjectNotFound(key) from None
            raise StorageError(f"S3 {operation} {key!r} failed: {code} (HTTP {status})") from None
        except BotoCoreError as exc:
            # Connection, timeout and credential-resolution failures; their text names the
            # endpoint at most, never a secret.
            raise StorageError(
                f"S3 {operation} {key!r} failed: {type(exc).__name__}: {exc}"
            ) from None

    # -- the port -----------------------------------------------------------------------------

    async def put(self, key: str, data: bytes, *, content_type: str) -> None:
        full = self._key(key)
        md5 = base64.b64encode(hashlib.md5(data, usedforsecurity=False).digest()).decode()
        await self._call(
            "put",
            key,
            lambda c: c.put_object(
                Bucket=self.bucket, Key=full, Body=data, ContentType=content_type, ContentMD5=md5
            ),
        )

    async def get(self, key: str) -> bytes:
        full = self._key(key)

        def read(c: Any) -> bytes:
            response = c.get_object(Bucket=self.bucket, Key=full)
            body = response["Body"]
            try:
                data: bytes = body.read()
            finally:
                body.close()
            return data

        return await self._call("get", key, read)

    async def size(self, key: str) -> int | None:
        full = self._key(key)
        try:
            response = await self._call(
                "head", key, lambda c: c.head_object(Bucket=self.bucket, Key=full)
            )
        except ObjectNotFound:
            return None
        return int(response["ContentLength"])

    async def delete(self, key: str) -> None:
        full = self._key(key)
        try:
            await self._call("delete", key, lambda c: c.delete_object(Bucket=self.bucket, Key=full))
        except ObjectNotFound:
            return

    async def keys(self, prefix: str) -> list[str]:
        start = len(self.prefix)

        def walk(c: Any) -> list[str]:
            found: list[str] = []
            pages = c.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=self.prefix + prefix
            )
            for page in pages:
                found.extend(item["Key"][start:] for item in page.get("Contents", []))
            return sorted(found)

        return await self._call("list", prefix, walk)

    async def presigned_get(
        self, key: str, *, expires_seconds: int, filename: str, content_type: str
    ) -> str | None:
        full = self._key(key)
        expires = _check_expiry(expires_seconds)
        params = {
            "Bucket": self.bucket,
            "Key": full,
            "ResponseContentDisposition": attachment_disposition(filename),
            "ResponseContentType": content_type,
        }

        def sign(c: Any) -> str:
            url: str = c.generate_presigned_url(
                "get_object", Params=params, ExpiresIn=expires, HttpMethod="GET"
            )
            return url

        return await self._call("presign get", key, sign)

    async def presigned_put(
        self, key: str, *, expires_seconds: int, content_type: str
    ) -> PresignedUpload | None:
        full = self._key(key)
        expires = _check_expiry(expires_seconds)
        params = {"Bucket": self.bucket, "Key": full, "ContentType": content_type}
        # S3 checks the signature against the wall clock, so the deadline is real time.
        expires_at = datetime.now(UTC) + timedelta(seconds=expires)

        def sign(c: Any) -> str:
            url: str = c.generate_presigned_url(
                "put_object", Params=params, ExpiresIn=expires, HttpMethod="PUT"
            )
            return url

        url = await self._call("presign put", key, sign)
        return PresignedUpload(url, "PUT", {"Content-Type": content_type}, expires_at)

    async def close(self) -> None:
        with self._client_lock:
            client, self._client = self._client, None
        if client is not None:
            await asyncio.to_thread(client.close)
