"""The Redis client (broker, rate limits, readiness)."""

from __future__ import annotations

from functools import lru_cache

import redis

from kopilka.config import get_settings


@lru_cache(maxsize=1)
def get_redis() -> redis.Redis[bytes]:
    return redis.Redis.from_url(
        get_settings().redis_url, socket_timeout=2, socket_connect_timeout=2
    )
