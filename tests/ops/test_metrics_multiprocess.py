"""/metrics answers for the whole API: ``python -m kopilka_api`` (the Docker image's command)
with 2 uvicorn worker processes, scraped again and again, counts every request once."""

from __future__ import annotations

import sys
from pathlib import Path

import httpx

from tests.ops.metrics_check import assert_metrics_add_up
from tests.support.processes import Proc, base_env, free_port, wait_until


def test_two_uvicorn_workers_add_up_their_counters(tmp_path: Path) -> None:
    port = free_port()
    env = base_env(KOPILKA_PORT=str(port), KOPILKA_API_WORKERS="2", KOPILKA_RUN_DIR=str(tmp_path))
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    stale = tmp_path / "api-metrics"
    stale.mkdir()
    (stale / "counter_999999.db").write_bytes(b"left by an earlier run")
    api = Proc("api2", [sys.executable, "-m", "kopilka_api"], env).start()
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: httpx.get(base + "/ready", timeout=1).status_code == 200, 120, "the API")
        assert not (stale / "counter_999999.db").exists(), "the directory is emptied at start"
        assert_metrics_add_up(base, stale)
    finally:
        api.stop(timeout=20)
