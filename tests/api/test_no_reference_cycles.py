"""A request leaves nothing for the garbage collector: everything it built (its session, the
rows it loaded, its caller and context) is freed by reference counting when it ends.

Objects caught in a reference cycle live until a full collection, which in an API process
holding a few hundred thousand objects pauses every request in flight for tens of
milliseconds (measured: 19-64 ms pauses, about one a thousand requests, when the request's
state and its ``Caller`` held each other). So the request path must build no cycle that holds
them. The test client itself leaves a few cycles of its own (its streams' tracebacks); only
the API's objects are counted."""

from __future__ import annotations

import gc
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy.orm import Session

from kopilka.context import Ctx
from kopilka_api.http import Caller, ExactJSONRequest
from tests.api._support import PAYMENTS, make_period
from tests.conftest import new_community, unique_id

WATCHED = (Caller, Ctx, Session, ExactJSONRequest)


@pytest.fixture
def no_collector() -> Iterator[None]:
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()


def _left_in_cycles() -> Counter[str]:
    gc.set_debug(gc.DEBUG_SAVEALL)
    gc.collect()
    found = Counter(type(o).__name__ for o in gc.garbage if isinstance(o, WATCHED))
    gc.garbage.clear()
    gc.set_debug(0)
    return found


def test_requests_leave_no_reference_cycles(client: Any, no_collector: None) -> None:
    c = new_community(client)
    h = c["headers"]
    pid = make_period(client, h)["id"]
    owner = unique_id()
    url = f"{PAYMENTS}/periods/{pid}/contributions"
    _left_in_cycles()  # what setting up left behind is not the requests' doing
    for i in range(10):
        r = client.post(
            url,
            json={"owner_id": owner, "amount": "1.00"},
            headers={**h, "Idempotency-Key": f"cycles-{pid}-{i}"},
        )
        assert r.status_code == 201, r.text
        assert (
            client.get(f"{PAYMENTS}/periods/{pid}/balances/{owner}", headers=h).status_code == 200
        )
        # refused before the route ran (the error path authenticates), and refused by it
        assert client.post(url, json={"owner_id": "x"}, headers=h).status_code == 400
        assert (
            client.get(f"{PAYMENTS}/periods/{pid}", headers={"X-API-Key": "kpk_no"}).status_code
            == 401
        )
    assert _left_in_cycles() == Counter()


def test_the_process_freezes_what_its_first_requests_built() -> None:
    """After ``FreezeWhenWarm.AT`` requests what lives on is moved out of the full passes."""
    import asyncio

    from kopilka_api.middleware import FreezeWhenWarm

    async def inner(scope: Any, receive: Any, send: Any) -> None:
        return None

    app = FreezeWhenWarm(inner)
    app.AT = (3,)
    before = gc.get_freeze_count()
    try:
        for _ in range(2):
            asyncio.run(app({"type": "http"}, None, None))
        assert gc.get_freeze_count() == before  # not warm yet
        asyncio.run(app({"type": "http"}, None, None))
        assert gc.get_freeze_count() > before
        asyncio.run(app({"type": "http"}, None, None))
        assert app.requests == 4
    finally:
        gc.unfreeze()  # this test process is no API process
