"""/metrics of an API with several processes: every scrape, whichever process answers it, adds up
the requests that all of them served."""

from __future__ import annotations

import re
from pathlib import Path

import httpx

ROUTE = "/api/payments/periods"
REQUESTS = 30
SCRAPES = 8


def counted_401s(text: str) -> float:
    pattern = re.compile(
        r'^kopilka_http_requests_total\{(?=[^}]*method="GET")(?=[^}]*route="'
        + re.escape(ROUTE)
        + r'")(?=[^}]*status="401")[^}]*\} (\S+)$',
        re.M,
    )
    return sum(float(v) for v in pattern.findall(text))


def _fresh_get(url: str) -> httpx.Response:
    # a new connection per request, so the kernel spreads them over the processes
    with httpx.Client(timeout=30) as c:
        return c.get(url, headers={"Connection": "close"})


def assert_metrics_add_up(base: str, metrics_dir: Path | None = None) -> None:
    before = [counted_401s(_fresh_get(base + "/metrics").text) for _ in range(SCRAPES)]
    assert len(set(before)) == 1, f"scrapes disagree before the requests: {before}"
    for _ in range(REQUESTS):
        assert _fresh_get(base + ROUTE).status_code == 401
    scrapes = [counted_401s(_fresh_get(base + "/metrics").text) for _ in range(SCRAPES)]
    assert scrapes == [before[0] + REQUESTS] * SCRAPES, (before[0], scrapes)
    if metrics_dir is not None:
        # more than one process did count (each keeps its own file)
        writers = {f.stem.rsplit("_", 1)[-1] for f in metrics_dir.glob("counter_*.db")}
        assert len(writers) >= 2, sorted(writers)
