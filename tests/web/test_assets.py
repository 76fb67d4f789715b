"""Static files: content-hashed URLs cached for a year, plain names for five minutes, nothing
outside the static directory, and the front-end build from exactly pinned npm packages."""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from koepon.web.assets import STATIC_DIR, Assets

ROOT = Path(__file__).resolve().parents[2]
RARITIES = ["N", "R", "SR", "SSR", "UR"]
PNG = b"\x89PNG\r\n\x1a\n" + bytes(16)


@pytest.fixture
def static(tmp_path: Path) -> Path:
    directory = tmp_path / "static"
    (directory / "build" / "vendor").mkdir(parents=True)
    (directory / "build" / "app.css").write_text(".card{color:#000}")
    (directory / "build" / "vendor" / "htmx.min.js").write_text("var htmx={};")
    (directory / "koepon.js").write_text("console.log('koepon');")
    (directory / "logo.svg").write_text('<svg xmlns="http://www.w3.org/2000/svg"/>')
    (directory / "logo.png").write_bytes(PNG)
    (directory / "font.woff2").write_bytes(b"wOF2" + bytes(8))
    (directory / ".gitkeep").write_text("")
    (tmp_path / "secret.txt").write_text("not an asset")
    return directory


async def _client(assets: Assets) -> httpx.AsyncClient:
    app = FastAPI()
    app.include_router(assets.router())
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")


@pytest.fixture
async def client(static: Path) -> AsyncIterator[httpx.AsyncClient]:
    async with await _client(Assets(static)) as client:
        yield client


def test_url_puts_a_sha256_prefix_before_the_suffix(static: Path) -> None:
    url = Assets(static).url("build/app.css")
    assert re.fullmatch(r"/static/build/app\.[0-9a-f]{12}\.css", url)
    assert re.fullmatch(r"/static/koepon\.[0-9a-f]{12}\.js", Assets(static).url("koepon.js"))
    assert Assets(static, prefix="/s/").url("logo.svg").startswith("/s/logo.")


def test_url_of_an_unknown_file_names_it(static: Path) -> None:
    with pytest.raises(KeyError, match=r"nope\.js"):
        Assets(static).url("nope.js")
    with pytest.raises(KeyError, match="gitkeep"):
        Assets(static).url(".gitkeep")  # dot files are not assets


def test_without_a_build_the_other_files_still_work(static: Path) -> None:
    for file in (static / "build" / "vendor").iterdir():
        file.unlink()
    (static / "build" / "vendor").rmdir()
    (static / "build" / "app.css").unlink()
    (static / "build").rmdir()
    assets = Assets(static)
    assert assets.url("koepon.js").startswith("/static/koepon.")
    with pytest.raises(KeyError, match="scripts/build-web-assets"):
        assets.url("build/app.css")


async def test_hashed_url_is_served_immutable(static: Path, client: httpx.AsyncClient) -> None:
    response = await client.get(Assets(static).url("build/app.css"))
    assert response.status_code == 200
    assert response.text == ".card{color:#000}"
    assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert response.headers["content-type"] == "text/css; charset=utf-8"


async def test_plain_name_is_served_with_a_short_cache(client: httpx.AsyncClient) -> None:
    response = await client.get("/static/build/app.css")
    assert response.status_code == 200
    assert response.text == ".card{color:#000}"
    assert response.headers["cache-control"] == "public, max-age=300"


async def test_stale_hash_is_404(static: Path) -> None:
    old_url = Assets(static).url("build/app.css")
    (static / "build" / "app.css").write_text(".card{color:#111}")
    assets = Assets(static)
    assert assets.url("build/app.css") != old_url
    async with await _client(assets) as client:
        assert (await client.get(old_url)).status_code == 404
        assert (await client.get(assets.url("build/app.css"))).text == ".card{color:#111}"
        assert (await client.get("/static/build/app.0123456789ab.css")).status_code == 404


async def test_hashed_url_serves_the_bytes_it_was_hashed_from(
    static: Path, client: httpx.AsyncClient
) -> None:
    # A rebuild under a running server must not put new bytes behind a year-long cached name.
    url = Assets(static).url("build/app.css")
    (static / "build" / "app.css").write_text(".card{color:#222}")
    assert (await client.get(url)).text == ".card{color:#000}"


