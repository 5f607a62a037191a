"""The route shapes every resource shares, built once: an idempotent create, a paged list, get
one, change one, delete one.

A ``Resource`` is a collection path and an item path with the model they answer; a route module
names each route of it and the ``kopilka`` call behind it, and the builder gives the route the
parameters, status code and headers of its shape (``Idempotency-Key`` and ``Location`` on a
create, ``Link`` on a page, ``ETag`` and ``If-Match`` where the resource is versioned). A route's
``name`` is its OpenAPI operation's name, as a hand-written route's function name is.

FastAPI reads a route's parameters from its endpoint's signature, so each builder writes that
signature: the ids in the route's path (``{owner_id}``) as integer path parameters, in order,
then what the shape needs. ``kopilka`` is called with the ids positionally after ``ctx``:
``read(ctx, *ids)``, ``edit(ctx, *ids, data[, version])``, ``rows(ctx, *ids, after=, limit=,
**filters)``."""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Sequence
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from kopilka.context import Ctx
from kopilka_api.http import CtxDep, IfMatchDep, Page, PageDep, RawBodyDep, etag, paged, write

ToOut = Callable[[Ctx, Any], Any]


def arg(name: str, annotation: Any, default: Any = inspect.Parameter.empty) -> inspect.Parameter:
    """One parameter of a built endpoint (a list's filter: ``arg("active", bool | None,
    Query(default=None))``)."""
    kind = inspect.Parameter.KEYWORD_ONLY
    return inspect.Parameter(name, kind, default=default, annotation=annotation)


REQUEST = arg("request", Request)
RESPONSE = arg("response", Response)
CTX = arg("ctx", Ctx, CtxDep)
BODY = arg("body", bytes, RawBodyDep)
PAGE = arg("page", Page, PageDep)
VERSION = arg("version", int | None, IfMatchDep)
_RESOURCE: Any = object()  # "the resource's own" (a create's to_out)


def _by_id(row: Any) -> int:
    return int(row.id)


