"""What a newcomer's first requests see: /docs and /redoc work offline (every asset from the app
itself), a 401 says how to authenticate, a 405 says which methods are allowed."""

from __future__ import annotations

import re
from urllib.parse import urljoin, urlsplit

import pytest

from tests.api._support import PAYMENTS


def _assets(html: str) -> list[str]:
    return re.findall(r"""(?:src|href|spec-url)\s*=\s*["']([^"']+)["']""", html) + re.findall(
        r"""url\s*:\s*["']([^"']+)["']""", html
    )


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_docs_and_every_asset_they_reference_come_from_the_app(client, page):
    r = client.get(page)
    assert r.status_code == 200, r.text
    assert "text/html" in r.headers["content-type"]
    refs = _assets(r.text)
    scripts = [u for u in refs if u.endswith(".js")]
    assert scripts, f"{page} references no script: {r.text[:500]}"
    assert "/openapi.json" in refs
    for ref in refs:
        url = urljoin("http://testserver" + page, ref)
        parts = urlsplit(url)
        assert parts.netloc == "testserver", f"{page} loads {ref} from elsewhere"
        asset = client.get(parts.path)
        assert asset.status_code == 200, f"{ref}: {asset.status_code}"
        assert len(asset.content) > 20, ref
        if ref.endswith(".js"):
            assert "javascript" in asset.headers["content-type"], ref
    assert "cdn." not in r.text and "googleapis" not in r.text
    if page == "/docs":
        assert any(u.endswith(".css") for u in refs)


def test_unauthenticated_answers_carry_www_authenticate(client):
    for headers in ({}, {"X-API-Key": "nope"}, {"Authorization": "tma query_id=1&hash=00"}):
        r = client.get(f"{PAYMENTS}/periods", headers=headers)
        assert r.status_code == 401, r.text
        challenge = r.headers["WWW-Authenticate"]
        assert challenge.startswith("ApiKey ")
        assert re.search(r"(^|, )tma ", challenge), challenge
        assert r.headers["content-type"].startswith("application/problem+json")


def test_method_not_allowed_answers_carry_allow(client, admin, period):
    r = client.put(f"{PAYMENTS}/periods", headers=admin, json={})
    assert r.status_code == 405, r.text
    allowed = {m.strip() for m in r.headers["Allow"].split(",")}
    assert {"GET", "POST"} <= allowed and "PUT" not in allowed
    assert r.headers["content-type"].startswith("application/problem+json")
    r = client.delete("/health")
    assert r.status_code == 405 and "GET" in r.headers["Allow"]
