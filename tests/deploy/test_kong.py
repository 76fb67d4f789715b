"""deploy/kong/kong.yml: every prefix of the built-in gateway's route table reaches the same
service through Kong (its regex routes resolved by regex_priority, as Kong's router does), and
the edge plugins the brief asks for are configured."""

from __future__ import annotations

import re
from typing import Any

import pytest
import yaml

from deploy.manifests import ROOT
from koepon.gateway.routing import CACHEABLE, ROUTES, RouteTable


@pytest.fixture(scope="module")
def kong() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "deploy" / "kong" / "kong.yml").read_text(encoding="utf-8"))


def _routes(kong: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [(service["name"], route) for service in kong["services"] for route in service["routes"]]


def _kong_service_for(kong: dict[str, Any], path: str) -> str | None:
    """The service Kong picks: among the regex paths matching from the start of the path, the
    one of the highest regex_priority (ties would depend on creation order: none allowed)."""
    matching = [
        (route.get("regex_priority", 0), service)
        for service, route in _routes(kong)
        for pattern in route["paths"]
        if re.match(pattern.removeprefix("~"), path)
    ]
    if not matching:
        return None
    best = max(priority for priority, _ in matching)
    winners = {service for priority, service in matching if priority == best}
    assert len(winners) == 1, f"{path}: tie between {winners}"
    return winners.pop()


def test_kong_config_is_declarative_and_well_formed(kong: dict[str, Any]) -> None:
    assert kong["_format_version"] == "3.0"
    names = [route["name"] for _, route in _routes(kong)]
    assert len(names) == len(set(names))
    for _, route in _routes(kong):
        assert all(path.startswith("~/") for path in route["paths"]), route["name"]
        for path in route["paths"]:
            re.compile(path.removeprefix("~"))
        assert route.get("strip_path") is False, route["name"]


def test_every_gateway_route_has_a_kong_route_to_the_same_service(kong: dict[str, Any]) -> None:
    table = RouteTable()
    for prefix, service in ROUTES.items():
        concrete = prefix.replace("*", "some-id")
        for path in (concrete, f"{concrete}/child", f"{concrete}/child/grandchild"):
            assert _kong_service_for(kong, path) == table.service_for(path) == service, path
        # Kong matches at segment boundaries, as the gateway does.
        assert _kong_service_for(kong, f"{concrete}x") in (table.service_for(f"{concrete}x"), "web")


def test_pages_and_socketio_go_to_the_web_and_internal_paths_are_closed(
    kong: dict[str, Any],
) -> None:
    for path in ("/", "/gachas/some-id", "/wallet", "/static/build/app.css"):
        assert _kong_service_for(kong, path) == "web"
    assert _kong_service_for(kong, "/socket.io/?EIO=4&transport=websocket") == "web"
    for path in ("/internal/payment/holds", "/metrics"):
        assert _kong_service_for(kong, path) == "closed"


def test_edge_plugins(kong: dict[str, Any]) -> None:
    plugins = {plugin["name"]: plugin["config"] for plugin in kong["plugins"]}
    assert plugins["rate-limiting"]["policy"] == "redis"
    assert plugins["rate-limiting"]["redis"]["password"].startswith("{vault://")
    assert plugins["correlation-id"]["header_name"] == "X-Request-ID"
    assert {"file-log", "http-log"} <= plugins.keys()
    jwks = plugins["openid-connect"]["extra_jwks_uris"]
    assert all(uri.endswith("/.well-known/jwks.json") for uri in jwks)
    assert plugins["openid-connect"]["anonymous"] in {c["username"] for c in kong["consumers"]}
    cached = {
        route["name"]
        for _, route in _routes(kong)
        if any(p["name"] == "proxy-cache" for p in route.get("plugins", []))
    }
    for prefix in CACHEABLE:
        route = next(
            r for _, r in _routes(kong) if r["name"] == prefix.strip("/").replace("/", "-")
        )
        assert route["name"] in cached
        cache = next(p for p in route["plugins"] if p["name"] == "proxy-cache")["config"]
        assert cache["request_method"] == ["GET", "HEAD"]
