"""deploy/nginx/koepon.conf.template for the tests: filled in (as envsubst would), written
under an nginx prefix, and read back as nginx chooses a location."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import httpx

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


def servers(addresses: str | list[str]) -> str:
    """An upstream's ``server`` lines: one address, or every replica of a service. A replica
    that failed once is left out for a few seconds (then tried again), as a Service drops a
    pod that fails its readiness probe."""
    listed = [addresses] if isinstance(addresses, str) else addresses
    return " ".join(f"server {a} max_fails=1 fail_timeout=3s;" for a in listed)


def values(
    listen: str,
    upstreams: dict[str, str] | dict[str, list[str]],
    access_log: str,
    **overrides: str,
) -> dict[str, str]:
    """The template's placeholders; ``upstreams`` maps each service (and "gateway") to its
    address or its replicas' addresses; ``overrides`` replace any placeholder (limits)."""
    settings = Settings()
    return {
        "LISTEN": listen,
        **{f"{name.upper()}_SERVERS": servers(address) for name, address in upstreams.items()},
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
        **overrides,
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


def cluster_services_conf(listen: dict[str, int], replicas: dict[str, list[str]]) -> str:
    """A stand-in for Kubernetes Services: one loopback port per service (its stable address,
    what KOEPON_SERVICE_URLS names in production) balancing over the service's replicas, and,
    like a Service, passing /internal too (it is not the edge). A replica that refuses the
    connection is skipped, as kube-proxy stops sending to a pod once it is not ready; a request
    already sent is never resent (the caller retries)."""
    blocks = []
    for name, port in listen.items():
        blocks.append(
            f"upstream svc_{name} {{ {servers(replicas[name])} keepalive 16; }}\n"
            f"server {{\n"
            f"    listen 127.0.0.1:{port};\n"
            f"    location / {{\n"
            f"        proxy_pass http://svc_{name};\n"
            f"        proxy_next_upstream error timeout;\n"
            f"        proxy_next_upstream_tries 3;\n"
            f"    }}\n"
            f"}}\n"
        )
    return (
        "worker_processes 1;\npid services.pid;\nerror_log logs/services-error.log warn;\n"
        "events { worker_connections 1024; }\n"
        "http {\n"
        "    access_log logs/services-access.log;\n"
        "    client_body_temp_path temp/client_body;\n    proxy_temp_path temp/proxy;\n"
        "    fastcgi_temp_path temp/fastcgi;\n    uwsgi_temp_path temp/uwsgi;\n"
        "    scgi_temp_path temp/scgi;\n"
        "    client_max_body_size 64m;\n    proxy_http_version 1.1;\n"
        '    proxy_set_header Connection "";\n    proxy_buffering off;\n'
        "    proxy_connect_timeout 2s;\n    proxy_read_timeout 60s;\n" + "".join(blocks) + "}\n"
    )


def start_nginx(binary: str, prefix: Path, conf: Path) -> subprocess.Popen[bytes]:
    """nginx in the foreground under ``prefix``, its stderr in ``logs/<conf>.stderr.log``."""
    # As root, nginx's workers would drop to "nobody", who cannot enter pytest's private tmp.
    directives = "daemon off;" + (" user root;" if os.geteuid() == 0 else "")
    error_log = (prefix / "logs" / f"{conf.stem}.stderr.log").open("wb")
    process = subprocess.Popen(
        [binary, "-p", str(prefix), "-c", str(conf), "-e", "stderr", "-g", directives],
        stdout=error_log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    error_log.close()
    return process


def wait_answering(nginx: subprocess.Popen[bytes], prefix: Path, conf: Path, url: str) -> None:
    """Until ``url`` answers 200 through nginx (which must not have exited)."""
    stderr = prefix / "logs" / f"{conf.stem}.stderr.log"
    deadline = time.monotonic() + 10
    while True:
        assert nginx.poll() is None, stderr.read_text()
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, f"nginx never answered {url}:\n{stderr.read_text()}"
        time.sleep(0.1)


def stop_nginx(nginx: subprocess.Popen[bytes] | None) -> None:
    if nginx is not None and nginx.poll() is None:
        nginx.terminate()
        nginx.wait(timeout=10)