@pytest.mark.parametrize(
    "path",
    [
        "/static/../secret.txt",
        "/static/%2e%2e/secret.txt",
        "/static/..%2fsecret.txt",
        "/static/build/..%2f..%2fsecret.txt",
        "/static/%2fetc%2fpasswd",
        "/static//etc/passwd",
        "/static/.gitkeep",
        "/static/build",
        "/static/",
    ],
)
async def test_traversal_and_non_files_are_404(client: httpx.AsyncClient, path: str) -> None:
    response = await client.get(path)
    assert response.status_code == 404
    assert "not an asset" not in response.text


@pytest.mark.parametrize(
    ("logical", "content_type"),
    [
        ("build/app.css", "text/css; charset=utf-8"),
        ("koepon.js", "text/javascript; charset=utf-8"),
        ("build/vendor/htmx.min.js", "text/javascript; charset=utf-8"),
        ("logo.svg", "image/svg+xml"),
        ("logo.png", "image/png"),
        ("font.woff2", "font/woff2"),
    ],
)
async def test_content_types(
    static: Path, client: httpx.AsyncClient, logical: str, content_type: str
) -> None:
    response = await client.get(Assets(static).url(logical))
    assert response.headers["content-type"] == content_type
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.content == (static / logical).read_bytes()


async def test_head_sends_the_headers_without_the_body(
    static: Path, client: httpx.AsyncClient
) -> None:
    response = await client.head(Assets(static).url("logo.png"))
    assert response.status_code == 200
    assert response.content == b""
    assert response.headers["content-length"] == str(len(PNG))
    assert response.headers["cache-control"].endswith("immutable")


async def test_a_known_etag_gets_304(client: httpx.AsyncClient) -> None:
    first = await client.get("/static/koepon.js")
    again = await client.get("/static/koepon.js", headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304
    assert again.content == b""


# The real build: scripts/build-web-assets (run by `make setup`) from package-lock.json.


@pytest.fixture(scope="module")
def built() -> Path:
    # A no-op in milliseconds when `make setup` already built; proves the script on a fresh tree.
    subprocess.run(["bash", str(ROOT / "scripts" / "build-web-assets")], check=True, cwd=ROOT)
    return STATIC_DIR / "build"


def test_built_css_has_the_component_classes(built: Path) -> None:
    css = (built / "app.css").read_text()
    for rarity in RARITIES:
        assert f".rarity-{rarity}{{" in css
        assert f".reveal-{rarity}{{" in css
    for name in ["btn", "btn-primary", "card", "field", "notice", "table", "badge", "overlay-body"]:
        assert f".{name}{{" in css, name
    assert ".sr-only{" in css
    assert "Hiragino Sans" in css
    assert "prefers-reduced-motion:reduce" in css
    assert css.count("\n") < 5, "minified"


def test_build_vendors_htmx_and_socket_io_and_leaves_axe_for_the_tests(built: Path) -> None:
    assert "htmx" in (built / "vendor" / "htmx.min.js").read_text()[:2000]
    assert "io" in (built / "vendor" / "socket.io.min.js").read_text()[:2000]
    assert (ROOT / "node_modules" / "axe-core" / "axe.min.js").is_file()
    assets = Assets()
    for logical in ["build/app.css", "build/vendor/htmx.min.js", "build/vendor/socket.io.min.js"]:
        assert assets.url(logical).startswith("/static/build/")


def test_front_end_packages_are_pinned_exactly() -> None:
    package = json.loads((ROOT / "package.json").read_text())
    lock = json.loads((ROOT / "package-lock.json").read_text())
    pins = {**package.get("dependencies", {}), **package.get("devDependencies", {})}
    majors = {"tailwindcss": "3", "htmx.org": "2", "socket.io-client": "4", "axe-core": "4"}
    assert set(pins) == set(majors)
    assert package["private"] is True
    for name, version in pins.items():
        assert re.fullmatch(r"\d+\.\d+\.\d+", version), f"{name} is not pinned: {version}"
        assert version.split(".")[0] == majors[name], name
        assert lock["packages"][f"node_modules/{name}"]["version"] == version, name
        assert lock["packages"][f"node_modules/{name}"]["integrity"].startswith("sha512-")
    assert lock["packages"][""]["devDependencies"] == package["devDependencies"]
