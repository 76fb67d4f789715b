"""The gateway's route table: which service serves a public path (longest prefix wins)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

# Public path prefix → service. A prefix matches itself and everything below it at a segment
# boundary, and the longest matching prefix wins, so a sub-resource can belong to another
# service (``/api/v1/me`` is auth, ``/api/v1/me/seeds`` is gacha); a ``*`` segment matches any one
# segment (a VTuber's contents belong to rewards, its gachas to gacha).
ROUTES: dict[str, str] = {
    "/api/v1/auth": "auth",
    "/api/v1/me": "auth",
    "/.well-known/jwks.json": "auth",
    "/dev/mailbox": "auth",
    "/dev/mailbox.json": "auth",
    "/api/v1/admin/users": "auth",
    "/api/v1/medal-packs": "payment",
    "/api/v1/checkouts": "payment",
    "/api/v1/webhooks": "payment",
    "/api/v1/wallet": "payment",
    "/api/v1/receipts": "payment",
    "/sandbox": "payment",
    "/api/v1/admin/reports": "payment",
    "/api/v1/admin/payments": "payment",
    "/api/v1/admin/wallets": "payment",
    "/api/v1/admin/medal-packs": "payment",
    "/api/v1/admin/ledger": "payment",
    "/api/v1/gachas": "gacha",
    "/api/v1/draws": "gacha",
    "/api/v1/draw-log": "gacha",
    "/api/v1/me/seeds": "gacha",
    # A VTuber's gacha drafts are the gacha service's; the VTuber itself is the VTuber service's.
    "/api/v1/vtubers/*/gachas": "gacha",
    "/api/v1/admin/gachas": "gacha",
    "/api/v1/admin/gacha-proposals": "gacha",
    "/api/v1/admin/draws": "gacha",
    "/api/v1/vtubers/*/contents": "rewards",
    "/api/v1/contents": "rewards",
    "/api/v1/collection": "rewards",
    "/api/v1/downloads": "rewards",
    "/api/v1/previews": "rewards",
    "/api/v1/vtubers": "vtuber",
    # A stream overlay's secret URL resolves in the VTuber service (the token is the credential).
    "/api/v1/overlays": "vtuber",
    "/api/v1/vtuber-invitations": "vtuber",
    "/api/v1/me/vtubers": "vtuber",
    "/api/v1/admin/vtubers": "vtuber",
    "/api/v1/admin/payouts": "vtuber",
    "/api/v1/admin/statements": "vtuber",
}

# Public GETs whose answers are the same for every anonymous caller, cached briefly at the edge,
# each with the prefixes whose successful writes change it (they drop its cached answers at once,
# so an operator's edit is visible on the next read, not after the cache expires).
CACHEABLE: dict[str, tuple[str, ...]] = {
    "/api/v1/medal-packs": ("/api/v1/medal-packs", "/api/v1/admin/medal-packs"),
}

# Service-to-service endpoints; never reachable through the gateway.
INTERNAL_PREFIX = "/internal"


def under(path: str, prefix: str) -> bool:
    """Whether ``path`` is ``prefix`` or below it (``/api/v1/me`` is not under ``/api/v1/m``).
    A ``*`` segment of the prefix matches any one non-empty segment of the path
    (``/api/v1/vtubers/*/contents``)."""
    prefix = prefix.rstrip("/")
    if "*" not in prefix:
        return path == prefix or path.startswith(prefix + "/")
    wanted = prefix.split("/")
    parts = path.split("/")
    if len(parts) < len(wanted):
        return False
    return all((w == "*" and p != "") or w == p for w, p in zip(wanted, parts, strict=False))


def matches(path: str, pattern: str) -> bool:
    """Whether ``path`` is exactly ``pattern`` (``*`` segments match any one segment)."""
    return under(path, pattern) and path.rstrip("/").count("/") == pattern.rstrip("/").count("/")


def under_any(path: str, prefixes: tuple[str, ...]) -> bool:
    return any(under(path, prefix) for prefix in prefixes)


def is_internal(path: str) -> bool:
    return under(path, INTERNAL_PREFIX)


@dataclass(frozen=True)
class Route:
    prefix: str
    service: str


class RouteTable:
    """Resolves a request path to the service that serves it."""

    def __init__(self, routes: Mapping[str, str] = ROUTES) -> None:
        for prefix in routes:
            if not prefix.startswith("/") or is_internal(prefix):
                raise ValueError(f"Not a public route prefix: {prefix!r}")
        # Longest first, so the first match is the most specific.
        self._routes = sorted(
            (Route(prefix.rstrip("/") or "/", service) for prefix, service in routes.items()),
            key=lambda route: len(route.prefix),
            reverse=True,
        )

    def resolve(self, path: str) -> Route | None:
        if is_internal(path):
            return None
        for route in self._routes:
            if under(path, route.prefix):
                return route
        return None

    def service_for(self, path: str) -> str | None:
        route = self.resolve(path)
        return route.service if route else None

    @property
    def services(self) -> frozenset[str]:
        return frozenset(route.service for route in self._routes)
