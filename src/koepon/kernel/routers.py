"""Putting a service's routers together without FastAPI building their routes again.

``include_router`` keeps an included router as a branch, and FastAPI builds every route of a
branch again (its dependency graph, request and response models): once when the branch is
included, to check the paths, and once more when a request first walks it. A platform has ~250
routes in three levels (app, service, sub-domain), so each app paid for its routes three times
over: about a third of a short test's time, since the test suite builds an app per test.

``attach`` gives the same routes without that: a route's prefix, dependencies, tags and
responses are fixed when its own router builds it, so when the parent adds nothing of its own
the built routes are moved as they are. Any other case (a parent with a prefix or dependencies,
such as the internal routers behind the internal token) is included as FastAPI does.
"""

from __future__ import annotations

from fastapi import APIRouter, FastAPI
from fastapi.datastructures import DefaultPlaceholder
from fastapi.routing import APIRoute, APIWebSocketRoute
from starlette.routing import Mount, Route, WebSocketRoute

# Routes that carry everything their router gave them (no branch to re-build).
_BUILT = (APIRoute, APIWebSocketRoute, Route, WebSocketRoute, Mount)


def _adds_nothing(parent: APIRouter, router: APIRouter) -> bool:
    """Whether ``parent`` leaves ``router``'s routes as they are."""
    # A parent kept out of the schema adds nothing to routes that are out of it already.
    hidden = parent.include_in_schema or all(
        getattr(route, "include_in_schema", False) is False for route in router.routes
    )
    return (
        hidden
        and not parent.prefix
        and not parent.dependencies
        and not parent.tags
        and not parent.responses
        and not parent.callbacks
        and not parent.deprecated
        and parent.route_class is APIRoute
        and isinstance(parent.default_response_class, DefaultPlaceholder)
        and isinstance(parent.generate_unique_id_function, DefaultPlaceholder)
        and parent.max_body_size is None
    )


def attach(target: FastAPI | APIRouter, router: APIRouter) -> None:
    """Add ``router``'s routes to ``target``, in order, as ``include_router`` would."""
    parent = target.router if isinstance(target, FastAPI) else target
    if not _adds_nothing(parent, router) or not all(isinstance(r, _BUILT) for r in router.routes):
        target.include_router(router)
        return
    parent.routes.extend(router.routes)
    # FastAPI's cache of a branch's routes is keyed on this count (when ``target`` is itself
    # included somewhere later on).
    changed = getattr(parent, "_mark_routes_changed", None)
    if changed is not None:
        changed()
