"""Test harness: a fresh PostgreSQL database built by the Alembic migrations, real Redis,
and helpers to create a community with its admin key. Each test works in its own community,
so tests never see each other's money."""

from __future__ import annotations

import os
import secrets
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

BASE_URL = os.environ.get(
    "KOPILKA_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
WORKER = os.environ.get("PYTEST_XDIST_WORKER", "main")
TEST_DB = f"kopilka_test_{WORKER}_{os.getpid()}"
TEST_URL = str(make_url(BASE_URL).set(database=TEST_DB).render_as_string(hide_password=False))
TEST_REDIS_DB = 15

os.environ["DATABASE_URL"] = TEST_URL
os.environ["REDIS_URL"] = f"redis://127.0.0.1:6379/{TEST_REDIS_DB}"
os.environ["KOPILKA_OPERATOR_KEY"] = "test-operator-key"
os.environ["TELEGRAM_BOT_TOKEN"] = "123456:TEST-TOKEN"
os.environ["KOPILKA_LOG_JSON"] = "true"
os.environ["KOPILKA_LOG_LEVEL"] = "WARNING"
os.environ.setdefault("KOPILKA_WRITE_RATE_LIMIT", "100000/minute")

OPERATOR = {"X-API-Key": "test-operator-key"}


def _admin_engine() -> Any:
    return create_engine(make_url(BASE_URL).set(database="postgres"), isolation_level="AUTOCOMMIT")


@pytest.fixture(scope="session", autouse=True)
def database() -> Iterator[str]:
    admin = _admin_engine()
    with admin.connect() as c:
        c.execute(text(f'DROP DATABASE IF EXISTS "{TEST_DB}" WITH (FORCE)'))
        c.execute(text(f'CREATE DATABASE "{TEST_DB}"'))
    from kopilka.migrations import upgrade_to_head

    upgrade_to_head(TEST_URL)
    yield TEST_URL
    from kopilka.db import get_engine

    get_engine().dispose()
    with admin.connect() as c:
        c.execute(text(f'DROP DATABASE IF EXISTS "{TEST_DB}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def db_session(database: str) -> Iterator[Any]:
    """A session inside a transaction that is rolled back after the test."""
    from sqlalchemy.orm import Session

    from kopilka.db import get_engine

    conn = get_engine().connect()
    trans = conn.begin()
    session = Session(bind=conn, join_transaction_mode="create_savepoint")
    try:
        yield session
    finally:
        session.close()
        trans.rollback()
        conn.close()


@pytest.fixture(scope="session")
def app(database: str) -> Any:
    from kopilka_api.app import create_app

    return create_app()


@pytest.fixture
def client(app: Any) -> Iterator[Any]:
    from fastapi.testclient import TestClient

    with TestClient(app) as c:
        yield c


def unique_id() -> int:
    """An owner or Telegram id no other test uses."""
    return secrets.randbelow(10**12) + 10**9


def new_community(client: Any, **settings: Any) -> dict[str, Any]:
    body = {
        "name": f"Village {uuid.uuid4().hex[:8]}",
        "currency": "RUB",
        "timezone": "Europe/Moscow",
    }
    body.update(settings)
    r = client.post("/api/communities", json=body, headers=OPERATOR)
    assert r.status_code == 201, r.text
    data = r.json()
    data["headers"] = {"X-API-Key": data["admin_api_key"]}
    return data


@pytest.fixture
def community(client: Any) -> dict[str, Any]:
    return new_community(client)


@pytest.fixture
def admin(community: dict[str, Any]) -> dict[str, str]:
    return community["headers"]


@pytest.fixture
def period(client: Any, admin: dict[str, str]) -> dict[str, Any]:
    r = client.post(
        "/api/payments/periods",
        json={"name": "November 2025", "start_date": "2025-11-01", "end_date": "2025-11-30"},
        headers=admin,
    )
    assert r.status_code == 201, r.text
    return r.json()


# ---------------------------------------------------------------- real processes

os.environ.setdefault("KOPILKA_QUEUE", f"kopilka-{TEST_DB}")
os.environ.setdefault("KOPILKA_REPUBLISH_AFTER", "2")
os.environ.setdefault("KOPILKA_RELAY_INTERVAL", "0.2")


@pytest.fixture(scope="session")
def worker_stack(database: str) -> Iterator[dict[str, Any]]:
    """A real Celery worker and the outbox relay on the machine's Redis (a queue of our own)."""
    from tests.support.processes import base_env, start_relay, start_worker

    env = base_env()
    relay = start_relay(env)
    worker = start_worker(env)
    stack = {"env": env, "worker": worker, "relay": relay}
    yield stack  # tests that must own job delivery may swap these processes
    stack["worker"].stop()
    stack["relay"].stop()


@pytest.fixture
def wait_job(client: Any) -> Any:
    """Wait for a job through the API (Prefer: wait) and return its final JSON."""

    def wait(job_id: int, headers: dict[str, str], timeout: int = 60) -> dict[str, Any]:
        r = client.get(f"/api/jobs/{job_id}", headers={**headers, "Prefer": f"wait={timeout}"})
        assert r.status_code == 200, r.text
        return dict(r.json())

    return wait
