"""The README's walkthrough runs as written, on a database that is not empty: the block is taken
from the README itself and run twice with bash against a real API and worker."""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.support.processes import ROOT, base_env, start_api

pytestmark = pytest.mark.usefixtures("worker_stack")


def walkthrough() -> str:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## The API at a glance", 1)[1]
    block = re.search(r"```bash\n(.*?)```", section, re.S)
    assert block, "the README has no walkthrough block"
    return block.group(1)


def answers(out: str) -> list[dict[str, Any]]:
    decoder = json.JSONDecoder()
    found, i = [], 0
    while i < len(out):
        if out[i] in " \n\r\t":
            i += 1
            continue
        obj, i = decoder.raw_decode(out, i)
        found.append(obj)
    return found


@pytest.fixture(scope="module")
def api() -> Iterator[str]:
    proc, url = start_api(base_env())
    try:
        yield url
    finally:
        proc.stop()


@pytest.mark.parametrize("run", [1, 2])
def test_the_walkthrough_runs_as_written(api: str, tmp_path: Path, run: int) -> None:
    script = walkthrough()
    assert "periods/1" not in script and 'period_id":1' not in script, "ids must be captured"
    env = base_env(KOPILKA_PORT=str(urlsplit(api).port))
    r = subprocess.run(
        ["bash", "-c", "set -euo pipefail\n" + script],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert r.returncode == 0, r.stderr
    got = answers(r.stdout)
    errors = [
        a for a in got if "status" in a and isinstance(a["status"], int) and a["status"] >= 400
    ]
    assert not errors, errors
    jobs = {a["kind"]: a for a in got if "kind" in a}
    assert jobs["close_period"]["status"] == "SUCCEEDED", jobs
    carried = jobs["carry_forward"]
    assert carried["status"] == "SUCCEEDED"
    assert set(carried["result"]["carried_forward_owners"]) == {"123456789", "987654321"}
    opening = next(a for a in got if "total_opening_contributions" in a)
    assert opening["period_id"] == carried["result"]["to_period_id"]
    assert (tmp_path / "statement.pdf").read_bytes().startswith(b"%PDF")


def test_the_fake_bot_api_command_runs_as_written() -> None:
    readme = (ROOT / "README.md").read_text()
    (line,) = [x for x in readme.splitlines() if "-m tests.fakes.fake_telegram" in x]
    command = line.split("#", 1)[0].strip()
    assert command.startswith(".venv/bin/python -m tests.fakes.fake_telegram --port 8081")
    from tests.support.processes import Proc, free_port, wait_until

    port = free_port()  # the README's 8081 may be taken on a shared machine
    args = command.replace("--port 8081", f"--port {port}").split()
    fake = Proc("fake-telegram", [str(ROOT / args[0]), *args[1:]], base_env()).start()
    try:
        wait_until(lambda: "listening on" in fake.output(), 60, "the fake Bot API")
        import httpx

        me = httpx.get(f"http://127.0.0.1:{port}/bot1:x/getMe", timeout=5).json()
        assert me["ok"] and me["result"]["is_bot"]
    finally:
        fake.stop()
