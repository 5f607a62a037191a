"""``python -m kopilka_api``: the API server, as ``make run`` and the Docker image start it.

Binds ``KOPILKA_HOST`` (127.0.0.1 by default) on ``KOPILKA_PORT`` with ``KOPILKA_API_WORKERS``
processes; with more than one, the metrics of all of them are added up (an empty
``PROMETHEUS_MULTIPROC_DIR`` of this instance, set before any worker starts)."""

from __future__ import annotations

import uvicorn

from kopilka.config import get_settings
from kopilka_api.metrics import ENV, multiprocess_dir, prepare_dir


def main() -> None:
    settings = get_settings()
    if settings.api_workers > 1 or multiprocess_dir():
        from pathlib import Path

        prepare_dir(Path(multiprocess_dir() or settings.run_dir() / "api-metrics"))
    uvicorn.run(
        "kopilka_api.main:app",
        host=settings.host,
        port=settings.port,
        workers=settings.api_workers,
        # the API logs one JSON line per request itself (with its request id)
        access_log=False,
    )


__all__ = ["ENV", "main"]

if __name__ == "__main__":
    main()
