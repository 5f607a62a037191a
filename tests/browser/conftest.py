"""The Mini App in a real browser: Debian's headless Chromium driven by playwright, against a live
API server (a real uvicorn process on a random port, the test database) — nothing is mocked.

One Chromium per test module; each test opens few pages. Screenshots go to ``docs/screenshots/``
(``make screenshots``; the README shows them). ``check_a11y`` runs axe-core (from the Mini App's own npm dev
dependencies) in the page: labels, names, WCAG AA contrast.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from kopilka.auth.telegram import make_init_data
from tests.conftest import OPERATOR

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
BOT_TOKEN = "123456:TEST-TOKEN"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# `make screenshots` writes them into docs/screenshots/ (the README shows them); an ordinary test
# run writes them under /tmp, so running the suite never changes tracked files.
SCREENSHOTS = Path(os.environ.get("KOPILKA_SCREENSHOT_DIR", "/tmp/kopilka-screenshots"))
AXE = ROOT / "services" / "api" / "miniapp" / "node_modules" / "axe-core" / "axe.min.js"
BUNDLE = ROOT / "services" / "api" / "src" / "kopilka_api" / "static" / "app" / "app.js"
PHONE = {"width": 360, "height": 780}


def pytest_collection_modifyitems(items: list[Any]) -> None:
    for item in items:
        if "tests/browser/" in str(item.fspath):
            item.add_marker(pytest.mark.browser)
            if not Path(CHROMIUM).exists() and not os.environ.get("CI"):
                item.add_marker(
                    pytest.mark.skip(reason=f"{CHROMIUM} is missing (apt-get install -y chromium)")
                )


@pytest.fixture(scope="session")
def server(database: str) -> Iterator[str]:
    assert BUNDLE.exists(), "the Mini App is not built: run `make miniapp` (make test does)"
    from tests.support.processes import base_env, start_api

    proc, url = start_api(base_env())
    try:
        yield url
    finally:
        proc.stop()


# per module, not per session: while sync_playwright is open its event loop counts as running in
# the main thread, so every later test calling asyncio.run() (tests/fakes, tests/bot) would fail
@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


def new_page(
    browser: Any, server: str, *, color_scheme: str = "light", accept_downloads: bool = False
) -> Any:
    """A phone-sized page that records page errors, console errors and any request that leaves
    the server (there must be none), and every URL it asks the server for."""
    context = browser.new_context(
        viewport=PHONE,
        device_scale_factor=1,
        color_scheme=color_scheme,
        accept_downloads=accept_downloads,
    )
    p = context.new_page()
    p.set_default_timeout(20_000)
    p.problems = []
    p.outside = []
    p.urls = []
    p.on("pageerror", lambda exc: p.problems.append(f"page error: {exc}"))
    p.on(
        "console",
        lambda msg: (
            p.problems.append(f"console {msg.type}: {msg.text}")
            if msg.type == "error"
            and "412" not in msg.text
            and "Failed to load resource" not in msg.text
            else None
        ),
    )

    def on_request(req: Any) -> None:
        if req.url.startswith(server):
            p.urls.append(req.url)
        elif not req.url.startswith(("data:", "blob:")):
            p.outside.append(req.url)

    p.on("request", on_request)
    return p


def app_url(
    server: str,
    tg: int,
    *,
    lang: str | None = None,
    theme: str | None = None,
    language_code: str | None = "en",
    **init: Any,
) -> str:
    init_data = make_init_data(
        tg, BOT_TOKEN, first_name="Test", language_code=language_code, **init
    )
    frag = f"tma={quote(init_data, safe='')}"
    if lang:
        frag += f"&lang={lang}"
    if theme:
        frag += f"&theme={theme}"
    return f"{server}/app#{frag}"


def screenshot(page: Any, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 5_000
    return path


def check_a11y(page: Any) -> None:
    """axe-core in the page (evaluated through the DevTools protocol, so the page's strict CSP stays
    on): no violation of the WCAG 2 A/AA rules, contrast included."""
    assert AXE.exists(), "axe-core is a dev dependency of the Mini App: run `make miniapp`"
    page.evaluate(AXE.read_text())
    result = page.evaluate(
        "async () => { const r = await axe.run(document, {runOnly: {type: 'tag', values: "
        "['wcag2a', 'wcag2aa', 'wcag21aa']}}); return r.violations.map(v => ({id: v.id, "
        "impact: v.impact, nodes: v.nodes.slice(0, 3).map(n => n.target.join(' ') + ': ' + "
        "(n.failureSummary || '').slice(0, 200))})); }"
    )
    assert result == [], json.dumps(result, indent=1, ensure_ascii=False)


def new_village(api: httpx.Client, **settings: Any) -> dict[str, Any]:
    body = {"name": "Sosenki", "currency": "RUB", "timezone": "UTC", **settings}
    r = api.post("/api/communities", json=body, headers=OPERATOR)
    assert r.status_code == 201, r.text
    data = r.json()
    data["headers"] = {"X-API-Key": data["admin_api_key"]}
    return data


def lose_first_answer(lost: list[str]) -> Any:
    """A route handler for a money form's POST: the first one reaches the server (which books
    it) and its answer is lost on the way back (``lost`` gets its Idempotency-Key); the retry
    must carry the same key. Other methods pass."""

    def handle(route: Any) -> None:
        if route.request.method != "POST":
            route.continue_()
        elif not lost:
            route.fetch()  # reaches the server, which records it
            lost.append(route.request.headers.get("idempotency-key", ""))
            route.abort("connectionreset")
        else:
            assert route.request.headers.get("idempotency-key") == lost[0]
            route.continue_()

    return handle
