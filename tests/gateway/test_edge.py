"""The embedded gateway edge in front of a stand-in service (memory and Redis adapters)."""

from __future__ import annotations

import asyncio

from koepon.kernel.problems import PROBLEM_JSON


def assert_problem(response, status: int, code: str) -> dict:  # type: ignore[no-untyped-def]
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM_JSON)
    body = response.json()
    assert body["status"] == status
    assert body["code"] == code
    assert body["type"].endswith(code)
    assert body["detail"]
    return body


async def test_every_response_carries_the_security_headers(edge) -> None:
    http, _ = edge()
    for response in (
        await http.get("/api/v1/medal-packs"),
        await http.get("/nowhere"),
        await http.post("/api/v1/notes", content=b"{", headers={"content-type": "text/plain"}),
    ):
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["referrer-policy"] == "strict-origin-when-cross-origin"
        csp = response.headers["content-security-policy"]
        assert "default-src 'self'" in csp
        assert "frame-ancestors 'none'" in csp
        assert "strict-transport-security" not in response.headers


async def test_hsts_is_sent_over_https_only(edge) -> None:
    http, _ = edge()
    http.base_url = "https://testserver"
    response = await http.get("/api/v1/medal-packs")
    assert response.headers["strict-transport-security"].startswith("max-age=")


async def test_docs_page_may_load_swagger_ui(edge) -> None:
    http, _ = edge()
    response = await http.get("/api/v1/docs")
    assert response.status_code == 200
    assert "cdn.jsdelivr.net" in response.headers["content-security-policy"]


async def test_cors_allows_configured_origins_only(edge) -> None:
    http, _ = edge(cors_origins=["https://fans.example"])
    preflight = {
        "origin": "https://fans.example",
        "access-control-request-method": "POST",
        "access-control-request-headers": "authorization,content-type,idempotency-key",
    }
    allowed = await http.options("/api/v1/notes", headers=preflight)
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == "https://fans.example"
    refused = await http.options(
        "/api/v1/notes", headers={**preflight, "origin": "https://evil.example"}
    )
    assert refused.status_code == 400
    assert "access-control-allow-origin" not in refused.headers
    simple = await http.get("/api/v1/medal-packs", headers={"origin": "https://fans.example"})
    assert simple.headers["access-control-allow-origin"] == "https://fans.example"


async def test_oversized_body_is_refused_with_413_and_changes_nothing(edge) -> None:
    http, state = edge(max_body_bytes=64)
    big = '{"text": "' + "x" * 100 + '"}'
    response = await http.post(
        "/api/v1/notes", content=big, headers={"content-type": "application/json"}
    )
    body = assert_problem(response, 413, "payload_too_large")
    assert body["max_bytes"] == 64
    assert state.notes == []


async def test_oversized_chunked_body_without_length_is_refused_too(edge) -> None:
    http, state = edge(max_body_bytes=64)

    async def chunks():  # type: ignore[no-untyped-def]
        yield b'{"text": "'
        for _ in range(10):
            yield b"x" * 20
        yield b'"}'

    response = await http.post(
        "/api/v1/notes", content=chunks(), headers={"content-type": "application/json"}
    )
    assert "content-length" not in response.request.headers
    assert_problem(response, 413, "payload_too_large")
    assert state.notes == []


async def test_body_within_the_limit_reaches_the_service(edge) -> None:
    http, state = edge(max_body_bytes=64)
    response = await http.post("/api/v1/notes", json={"text": "hello"})
    assert response.status_code == 201
    assert state.notes == ["hello"]


async def test_malformed_json_is_a_422_problem_and_changes_nothing(edge) -> None:
    http, state = edge()
    for content in (b'{"text": ', b"[1, 2", b'{"text": 5}', b"{}", b"\xff\xfe"):
        response = await http.post(
            "/api/v1/notes", content=content, headers={"content-type": "application/json"}
        )
        assert 400 <= response.status_code < 500, content
        assert response.headers["content-type"].startswith(PROBLEM_JSON)
    assert state.notes == []


async def test_non_json_body_on_the_api_is_415(edge) -> None:
    http, state = edge()
    for content_type in ("text/plain", "application/x-www-form-urlencoded", ""):
        response = await http.post(
            "/api/v1/notes", content=b'{"text": "sneaky"}', headers={"content-type": content_type}
        )
        assert_problem(response, 415, "unsupported_media_type")
    assert state.notes == []


async def test_json_with_charset_or_vendor_type_is_accepted(edge) -> None:
    http, state = edge()
    for content_type in ("application/json; charset=utf-8", "application/merge-patch+json"):
        response = await http.post(
            "/api/v1/notes", content=b'{"text": "ok"}', headers={"content-type": content_type}
        )
        assert response.status_code == 201, response.text
    assert state.notes == ["ok", "ok"]


