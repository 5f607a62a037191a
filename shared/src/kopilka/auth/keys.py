"""API keys: random, shown once, stored as SHA-256 (a key has 256 bits of entropy, so a fast hash
is the right tool: there is nothing to brute-force)."""

from __future__ import annotations

import hashlib
import hmac
import secrets

KEY_PREFIX = "kpk_"


def new_api_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def same_secret(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())
