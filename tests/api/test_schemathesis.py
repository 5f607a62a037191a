"""Property-based API testing with schemathesis against the app's own ``/openapi.json``.

Every documented operation is called with generated requests (valid and invalid), in-process
over ASGI, authenticated as the admin of a fresh community that holds one of everything; path
ids point at its real objects about half the time, so the calls reach past the 404. Checks: no
5xx ever, every response has a documented status code and content type, and every body matches
its documented schema. Bounded (``MAX_EXAMPLES`` per operation) to run in a few minutes on two
cores; ``KOPILKA_SCHEMATHESIS_EXAMPLES`` raises it for a longer hunt.
"""

from __future__ import annotations

import os
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.api._support import make_period, post
from tests.conftest import new_community, unique_id

MAX_EXAMPLES = int(os.environ.get("KOPILKA_SCHEMATHESIS_EXAMPLES", "8"))
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.fixture(scope="module")
def community_world(app: Any) -> dict[str, Any]:
    """A fresh community with an owner, an OPEN period and one document of each kind."""
    from fastapi.testclient import TestClient

    with TestClient(app) as client:
        c = new_community(client)
        h = c["headers"]
        owner = unique_id()
        post(client, h, "/owners", {"owner_id": owner, "name": "Anna", "telegram_id": owner})
        pid = make_period(client, h, "November 2025", "2025-11-01", "2025-11-30")["id"]
        pp = f"/periods/{pid}"
        ids: dict[str, Any] = {
            "community_id": c["id"],
            "period_id": pid,
            "owner_id": owner,
            "doc_id": post(client, h, f"{pp}/contributions", {"owner_id": owner, "amount": "5"})[
                "id"
            ],
        }
        r = client.post(
            "/api/payments/recurring-charges",
            json={"description": "Guard", "amount": "10"},
            headers=h,
        )
        assert r.status_code == 201, r.text
        ids["template_id"] = r.json()["id"]
        r = client.post(f"/api/communities/{c['id']}/api-keys", json={"name": "x"}, headers=h)
        ids["key_id"] = r.json()["id"]
    return {"headers": h, "ids": ids}


def _schema() -> Any:
    # Built at collection (parametrize needs the operations); the database is only reached
    # when a test runs, after the session's ``database`` fixture made it.
    from kopilka_api.app import create_app

    loaded = schemathesis.openapi.from_asgi("/openapi.json", create_app())
    loaded.config.generation.update(max_examples=MAX_EXAMPLES)
    # The stateful phase needs OpenAPI links, which the API does not declare.
    loaded.config.phases.update(phases=["examples", "coverage", "fuzzing"])
    # Methods a path does not have answer 405 from the router alone: not worth a request each.
    loaded.config.phases.coverage.unexpected_methods = set()
    return loaded


schema = _schema()


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_api_conforms_to_its_schema(
    case: Any, database: str, community_world: dict[str, Any]
) -> None:
    ids = community_world["ids"]
    for name, value in list((case.path_parameters or {}).items()):
        # About half of the generated ids are swapped for a real one of the community.
        if name in ids and isinstance(value, int) and value % 2 == 0:
            case.path_parameters[name] = ids[name]
    headers = dict(community_world["headers"])
    if case.headers:
        headers.update({k: v for k, v in case.headers.items() if k.lower() != "x-api-key"})
    case.call_and_validate(headers=headers, checks=CHECKS)
