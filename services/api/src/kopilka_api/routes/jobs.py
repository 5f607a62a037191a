from __future__ import annotations

from kopilka_api.http import api_router

router = api_router(tags=["jobs"])
