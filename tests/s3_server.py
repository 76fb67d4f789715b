"""An S3-compatible server on loopback for the tests: moto's server mode, started once per test
session (lazily: only when a test asks for ``s3_server``), with one bucket.

moto itself does not check signatures (neither SigV4 headers nor presigned URLs, nor their
expiry): left alone it would serve a tampered or expired presigned URL. So a small SigV4
checker stands in front of it and refuses, as S3 and R2 do, a request that is unsigned, signed
with another key, tampered with, or past its ``X-Amz-Expires`` (403 with an S3 error document).
Its clock can be moved forward (``S3TestServer.later``), so expiry is tested without sleeping.

Each test isolates its objects under its own key prefix (``unique_prefix``).
"""

from __future__ import annotations

import hashlib
import hmac
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit

import pytest

ACCESS_KEY = "testing"
SECRET_KEY = "testing"
REGION = "us-east-1"
MAX_SKEW_SECONDS = 15 * 60

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


@dataclass
class S3TestServer:
    endpoint: str
    bucket: str
    region: str = REGION
    access_key: str = ACCESS_KEY
    secret_key: str = SECRET_KEY
    checker: SigV4Checker | None = field(default=None, repr=False)

    def settings(self, prefix: str) -> dict[str, object]:
        """Platform settings (``base_settings(**...)``) that store objects in this server's
        bucket under ``prefix``."""
        return {
            "s3_bucket": self.bucket,
            "s3_endpoint_url": self.endpoint,
            "s3_region": self.region,
            "s3_access_key_id": self.access_key,
            "s3_secret_access_key": self.secret_key,
            "s3_prefix": prefix,
        }

    @contextmanager
    def later(self, seconds: float) -> Iterator[None]:
        """The server's clock runs ``seconds`` ahead inside the block (for expiry tests)."""
        assert self.checker is not None
        self.checker.skew += seconds
        try:
            yield
        finally:
            self.checker.skew -= seconds


def unique_prefix() -> str:
    return f"t-{uuid.uuid4().hex[:12]}/"


class SigV4Checker:
    """WSGI middleware: verifies AWS Signature V4 (Authorization header or presigned query
    string) with the one known key pair before moto sees the request."""

    def __init__(self, app: WSGIApp, *, access_key: str, secret_key: str) -> None:
        self.app = app
        self.access_key = access_key
        self.secret_key = secret_key
        self.skew = 0.0

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        refusal = self.refusal(environ)
        if refusal is None:
            return self.app(environ, start_response)
        code, message = refusal
        body = (
            '<?xml version="1.0" encoding="UTF-8"?>'
            f"<Error><Code>{code}</Code><Message>{message}</Message></Error>"
        ).encode()
        start_response(
            "403 Forbidden",
            [("Content-Type", "application/xml"), ("Content-Length", str(len(body)))],
        )
        return [] if environ["REQUEST_METHOD"] == "HEAD" else [body]

    def refusal(self, environ: dict[str, Any]) -> tuple[str, str] | None:
        raw_uri = environ.get("RAW_URI") or environ.get("REQUEST_URI") or environ["PATH_INFO"]
        parts = urlsplit(raw_uri)
        path = parts.path
        raw_query = parts.query if parts.query else environ.get("QUERY_STRING", "")
        pairs = parse_qsl(raw_query, keep_blank_values=True)
        query = dict(pairs)
        headers = {
            name[5:].replace("_", "-").lower(): value
            for name, value in environ.items()
            if name.startswith("HTTP_")
        }
        for name in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            if environ.get(name):
                headers[name.replace("_", "-").lower()] = environ[name]
        now = time.time() + self.skew

        if "X-Amz-Signature" in query:  # a presigned URL
            if query.get("X-Amz-Algorithm") != "AWS4-HMAC-SHA256":
                return "AuthorizationQueryParametersError", "Only AWS4-HMAC-SHA256 is accepted."
            credential = query.get("X-Amz-Credential", "")
            amz_date = query.get("X-Amz-Date", "")
            signed_headers = query.get("X-Amz-SignedHeaders", "")
            signature = query["X-Amz-Signature"]
            try:
                expires = int(query.get("X-Amz-Expires", ""))
            except ValueError:
                return "AuthorizationQueryParametersError", "X-Amz-Expires is not a number."
            signed_pairs = [(k, v) for k, v in pairs if k != "X-Amz-Signature"]
            payload_hash = "UNSIGNED-PAYLOAD"
        elif "authorization" in headers:
            fields = _authorization_fields(headers["authorization"])
            if fields is None:
                return "AccessDenied", "Only AWS4-HMAC-SHA256 is accepted."
            credential, signed_headers, signature = fields
            amz_date = headers.get("x-amz-date", "")
            expires = MAX_SKEW_SECONDS
            signed_pairs = pairs
            payload_hash = headers.get("x-amz-content-sha256", "")
        else:
            return "AccessDenied", "Access Denied"  # the bucket is private: no anonymous access

        scope = credential.split("/")
        if len(scope) != 5 or scope[3] != "s3" or scope[4] != "aws4_request":
            return "AuthorizationQueryParametersError", "Malformed credential."
        if scope[0] != self.access_key:
            return "InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist."
        try:
            signed_at = datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
        except ValueError:
            return "AccessDenied", "X-Amz-Date is missing or malformed."
        if amz_date[:8] != scope[1]:
            return "SignatureDoesNotMatch", "The credential date does not match X-Amz-Date."
        if signed_at.timestamp() > now + MAX_SKEW_SECONDS:
            return "RequestTimeTooSkewed", "The request is signed in the future."
        if now > signed_at.timestamp() + expires:
            return "AccessDenied", "Request has expired"

        names = signed_headers.split(";")
        if "host" not in names:
            return "AccessDenied", "The host header must be signed."
        canonical_request = "\n".join(
            [
                environ["REQUEST_METHOD"],
                path,
                _canonical_query(signed_pairs),
                "".join(f"{n}:{' '.join(headers.get(n, '').split())}\n" for n in names),
                signed_headers,
                payload_hash,
            ]
        )
        string_to_sign = "\n".join(
            [
                "AWS4-HMAC-SHA256",
                amz_date,
                "/".join(scope[1:]),
                hashlib.sha256(canonical_request.encode()).hexdigest(),
            ]
        )
        key = f"AWS4{self.secret_key}".encode()
        for part in scope[1:]:
            key = hmac.new(key, part.encode(), hashlib.sha256).digest()
        expected = hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, signature):
            return (
                "SignatureDoesNotMatch",
                "The request signature we calculated does not match the signature you provided.",
            )
        return None


