"""Fixtures of the API tests: a live uvicorn server for tests that need real concurrency."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from typing import IO

import httpx
import pytest


class LiveServer(str):
    """The base URL of the live server; ``log_tail()`` is what it wrote to stderr lately."""

    log_file: IO[bytes]

    def log_tail(self, size: int = 3000) -> str:
        self.log_file.flush()
        self.log_file.seek(0, os.SEEK_END)
        end = self.log_file.tell()
        self.log_file.seek(max(0, end - size))
        return self.log_file.read().decode(errors="replace")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def live_server(database: str) -> Iterator[LiveServer]:
    """The API served by uvicorn in a subprocess on the test database; yields its base URL."""
    port = _free_port()
    with tempfile.TemporaryFile() as log:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "kopilka_api.main:app",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--log-level",
                "warning",
            ],
            env=dict(os.environ),
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
        base = LiveServer(f"http://127.0.0.1:{port}")
        base.log_file = log
        try:
            deadline = time.monotonic() + 60
            while True:
                if proc.poll() is not None:
                    raise RuntimeError(f"uvicorn exited with {proc.returncode}: {base.log_tail()}")
                try:
                    if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError("uvicorn did not answer /health within 60 s")
                time.sleep(0.1)
            yield base
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