async def test_garbage_content_length_is_a_400_problem(edge) -> None:
    http, state = edge()
    response = await http.post(
        "/api/v1/notes",
        content=b'{"text": "x"}',
        headers={"content-type": "application/json", "content-length": "-1"},
    )
    assert_problem(response, 400, "bad_request")
    assert state.notes == []


async def test_too_many_requests_from_one_ip_get_429_with_retry_after(edge) -> None:
    http, _ = edge(rate_limit_per_ip="3/minute")
    statuses = [(await http.get("/page")).status_code for _ in range(3)]
    assert statuses == [200, 200, 200]
    response = await http.get("/page")
    body = assert_problem(response, 429, "rate_limited")
    assert 1 <= int(response.headers["retry-after"]) <= 60
    assert body["retry_after"] == int(response.headers["retry-after"])


async def test_the_ip_limit_is_per_address(edge) -> None:
    limited = edge(rate_limit_per_ip="2/minute")
    first, second = limited.from_ip("198.51.100.1"), limited.from_ip("198.51.100.2")
    for _ in range(2):
        assert (await first.get("/page")).status_code == 200
    assert (await first.get("/page")).status_code == 429
    assert (await second.get("/page")).status_code == 200


async def test_probes_are_not_rate_limited(edge) -> None:
    http, _ = edge(rate_limit_per_ip="1/minute")
    for _ in range(3):
        assert (await http.get("/healthz")).status_code == 200


async def test_the_user_limit_follows_the_token_across_addresses(edge, signing_key) -> None:
    limited = edge(rate_limit_per_user="2/minute")
    first, second = limited.from_ip("198.51.100.1"), limited.from_ip("198.51.100.2")
    alice = {"authorization": f"Bearer {signing_key.token('alice')}"}
    bob = {"authorization": f"Bearer {signing_key.token('bob')}"}
    assert (await first.get("/api/v1/whoami", headers=alice)).json() == {"user_id": "alice"}
    assert (await second.get("/api/v1/whoami", headers=alice)).status_code == 200
    response = await first.get("/api/v1/whoami", headers=alice)
    assert_problem(response, 429, "rate_limited")
    assert response.headers["retry-after"]
    assert (await first.get("/api/v1/whoami", headers=bob)).status_code == 200


async def test_an_invalid_token_is_refused_at_the_edge(edge, signing_key) -> None:
    http, state = edge()
    other = type(signing_key)()
    for token in ("not-a-jwt", other.token("mallory"), signing_key.token("alice", exp=1)):
        response = await http.get(
            "/api/v1/medal-packs", headers={"authorization": f"Bearer {token}"}
        )
        assert_problem(response, 401, "unauthenticated")
        assert response.headers["www-authenticate"].startswith("Bearer")
    assert state.calls == {}


async def test_a_missing_token_is_left_to_the_service_to_require(edge, signing_key) -> None:
    http, _ = edge()
    assert (await http.get("/api/v1/medal-packs")).status_code == 200
    assert_problem(await http.get("/api/v1/whoami"), 401, "unauthenticated")
    ok = await http.get(
        "/api/v1/whoami", headers={"authorization": f"Bearer {signing_key.token('alice')}"}
    )
    assert ok.json() == {"user_id": "alice"}


async def test_auth_endpoints_are_reached_even_with_a_stale_token(edge, signing_key) -> None:
    http, _ = edge()
    stale = {"authorization": f"Bearer {signing_key.token('alice', exp=1)}"}
    response = await http.get("/api/v1/auth/ping", headers=stale)
    assert response.json() == {"pong": "auth"}


async def test_internal_routes_are_not_reachable_through_the_gateway(edge) -> None:
    http, state = edge()
    for path in ("/internal/ping", "/internal", "/internal/"):
        assert_problem(await http.get(path), 404, "not_found")
    assert state.calls == {}


async def test_unknown_path_is_a_404_problem(edge) -> None:
    http, _ = edge()
    assert_problem(await http.get("/api/v1/no-such-thing"), 404, "not_found")


async def test_public_gets_are_cached_briefly(edge) -> None:
    http, state = edge()
    first = await http.get("/api/v1/medal-packs")
    second = await http.get("/api/v1/medal-packs")
    assert first.headers["x-cache"] == "MISS"
    assert second.headers["x-cache"] == "HIT"
    assert second.json() == first.json()
    assert second.headers["content-type"] == "application/json"
    assert second.headers["x-content-type-options"] == "nosniff"
    assert second.headers["x-request-id"] != first.headers["x-request-id"]
    assert state.calls["medal-packs"] == 1
    other_query = await http.get("/api/v1/medal-packs?limit=1")
    assert other_query.headers["x-cache"] == "MISS"
    assert state.calls["medal-packs"] == 2


