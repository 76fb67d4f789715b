"""Sentry: started only with a DSN, and nothing that identifies a fan or opens a door leaves."""

from __future__ import annotations

from typing import Any

import pytest
import sentry_sdk

from koepon.kernel import sentry
from koepon.kernel.settings import Settings


def test_without_a_dsn_sentry_is_not_started(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(sentry_sdk, "init", lambda **kw: calls.append(kw))
    assert not sentry.configure_sentry(Settings(), "gacha")
    assert calls == []


def test_with_a_dsn_it_starts_without_personal_data(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(sentry_sdk, "init", lambda **kw: calls.append(kw))
    monkeypatch.setattr(sentry_sdk, "set_tag", lambda *a: None)
    settings = Settings(
        sentry_dsn="https://public@sentry.example/1",  # type: ignore[arg-type]
        environment="production",
        sentry_traces_sample_rate=0.05,
        release="1.2.3",
    )
    assert sentry.configure_sentry(settings, "payment")
    (options,) = calls
    assert options["dsn"] == "https://public@sentry.example/1"
    assert options["environment"] == "production" and options["release"] == "1.2.3"
    assert options["traces_sample_rate"] == 0.05
    assert options["send_default_pii"] is False
    assert options["before_send"] is sentry.scrub_event


def test_the_scrubber_removes_credentials_cookies_and_emails() -> None:
    event = {
        "request": {
            "url": "https://koepon.jp/api/v1/me",
            "headers": {
                "Authorization": "Bearer eyJ.secret",
                "Cookie": "session=abc",
                "X-Koepon-Internal": "internal-secret",
                "Accept": "application/json",
            },
            "cookies": {"session": "abc"},
            "data": {"email": "fan@example.com", "note": "write to fan@example.com please"},
        },
        "user": {"id": "u-1", "email": "fan@example.com", "ip_address": "203.0.113.9"},
        "exception": {"values": [{"value": "duplicate key fan@example.com"}]},
        "breadcrumbs": {"values": [{"data": {"headers": [["authorization", "Bearer x"]]}}]},
    }
    scrubbed = sentry.scrub_event(event, {})
    text = repr(scrubbed)
    for secret in ("eyJ.secret", "session=abc", "internal-secret", "fan@example.com", "Bearer x"):
        assert secret not in text
    assert "203.0.113.9" not in text
    assert scrubbed["request"]["headers"]["Accept"] == "application/json"
    assert scrubbed["user"] == {"id": "u-1"}
    assert "cookies" not in scrubbed["request"]
