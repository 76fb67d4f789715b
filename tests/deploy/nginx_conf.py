"""deploy/nginx/koepon.conf.template for the tests: filled in (as envsubst would), written
under an nginx prefix, and read back as nginx chooses a location."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

from koepon.kernel.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "deploy" / "nginx" / "koepon.conf.template"
PLACEHOLDER = re.compile(r"\$\{([A-Z][A-Z0-9_]*)\}")
# A location's body: placeholders, quoted strings (JSON answers) or anything but braces.
LOCATION = re.compile(r"location\s+(=|\^~|~)?\s*(\S+)\s*\{((?:\$\{[A-Z0-9_]+\}|'[^']*'|[^{}'])*)\}")
# Small limits, so that the 429s come after a few requests while the journey stays under them.
API_BURST = 60
LOGIN_BURST = 3


def render(template: str, values: dict[str, str]) -> str:
    """envsubst over the template's upper-case placeholders only; every one must be given."""
    missing = set(PLACEHOLDER.findall(template)) - set(values)
    if missing:
        raise KeyError(f"No value for {sorted(missing)}")
    return PLACEHOLDER.sub(lambda m: values[m.group(1)], template)


def nginx_binary() -> str | None:
    return shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx",) if os.access(p, os.X_OK)), None
    )


def values(listen: str, upstreams: dict[str, str], access_log: str) -> dict[str, str]:
    settings = Settings()
    return {
        "LISTEN": listen,
        **{f"{name.upper()}_UPSTREAM": address for name, address in upstreams.items()},
        "MIME_TYPES": "/etc/nginx/mime.types",
        "ACCESS_LOG": access_log,
        "API_RATE": "20r/s",
        "API_BURST": str(API_BURST),
        "LOGIN_RATE": "10r/m",
        "LOGIN_BURST": str(LOGIN_BURST),
        "MAX_BODY_BYTES": str(settings.max_body_bytes),
        "MAX_UPLOAD_BYTES": str(settings.max_upload_bytes),
        "CACHE_SECONDS": str(settings.response_cache_seconds),
        "UPSTREAM_TIMEOUT": f"{int(settings.gateway_upstream_timeout_seconds)}s",
    }


def choose(locations: list[tuple[str, str, str]], path: str) -> str:
    """The upstream nginx picks for ``path``: an exact match, else the longest prefix unless it
    is ``^~``, in which case regexes are tried first, in order (nginx's location rules)."""
    for kind, pattern, upstream in locations:
        if kind == "=" and pattern == path:
            return upstream
    prefixes = [loc for loc in locations if loc[0] in ("", "^~") and path.startswith(loc[1])]
    longest = max(prefixes, key=lambda loc: len(loc[1]), default=None)
    if longest is None or longest[0] != "^~":
        for kind, pattern, upstream in locations:
            if kind == "~" and re.search(pattern, path):
                return upstream
    return longest[2] if longest else ""


def parsed_locations() -> list[tuple[str, str, str]]:
    found = []
    for kind, pattern, body in LOCATION.findall(TEMPLATE.read_text()):
        upstream = re.search(r"proxy_pass http://koepon_(\w+);", body)
        answer = re.search(r"return (\d+)", body)
        found.append(
            (
                kind or "",
                pattern,
                upstream.group(1) if upstream else (answer.group(1) if answer else ""),
            )
        )
    return found


def write_prefix(prefix: Path, filled: dict[str, str]) -> Path:
    for sub in ("logs", "temp", "cache"):
        (prefix / sub).mkdir(parents=True, exist_ok=True)
    conf = prefix / "koepon.conf"
    conf.write_text(render(TEMPLATE.read_text(), filled))
    return conf
