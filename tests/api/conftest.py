"""Fixtures of the API tests: a live HTTP server for tests that need real concurrency."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def live_server(app: Any) -> Iterator[str]:
    """The API served by uvicorn over real TCP on the test database; yields its base URL.

    The server runs in a thread of the test process (its own event loop, thread pool and
    connection pool checkouts), so concurrent clients really race; starting it costs no
    second import of the whole application."""
    import uvicorn

    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)
    )
    thread = threading.Thread(target=server.run, name="live-api", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError("the live API server stopped while starting")
        if time.monotonic() > deadline:
            raise RuntimeError("the live API server did not start within 30 s")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture(scope="session")
def api_server(database: str) -> Iterator[str]:
    """The API in its own process (uvicorn), so concurrent requests really race."""
    from tests.support.processes import base_env, start_api

    proc, url = start_api(base_env())
    try:
        yield url
    finally:
        proc.stop()
