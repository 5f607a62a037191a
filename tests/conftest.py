"""Test harness: a fresh PostgreSQL database built by the Alembic migrations, real Redis,
and helpers to create a community with its admin key. Each test works in its own community,
so tests never see each other's money."""

from __future__ import annotations

import os
import secrets
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

BASE_URL = os.environ.get(
    "KOPILKA_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
# Several checkouts (or people) may share one PostgreSQL: each names its test databases with its
# own prefix; a run only ever drops databases it created (marked by a comment, below).
DB_PREFIX = os.environ.get("KOPILKA_TEST_DB_PREFIX", "kopilka_test")
WORKER = os.environ.get("PYTEST_XDIST_WORKER", "main")
TEST_DB = f"{DB_PREFIX}_{WORKER}_{os.getpid()}"
TEST_URL = str(make_url(BASE_URL).set(database=TEST_DB).render_as_string(hide_password=False))
TEST_REDIS_URL = os.environ.get("KOPILKA_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")

os.environ["DATABASE_URL"] = TEST_URL
os.environ["REDIS_URL"] = TEST_REDIS_URL
os.environ["KOPILKA_OPERATOR_KEY"] = "test-operator-key"
os.environ["TELEGRAM_BOT_TOKEN"] = "123456:TEST-TOKEN"
os.environ["KOPILKA_LOG_JSON"] = "true"
os.environ["KOPILKA_LOG_LEVEL"] = "WARNING"
os.environ.setdefault("KOPILKA_WRITE_RATE_LIMIT", "100000/minute")

OPERATOR = {"X-API-Key": "test-operator-key"}


def _admin_engine() -> Any:
    return create_engine(make_url(BASE_URL).set(database="postgres"), isolation_level="AUTOCOMMIT")


# A test database carries who created it: "kopilka-test host=<host> pid=<pid> start=<ticks>".
MARK = "kopilka-test"


def _start_ticks(pid: int) -> str:
    """The process's start time (clock ticks after boot): with the pid, it names one process
    even when the pid is reused later."""
    try:
        stat = open(f"/proc/{pid}/stat").read()  # noqa: SIM115
    except OSError:
        return ""
    return stat.rsplit(")", 1)[1].split()[19]


def _creator_mark(pid: int) -> str:
    return f"{MARK} host={socket.gethostname()} pid={pid} start={_start_ticks(pid)}"


def _creator_is_gone(comment: str | None) -> bool:
    """True when the comment is one of our marks, made on this host, by a process that is gone."""
    if not comment or not comment.startswith(MARK + " "):
        return False
    fields = dict(f.split("=", 1) for f in comment.split()[1:] if "=" in f)
    if fields.get("host") != socket.gethostname() or not fields.get("pid", "").isdigit():
        return False
    pid = int(fields["pid"])
    return _start_ticks(pid) != fields.get("start") or not os.path.exists(f"/proc/{pid}")


def _our_databases(c: Any) -> list[tuple[str, str | None]]:
    rows = c.execute(
        text(
            "SELECT datname, shobj_description(oid, 'pg_database') FROM pg_database "
            "WHERE starts_with(datname, :prefix)"
        ),
        {"prefix": DB_PREFIX + "_"},
    ).all()
    return [(r[0], r[1]) for r in rows]


def drop_leftovers(c: Any) -> list[str]:
    """Drop the test databases of killed runs: our prefix, our mark, this host, creator dead.
    Databases of live runs, of other hosts, or without our mark are never touched."""
    dropped = []
    for name, comment in _our_databases(c):
        if name != TEST_DB and _creator_is_gone(comment):
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            dropped.append(name)
    return dropped


# Which tests get PostgreSQL: every test of the services' folders below (they go through the API,
# the worker, the bot, the Mini App or the running stack), and any other test that asks for the
# database: the ``database`` fixture or one built on it (``client``, ``db_session``,
# ``worker_stack``...). The unit tests of kopilka's domains (tests/shared/<domain>) that ask for
# none of these run with PostgreSQL stopped.
DATABASE_FOLDERS = {"api", "bot", "browser", "ops", "worker"}
TESTS = Path(__file__).resolve().parent


def uses_database(request: pytest.FixtureRequest) -> bool:
    """Whether the test works against the session's database (the rule above)."""
    in_folder = request.path.relative_to(TESTS).parts[0] in DATABASE_FOLDERS
    return in_folder or "database" in request.fixturenames


@pytest.fixture(autouse=True)
def _database_for_the_services(request: pytest.FixtureRequest) -> None:
    if uses_database(request):
        request.getfixturevalue("database")


@pytest.fixture(scope="session")
def database() -> Iterator[str]:
    """The session's PostgreSQL database, built by the migrations (dropped at the end)."""
    admin = _admin_engine()
    with admin.connect() as c:
        drop_leftovers(c)
        existing = dict(_our_databases(c))
        if TEST_DB in existing:
            # Our name with this pid: a leftover of a killed run whose pid we now have, or not
            # ours at all. Only the former is dropped.
            if not (existing[TEST_DB] or "").startswith(MARK + " ") or not _creator_is_gone(
                existing[TEST_DB]
            ):
                raise RuntimeError(
                    f"database {TEST_DB} exists and was not left by a dead test run; "
                    "set KOPILKA_TEST_DB_PREFIX to another prefix"
                )
            c.execute(text(f'DROP DATABASE "{TEST_DB}" WITH (FORCE)'))
        c.execute(text(f'CREATE DATABASE "{TEST_DB}"'))
        mark = _creator_mark(os.getpid()).replace("'", "")
        c.execute(text(f"COMMENT ON DATABASE \"{TEST_DB}\" IS '{mark}'"))
    from kopilka.migrations import upgrade_to_head

    upgrade_to_head(TEST_URL)
    yield TEST_URL
    from kopilka.db import get_engine

    get_engine().dispose()
    with admin.connect() as c:
        # we created it (above), so we may force it: our own leftover connections go with it
        c.execute(text(f'DROP DATABASE IF EXISTS "{TEST_DB}" WITH (FORCE)'))
    admin.dispose()


def create_database(suffix: str) -> str:
    """A second database of this run (marked as ours, migrated), for a stack that must not share
    the session's job table; drop it with :func:`drop_database`. Its URL."""
    name = f"{TEST_DB}_{suffix}"
    admin = _admin_engine()
    try:
        with admin.connect() as c:
            c.execute(text(f'CREATE DATABASE "{name}"'))
            mark = _creator_mark(os.getpid()).replace("'", "")
            c.execute(text(f"COMMENT ON DATABASE \"{name}\" IS '{mark}'"))
    finally:
        admin.dispose()
    url = str(make_url(BASE_URL).set(database=name).render_as_string(hide_password=False))
    from kopilka.migrations import upgrade_to_head

    upgrade_to_head(url)
    return url


def drop_database(url: str) -> None:
    name = make_url(url).database
    assert name and name.startswith(TEST_DB + "_"), "only databases of this run"
    admin = _admin_engine()
    try:
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


# ---------------------------------------------------------------- CI: no skipped test

_SKIPPED: list[str] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.skipped and not hasattr(report, "wasxfail"):
        _SKIPPED.append(report.nodeid)


def _ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Under CI=true a skipped test fails the run: CI must run everything `make test` says."""
    if _ci() and _SKIPPED and session.exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: Any) -> None:
    if _ci() and _SKIPPED:
        terminalreporter.write_line(
            f"CI=true: {len(_SKIPPED)} skipped test(s) fail the run: " + ", ".join(_SKIPPED[:20]),
            red=True,
        )


@pytest.fixture(autouse=True)
def totals_reconciled(request: pytest.FixtureRequest) -> Iterator[None]:
    """After every test that used the database: the maintained totals equal the rows over the
    whole test database (``kopilka.balances.reconcile``); a drift fails the test that caused it."""
    yield
    if not uses_database(request):
        return
    from sqlalchemy.orm import Session

    from kopilka.balances.reconcile import check_totals
    from kopilka.db import get_engine

    with Session(get_engine()) as s:
        drifts = check_totals(s)
    assert not drifts, f"maintained totals differ from the rows: {drifts[:5]}"


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
