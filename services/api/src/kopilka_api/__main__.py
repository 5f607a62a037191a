"""``python -m kopilka_api``: the API server, as the Docker image starts it.

``python -m kopilka_api --fd N`` is one API process on a listening socket it inherited: how
``make run``'s supervisor (scripts/run_all.py) starts each of its API processes.

Without ``--fd`` it binds ``KOPILKA_HOST`` (127.0.0.1 by default) on ``KOPILKA_PORT`` with
``KOPILKA_API_WORKERS`` processes; with more than one, the metrics of all of them are added up
(an empty ``PROMETHEUS_MULTIPROC_DIR`` of this instance, set before any worker starts). Like
``make run``, it refuses a non-loopback address while the operator key is the development one."""

from __future__ import annotations

import argparse
from pathlib import Path

import uvicorn

from kopilka.config import get_settings
from kopilka_api.metrics import ENV, multiprocess_dir, prepare_dir


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m kopilka_api")
    parser.add_argument("--fd", type=int, help="serve on this inherited listening socket")
    args = parser.parse_args(argv)
    if args.fd is not None:
        # the access log is ours (one JSON line per request, with its request id)
        uvicorn.run("kopilka_api.main:app", fd=args.fd, access_log=False)
        return
    settings = get_settings()
    refusal = settings.public_bind_refusal()
    if refusal:
        raise SystemExit(refusal)
    if settings.api_workers > 1 or multiprocess_dir():
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
