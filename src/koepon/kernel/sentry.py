"""Error reports to Sentry when ``KOEPON_SENTRY_DSN`` is set, with credentials and emails
stripped before anything leaves the process."""

from __future__ import annotations

import re
from importlib.metadata import PackageNotFoundError, version
from typing import Any, cast

from koepon.kernel.settings import Settings

# Headers that carry credentials; their values never leave the process.
SECRET_HEADERS = frozenset(
    {"authorization", "cookie", "set-cookie", "x-koepon-internal", "proxy-authorization"}
)
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
FILTERED = "[Filtered]"


def _release() -> str | None:
    try:
        return f"koepon@{version('koepon')}"
    except PackageNotFoundError:
        return None


def configure_sentry(settings: Settings, service: str) -> bool:
    """``sentry_sdk.init`` when a DSN is configured; False (nothing done) otherwise."""
    if settings.sentry_dsn is None or not settings.sentry_dsn.get_secret_value():
        return False
    import sentry_sdk

    sentry_sdk.init(
        dsn=settings.sentry_dsn.get_secret_value(),
        environment=settings.environment,
        release=settings.release or _release(),
        traces_sample_rate=settings.sentry_traces_sample_rate,
        send_default_pii=False,
        before_send=cast(Any, scrub_event),
        server_name=service,
    )
    sentry_sdk.set_tag("service", service)
    return True


def _scrub(value: Any) -> Any:
    if isinstance(value, str):
        return _EMAIL.sub(FILTERED, value)
    if isinstance(value, dict):
        return {
            key: FILTERED if str(key).lower() in SECRET_HEADERS else _scrub(item)
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        # Header lists come as [name, value] pairs.
        if len(value) == 2 and isinstance(value[0], str) and value[0].lower() in SECRET_HEADERS:
            return [value[0], FILTERED]
        return [_scrub(item) for item in value]
    return value


def scrub_event(event: dict[str, Any], _hint: Any = None) -> dict[str, Any]:
    """Sentry's ``before_send``: no credential header, cookie or email address is sent."""
    request = event.get("request")
    if isinstance(request, dict):
        request.pop("cookies", None)
    user = event.get("user")
    if isinstance(user, dict):
        user.pop("email", None)
        user.pop("ip_address", None)
    scrubbed: dict[str, Any] = _scrub(event)
    return scrubbed
