"""``attach`` gives the routes ``include_router`` gives, without FastAPI building them again."""

from __future__ import annotations

import httpx
from fastapi import APIRouter, Depends, FastAPI, Header, HTTPException
from fastapi.routing import APIRoute
from pydantic import BaseModel

from koepon.kernel.routers import attach


class Item(BaseModel):
    id: int
    name: str


def _guard(x_token: str = Header(default="")) -> None:
    if x_token != "secret":
        raise HTTPException(403, "no")


def _leaf(tag: str) -> APIRouter:
    router = APIRouter(prefix=f"/api/{tag}", tags=[tag])

    @router.get("/items/{item_id}", response_model=Item, responses={404: {"description": "x"}})
    async def read(item_id: int) -> Item:
        return Item(id=item_id, name=tag)

    @router.post("/items", status_code=201, response_model=Item)
    async def create(item: Item) -> Item:
        return item

    return router


def _internal() -> APIRouter:
    router = APIRouter()

    @router.get("/balance")
    async def balance() -> dict[str, int]:
        return {"medals": 3}

    return router


def _app(combine: str) -> FastAPI:
    app = FastAPI()
    service = APIRouter()
    internal = APIRouter(prefix="/internal/x", dependencies=[Depends(_guard)])
    hidden = APIRouter(include_in_schema=False)
    page = APIRouter(include_in_schema=False)

    @page.get("/page")
    async def show() -> dict[str, str]:
        return {"page": "yes"}

    if combine == "attach":
        attach(service, _leaf("a"))
        attach(service, _leaf("b"))
        attach(internal, _internal())
        attach(hidden, page)
        attach(app, service)
        attach(app, internal)
        attach(app, hidden)
    else:
        service.include_router(_leaf("a"))
        service.include_router(_leaf("b"))
        internal.include_router(_internal())
        hidden.include_router(page)
        app.include_router(service)
        app.include_router(internal)
        app.include_router(hidden)
    return app


async def _answers(app: FastAPI) -> list[tuple[int, object]]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
        answers = [
            await http.get("/api/a/items/7"),
            await http.get("/api/b/items/nope"),
            await http.post("/api/b/items", json={"id": 1, "name": "n"}),
            await http.get("/internal/x/balance"),
            await http.get("/internal/x/balance", headers={"x-token": "secret"}),
            await http.get("/page"),
        ]
    return [(a.status_code, a.json()) for a in answers]


async def test_attached_routes_answer_and_document_as_included_ones() -> None:
    attached, included = _app("attach"), _app("include")
    assert attached.openapi() == included.openapi()
    answers = await _answers(attached)
    assert answers == await _answers(included)
    assert [status for status, _ in answers] == [200, 422, 201, 403, 200, 200]


def test_a_parent_that_adds_nothing_takes_the_built_routes_as_they_are() -> None:
    app = _app("attach")
    plain = [r for r in app.routes if isinstance(r, APIRoute)]
    paths = {r.path for r in plain}
    assert {"/api/a/items/{item_id}", "/api/b/items", "/page"} <= paths
    # The internal router's prefix and token guard are its parent's: it is included, not moved.
    assert "/internal/x/balance" not in paths
    assert "/page" not in attached_schema_paths(app)


def attached_schema_paths(app: FastAPI) -> set[str]:
    return set(app.openapi()["paths"])


async def test_the_platform_routes_are_built_once_and_behave_the_same(
    client: httpx.AsyncClient,
) -> None:
    """The whole app: its public routes sit flat in the app (no branch FastAPI builds again)."""
    answer = await client.get("/api/v1/medal-packs")
    assert answer.status_code == 200
    app = client._transport.app  # type: ignore[attr-defined]
    flat = {r.path for r in app.routes if isinstance(r, APIRoute)}
    assert {"/api/v1/medal-packs", "/api/v1/gachas", "/api/v1/auth/login", "/login"} <= flat
