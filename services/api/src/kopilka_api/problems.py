"""The error answers every operation may give, as OpenAPI documents them.

Errors are ``application/problem+json`` (RFC 9457) with a human ``detail`` (SPEC §6); extra
members appear on some (``period_id`` and ``period_status`` on a 409 about a closed period,
``retry_after`` on a 429, ``checks`` on a 503 from ``/ready``). ``PROBLEM_RESPONSES`` is given
to ``FastAPI(responses=...)`` so that every operation lists them; declaring 422 also replaces
FastAPI's default 422 "HTTPValidationError", which this API never sends (invalid input is 400).
"""

from __future__ import annotations

from typing import Any

PROBLEM_MEDIA_TYPE = "application/problem+json"

PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "type": "object",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string", "description": "always about:blank"},
        "title": {"type": "string", "description": "the kind of error"},
        "status": {"type": "integer", "description": "the HTTP status"},
        "detail": {"type": "string", "description": "what went wrong, for a person"},
    },
    "additionalProperties": True,
}

_WHEN: dict[int, str] = {
    400: "Invalid input (the body, a parameter or a header); nothing is stored",
    401: "Not authenticated: no, an unknown or a revoked X-API-Key, or invalid or stale initData",
    403: "Authenticated, but this role may not do this",
    404: "Unknown, or not yours",
    409: "The state does not allow it (a period that is not OPEN, a duplicate, a race)",
    412: "If-Match names a version that is no longer current",
    413: "The request body is over the size limit",
    422: "The Idempotency-Key was already used with another request body",
    429: "Too many writes from this client; see Retry-After",
    503: "A dependency (the database) is not answering; retry later",
}

PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {
        "description": description,
        "content": {PROBLEM_MEDIA_TYPE: {"schema": PROBLEM_SCHEMA}},
    }
    for status, description in _WHEN.items()
}
PROBLEM_RESPONSES[429]["headers"] = {
    "Retry-After": {
        "description": "seconds to wait before the next write",
        "schema": {"type": "integer", "minimum": 1},
    }
}
