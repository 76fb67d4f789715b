"""The web app's static files under content-hashed URLs: cached for a year, old links still work."""

from __future__ import annotations

import hashlib
import mimetypes
from dataclasses import dataclass
from pathlib import Path

from fastapi import APIRouter, Request, Response

from koepon.kernel.problems import Problem, problem_response

STATIC_DIR = Path(__file__).parent / "static"
BUILD_COMMAND = "scripts/build-web-assets"
IMMUTABLE = "public, max-age=31536000, immutable"
# Un-hashed names (links from before a deploy, or typed by hand) may change at the next deploy.
SHORT_LIVED = "public, max-age=300"
HASH_CHARS = 12

# mimetypes depends on the host's tables; the types browsers insist on are fixed here.
CONTENT_TYPES = {
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".map": "application/json",
    ".json": "application/json",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".webp": "image/webp",
    ".ico": "image/x-icon",
    ".woff2": "font/woff2",
    ".woff": "font/woff",
    ".txt": "text/plain; charset=utf-8",
}


class AssetNotFound(KeyError):
    """No static file of that logical name; the message says what to do."""

    def __str__(self) -> str:
        return str(self.args[0])


@dataclass(frozen=True, slots=True)
class _File:
    logical: str
    body: bytes
    digest: str  # full SHA-256, hex
    content_type: str


def _hashed_name(logical: str, digest: str) -> str:
    # "build/app.css" -> "build/app.3f2a9c1b0d4e.css": the hash goes before the last suffix.
    head, slash, name = logical.rpartition("/")
    stem, _, suffix = name.rpartition(".")
    hashed = f"{stem}.{digest[:HASH_CHARS]}.{suffix}" if stem else f"{name}.{digest[:HASH_CHARS]}"
    return f"{head}{slash}{hashed}"


def _content_type(path: Path) -> str:
    known = CONTENT_TYPES.get(path.suffix.lower())
    return known or mimetypes.guess_type(path.name)[0] or "application/octet-stream"


class Assets:
    """Every file under ``directory``, read and hashed once; ``url()`` for templates, ``router()``
    to serve them under ``prefix``."""

    def __init__(self, directory: Path = STATIC_DIR, *, prefix: str = "/static") -> None:
        self.directory = directory.resolve()
        self.prefix = prefix.rstrip("/")
        self._by_logical: dict[str, _File] = {}
        self._by_hashed: dict[str, _File] = {}
        for path in sorted(self.directory.rglob("*")):
            relative = path.relative_to(self.directory)
            # Dot files (.gitkeep, editor leftovers) and half-written build outputs are not assets.
            if not path.is_file() or any(p.startswith(".") for p in relative.parts):
                continue
            if path.name.endswith(".tmp") or not path.resolve().is_relative_to(self.directory):
                continue
            body = path.read_bytes()
            file = _File(
                relative.as_posix(), body, hashlib.sha256(body).hexdigest(), _content_type(path)
            )
            self._by_logical[file.logical] = file
            self._by_hashed[_hashed_name(file.logical, file.digest)] = file

    def url(self, logical: str) -> str:
        """The public, content-hashed URL of a file given by its path under the static directory
        (``"build/app.css"`` -> ``"/static/build/app.3f2a9c1b0d4e.css"``)."""
        file = self._by_logical.get(logical)
        if file is None:
            hint = f"; files under build/ are made by {BUILD_COMMAND}: run it"
            raise AssetNotFound(
                f"no static file {logical!r} in {self.directory}"
                + (hint if logical.startswith("build/") else "")
            )
        return f"{self.prefix}/{_hashed_name(logical, file.digest)}"

    def router(self) -> APIRouter:
        """GET and HEAD ``{prefix}/{path}``: a current hashed name is cached for a year, a plain
        name for five minutes, anything else (stale hash, ``..``, unknown) is 404."""
        router = APIRouter()

        @router.api_route(
            f"{self.prefix}/{{path:path}}", methods=["GET", "HEAD"], include_in_schema=False
        )
        async def static_file(path: str, request: Request) -> Response:
            # Only names found at start-up are served: the request never reaches the file system,
            # so "..", absolute paths and encoded tricks have nothing to walk to.
            if (file := self._by_hashed.get(path)) is not None:
                cache = IMMUTABLE
            elif (file := self._by_logical.get(path)) is not None:
                cache = SHORT_LIVED
            else:
                problem = Problem(404, "not_found", f"No static file {path!r}")
                return problem_response(problem, request.url.path)
            etag = f'"{file.digest[:32]}"'
            headers = {
                "Cache-Control": cache,
                "ETag": etag,
                "X-Content-Type-Options": "nosniff",
            }
            if etag in _etags(request.headers.get("if-none-match", "")):
                return Response(status_code=304, headers=headers)
            headers["Content-Length"] = str(len(file.body))
            body = b"" if request.method == "HEAD" else file.body
            return Response(body, headers=headers, media_type=file.content_type)

        return router


def _etags(header: str) -> set[str]:
    return {tag.strip().removeprefix("W/") for tag in header.split(",") if tag.strip()}
