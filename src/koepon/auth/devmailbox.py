"""Who may read the dev mailbox: it holds reset and verification links, so anyone reading it
could take over any account. Only this machine (a loopback client that did not come through a
proxy) or a signed-in operator (admin); the mailbox itself never exists in production."""

from __future__ import annotations

import ipaddress

from starlette.requests import Request

from koepon.kernel.errors import Forbidden

FORWARDING_HEADERS = ("forwarded", "x-forwarded-for", "x-real-ip")
NOTICE = (
    "この受信箱は開発用です。このマシン自身(ループバック)からのアクセスか、ログイン中の運営者"
    "(admin)にだけ表示され、本番環境には存在しません。 / Dev mailbox: shown only to requests "
    "from this machine (loopback, not through a proxy) or to a signed-in operator (admin); it "
    "never exists in production."
)


class DevMailboxRefused(Forbidden):
    code = "dev_mailbox_local_only"


def from_this_machine(request: Request) -> bool:
    """A loopback peer, and nothing says it relays someone else (a proxy on this machine)."""
    if any(name in request.headers for name in FORWARDING_HEADERS):
        return False
    host = request.client.host if request.client else ""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def refused() -> DevMailboxRefused:
    return DevMailboxRefused(
        "The dev mailbox answers only requests from this machine or a signed-in operator"
    )