def _authorization_fields(value: str) -> tuple[str, str, str] | None:
    algorithm, _, rest = value.partition(" ")
    if algorithm != "AWS4-HMAC-SHA256":
        return None
    fields = dict(item.strip().split("=", 1) for item in rest.split(",") if "=" in item)
    try:
        return fields["Credential"], fields["SignedHeaders"], fields["Signature"]
    except KeyError:
        return None


def _canonical_query(pairs: list[tuple[str, str]]) -> str:
    """SigV4's canonical query string: each name and value URI-encoded (RFC 3986 unreserved
    characters kept), sorted by name then value."""
    encoded = sorted((quote(k, safe="-_.~"), quote(v, safe="-_.~")) for k, v in pairs)
    return "&".join(f"{k}={v}" for k, v in encoded)


def start_s3_server(bucket: str = "koepon-test") -> tuple[S3TestServer, Callable[[], None]]:
    """moto's S3 behind the SigV4 checker on 127.0.0.1 (a free port), with ``bucket`` created;
    returns the server and its stop function."""
    import boto3
    from moto.moto_server.werkzeug_app import MotoRequestHandler, create_backend_app
    from werkzeug.serving import make_server

    checker = SigV4Checker(
        create_backend_app("s3"),
        access_key=ACCESS_KEY,
        secret_key=SECRET_KEY,
    )

    class QuietHandler(MotoRequestHandler):  # type: ignore[misc, valid-type]
        def log_request(self, *args: Any, **kwargs: Any) -> None:
            pass

    server = make_server("127.0.0.1", 0, checker, threaded=True, request_handler=QuietHandler)
    thread = threading.Thread(target=server.serve_forever, name="moto-s3", daemon=True)
    thread.start()
    endpoint = f"http://127.0.0.1:{server.server_port}"
    boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
    ).create_bucket(Bucket=bucket)

    def stop() -> None:
        server.shutdown()
        thread.join(timeout=5)
        server.server_close()

    return S3TestServer(endpoint=endpoint, bucket=bucket, checker=checker), stop


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3TestServer]:
    """The session's S3 server (started on first use). Isolate by ``unique_prefix()``."""
    server, stop = start_s3_server()
    try:
        yield server
    finally:
        stop()
