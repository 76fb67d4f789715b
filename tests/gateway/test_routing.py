"""The route table: longest prefix at segment boundaries, and /internal never routed."""

from __future__ import annotations

import re

import pytest
from fastapi import FastAPI
from hypothesis import given
from hypothesis import strategies as st

from koepon.app import Platform
from koepon.gateway.routing import ROUTES, RouteTable, is_internal, under
from koepon.kernel.settings import Settings


@pytest.mark.parametrize(
    ("path", "service"),
    [
        ("/api/v1/auth/login", "auth"),
        ("/api/v1/auth/signup", "auth"),
        ("/api/v1/me", "auth"),
        ("/.well-known/jwks.json", "auth"),
        ("/dev/mailbox", "auth"),
        ("/dev/mailbox/3", "auth"),
        ("/api/v1/medal-packs", "payment"),
        ("/api/v1/checkouts/abc", "payment"),
        ("/api/v1/webhooks/stripe", "payment"),
        ("/api/v1/wallet/transactions", "payment"),
        ("/sandbox/checkouts/abc/complete", "payment"),
        ("/api/v1/admin/reports/prepaid-balance", "payment"),
        ("/api/v1/admin/medal-packs/1", "payment"),
        ("/api/v1/receipts/1", "payment"),
        ("/api/v1/admin/ledger/audit", "payment"),
    ],
)
def test_public_paths_go_to_the_service_that_owns_them(path: str, service: str) -> None:
    assert RouteTable().service_for(path) == service


@pytest.mark.parametrize(
    "path",
    ["/", "/api/v1", "/api/v1/mee", "/api/v1/medal-packsx", "/sandboxes", "/api/v1/admin"],
)
def test_paths_that_only_share_characters_with_a_prefix_are_not_routed(path: str) -> None:
    assert RouteTable().service_for(path) is None


def test_the_longest_prefix_wins() -> None:
    table = RouteTable({"/api/v1/me": "auth", "/api/v1/me/seeds": "gacha"})
    assert table.service_for("/api/v1/me") == "auth"
    assert table.service_for("/api/v1/me/sessions") == "auth"
    assert table.service_for("/api/v1/me/seeds") == "gacha"
    assert table.service_for("/api/v1/me/seeds/rotate") == "gacha"
    assert table.service_for("/api/v1/me/seedsx") == "auth"


def test_internal_paths_are_never_routed() -> None:
    table = RouteTable({"/": "web", **ROUTES})
    for path in ("/internal", "/internal/", "/internal/auth/accounts/1"):
        assert is_internal(path)
        assert table.service_for(path) is None
    assert table.service_for("/internals") == "web"


def test_an_internal_prefix_cannot_be_declared_public() -> None:
    with pytest.raises(ValueError):
        RouteTable({"/internal/auth": "auth"})
    with pytest.raises(ValueError):
        RouteTable({"api/v1/x": "auth"})


def test_every_declared_service_is_routed_somewhere() -> None:
    assert {"auth", "payment"} <= RouteTable().services


segment = st.text(alphabet="abcdefghijklmnopqrstuvwxyz-.", min_size=1, max_size=8)


@given(st.lists(segment, min_size=1, max_size=4), st.lists(segment, max_size=3))
def test_a_prefix_covers_exactly_its_own_subtree(prefix: list[str], rest: list[str]) -> None:
    base = "/" + "/".join(prefix)
    assert under(base + "".join("/" + s for s in rest), base)
    assert not under(base + "x", base)


def test_every_public_route_of_every_service_is_routed_to_it(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """What a service serves publicly, the distributed gateway forwards to it (issue 8: the
    ledger audit was served by payment but not routed)."""
    platform = Platform(Settings(environment="test", data_dir=tmp_path))
    table = RouteTable()
    unrouted = []
    for name, unit in platform.units.items():
        app = FastAPI()
        app.include_router(unit.router)
        for path in app.openapi()["paths"]:
            concrete = re.sub(r"\{[^}]+\}", "x", path)
            if table.service_for(concrete) != name:
                unrouted.append((name, path))
    assert unrouted == []
