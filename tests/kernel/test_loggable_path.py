"""The access log never keeps a credential that travels in a URL path."""

from __future__ import annotations

from koepon.kernel.observability import loggable_path


def test_paths_carrying_a_credential_are_masked_and_others_kept() -> None:
    secret = "AbCdEfGhIjKlMnOpQrStUvWxYz0123456789_-abcde"
    assert loggable_path(f"/api/v1/downloads/{secret}") == "/api/v1/downloads/***"
    assert loggable_path(f"/api/v1/overlays/{secret}") == "/api/v1/overlays/***"
    assert loggable_path(f"/overlay/{secret}") == "/overlay/***"
    assert loggable_path("/api/v1/gachas/g-1") == "/api/v1/gachas/g-1"