class Resource:
    """The routes of one resource: ``collection`` (create, a page) and ``item`` (read, change,
    delete) answer ``out``, built from what ``kopilka`` returns by ``to_out(ctx, found)`` (none:
    it is the answer); ``versioned``: read and change answer an ``ETag``. A route elsewhere
    names its own ``path``, and its own ``out`` and ``to_out`` where they differ."""

    def __init__(
        self,
        router: APIRouter,
        collection: str,
        item: str = "",
        out: Any = None,
        *,
        to_out: ToOut | None = None,
        versioned: bool = False,
    ) -> None:
        self.router, self.collection, self.item, self.out = router, collection, item, out
        self.to_out, self.versioned = to_out, versioned

    def _add(
        self,
        method: str,
        path: str,
        endpoint: Callable[..., Any],
        params: list[inspect.Parameter],
        **route: Any,
    ) -> None:
        endpoint.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
        self.router.add_api_route(path, endpoint, methods=[method], **route)

    def _answer(self, kw: dict[str, Any], found: Any) -> Any:
        if self.versioned:
            etag(kw["response"], found.version)
        return found if self.to_out is None else self.to_out(kw["ctx"], found)

    def create(
        self,
        name: str,
        data: type[Any],
        produce: Callable[..., Any],
        *,
        path: str | None = None,
        out: Any = None,
        to_out: ToOut | None = _RESOURCE,
        location: str | None = None,
        status_code: int = 201,
        secret: str | None = None,
        **route: Any,
    ) -> None:
        """``POST`` (the collection): ``to_out(ctx, produce(ctx, *ids, data))`` once per
        Idempotency-Key (``http.write``); ``location`` is formatted with the answer's fields
        and the path's ids."""
        path = self.collection if path is None else path
        ids, shape = _ids(path), self.to_out if to_out is _RESOURCE else to_out

        def endpoint(**kw: Any) -> JSONResponse:
            ctx, values = kw["ctx"], {i: kw[i] for i in ids}

            def answer() -> Any:
                made = produce(ctx, *values.values(), kw["data"])
                return made if shape is None else shape(ctx, made)

            return write(
                kw["request"],
                ctx,
                kw["body"],
                answer,
                status_code=status_code,
                location=None if location is None else (lambda p: location.format_map(p | values)),
                secret=secret,
            )

        params = [REQUEST, *_id_args(ids), arg("data", data), CTX, BODY]
        route.update(name=name, status_code=status_code, response_model=out or self.out)
        self._add("POST", path, endpoint, params, **route)

    def listing(
        self,
        name: str,
        rows: Callable[..., list[Any]],
        outs: Callable[..., Any],
        *,
        path: str | None = None,
        out: Any = None,
        filters: Sequence[inspect.Parameter] = (),
        key: Callable[[Any], int] = _by_id,
        **route: Any,
    ) -> None:
        """``GET`` a page (the collection): ``rows(ctx, *ids, after=, limit=, **filters)``
        fetches one row more than the page, ``outs(ctx, *ids, rows)`` answers the page."""
        path = self.collection if path is None else path
        ids = _ids(path)

        def endpoint(**kw: Any) -> Any:
            ctx, page, values = kw["ctx"], kw["page"], [kw[i] for i in ids]
            found = rows(
                ctx,
                *values,
                after=page.after,
                limit=page.limit,
                **{f.name: kw[f.name] for f in filters},
            )
            return outs(ctx, *values, paged(kw["request"], kw["response"], found, page, key))

        params = [REQUEST, RESPONSE, *_id_args(ids), CTX, PAGE, *filters]
        route.update(name=name, response_model=out or list[self.out])  # type: ignore[name-defined]
        self._add("GET", path, endpoint, params, **route)

    def read(self, name: str, read: Callable[..., Any], **route: Any) -> None:
        """``GET`` one (the item): ``read(ctx, *ids)``."""
        ids = _ids(self.item)

        def endpoint(**kw: Any) -> Any:
            return self._answer(kw, read(kw["ctx"], *(kw[i] for i in ids)))

        params = [*_id_args(ids), RESPONSE, CTX]
        route.update(name=name, response_model=self.out)
        self._add("GET", self.item, endpoint, params, **route)

    def change(
        self,
        name: str,
        data: type[Any],
        edit: Callable[..., Any],
        *,
        if_match: bool = False,
        **route: Any,
    ) -> None:
        """``PATCH`` one (the item): ``edit(ctx, *ids, data)``; with ``if_match`` the version an
        ``If-Match`` header names comes last."""
        ids, version = _ids(self.item), [VERSION] if if_match else []

        def endpoint(**kw: Any) -> Any:
            args = [kw[i] for i in ids] + [kw["data"]] + [kw[v.name] for v in version]
            return self._answer(kw, edit(kw["ctx"], *args))

        params = [*_id_args(ids), arg("data", data), RESPONSE, CTX, *version]
        route.update(name=name, response_model=self.out)
        self._add("PATCH", self.item, endpoint, params, **route)

    def delete(
        self, name: str, remove: Callable[..., Any], *, if_match: bool = False, **route: Any
    ) -> None:
        """``DELETE`` one (the item): ``remove(ctx, *ids[, version])`` (as ``change``), 204."""
        ids, version = _ids(self.item), [VERSION] if if_match else []

        def endpoint(**kw: Any) -> Response:
            remove(kw["ctx"], *(kw[i] for i in ids), *(kw[v.name] for v in version))
            return Response(status_code=204)

        params = [*_id_args(ids), CTX, *version]
        route.update(name=name, status_code=204)
        self._add("DELETE", self.item, endpoint, params, **route)


def _ids(path: str) -> list[str]:
    """The path's parameters, in order: "/owners/{owner_id}/invoices" -> ["owner_id"]."""
    return re.findall(r"\{(\w+)\}", path)


def _id_args(ids: Sequence[str]) -> list[inspect.Parameter]:
    return [arg(i, int) for i in ids]