async def test_cached_answers_expire(edge) -> None:
    http, state = edge(response_cache_seconds=1)
    assert (await http.get("/api/v1/medal-packs")).headers["x-cache"] == "MISS"
    assert (await http.get("/api/v1/medal-packs")).headers["x-cache"] == "HIT"
    await asyncio.sleep(1.2)
    assert (await http.get("/api/v1/medal-packs")).headers["x-cache"] == "MISS"
    assert state.calls["medal-packs"] == 2


async def test_requests_with_credentials_and_errors_are_never_cached(edge, signing_key) -> None:
    http, state = edge()
    auth = {"authorization": f"Bearer {signing_key.token('alice')}"}
    for _ in range(2):
        response = await http.get("/api/v1/medal-packs", headers=auth)
        assert "x-cache" not in response.headers
    for _ in range(2):
        response = await http.get("/api/v1/medal-packs/broken")
        assert response.status_code == 404
        assert response.headers["x-cache"] == "MISS"
    assert state.calls == {"medal-packs": 2, "broken": 2}


async def test_only_allowlisted_paths_are_cached(edge) -> None:
    http, _ = edge()
    for _ in range(2):
        assert "x-cache" not in (await http.get("/page")).headers


async def test_a_successful_write_drops_the_cached_answers_at_once(edge) -> None:
    http, state = edge()
    assert (await http.get("/api/v1/medal-packs")).json()[0]["packs_added"] == 0
    assert (await http.get("/api/v1/medal-packs")).headers["x-cache"] == "HIT"
    refused = await http.post("/api/v1/admin/medal-packs", json={"text": "refuse"})
    assert refused.status_code == 409
    assert (await http.get("/api/v1/medal-packs")).headers["x-cache"] == "HIT"
    assert (await http.post("/api/v1/admin/medal-packs", json={"text": "new"})).status_code == 201
    fresh = await http.get("/api/v1/medal-packs")
    assert fresh.headers["x-cache"] == "MISS"
    assert fresh.json()[0]["packs_added"] == 1
    assert (await http.get("/api/v1/medal-packs")).headers["x-cache"] == "HIT"
    assert state.calls["medal-packs"] == 2


async def test_metrics_are_refused_without_credentials(edge) -> None:
    http, _ = edge()
    body = assert_problem(await http.get("/metrics"), 401, "unauthenticated")
    assert "admin" in body["detail"]


async def test_metrics_are_refused_to_a_fan_and_to_a_wrong_internal_token(
    edge, signing_key
) -> None:
    http, _ = edge()
    fan = {"authorization": f"Bearer {signing_key.token('fan-1', roles=['fan'])}"}
    assert_problem(await http.get("/metrics", headers=fan), 403, "forbidden")
    wrong = {"x-koepon-internal": "not-the-token"}
    assert_problem(await http.get("/metrics", headers=wrong), 403, "forbidden")
    # A wrong internal token does not fall back to a valid admin token beside it.
    admin = signing_key.token("op-1", roles=["admin"])
    both = {**wrong, "authorization": f"Bearer {admin}"}
    assert_problem(await http.get("/metrics", headers=both), 403, "forbidden")


async def test_metrics_are_served_to_an_admin_and_to_the_scraper(
    edge, signing_key, edge_settings
) -> None:
    http, _ = edge()
    await http.get("/api/v1/medal-packs")
    admin = {"authorization": f"Bearer {signing_key.token('op-1', roles=['admin'])}"}
    as_admin = await http.get("/metrics", headers=admin)
    assert as_admin.status_code == 200
    assert "koepon_http_requests_total" in as_admin.text
    token = edge_settings.internal_token.get_secret_value()
    as_scraper = await http.get("/metrics", headers={"x-koepon-internal": token})
    assert as_scraper.status_code == 200
    assert "koepon_http_request_seconds" in as_scraper.text


async def test_wrong_metrics_credentials_are_metered_per_ip(edge) -> None:
    built = edge(rate_limit_per_ip="2/minute")
    http = built.from_ip("198.51.100.9")
    for _ in range(2):
        assert (
            await http.get("/metrics", headers={"x-koepon-internal": "guess"})
        ).status_code == 403
    assert_problem(
        await http.get("/metrics", headers={"x-koepon-internal": "guess"}), 429, "rate_limited"
    )
