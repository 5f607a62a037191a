"""``python -m kopilka.migrations.cli [--wait SECONDS]``: apply every migration (``make migrate``,
the compose one-shot). With ``--wait`` (or ``KOPILKA_MIGRATE_WAIT``) it first waits for the
database to accept connections, retrying with backoff: in compose the database container may be
"started" before it listens."""

from __future__ import annotations

import argparse
import os
import sys
import time

from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from kopilka.config import get_settings
from kopilka.migrations import upgrade_to_head


def wait_for_database(url: str, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    delay = 0.5
    attempt = 0
    engine = create_engine(url, pool_pre_ping=False)
    try:
        while True:
            attempt += 1
            try:
                with engine.connect() as conn:
                    conn.execute(text("SELECT 1"))
                return
            except OperationalError as exc:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise SystemExit(
                        f"the database did not answer within {seconds:g} s: {str(exc.orig)[:200]}"
                    ) from exc
                reason = str(exc.orig).strip().splitlines()[0][:160]
                print(f"waiting for the database (try {attempt}): {reason}", file=sys.stderr)
                time.sleep(min(delay, left))
                delay = min(delay * 2, 5.0)
    finally:
        engine.dispose()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m kopilka.migrations.cli")
    parser.add_argument(
        "--wait",
        type=float,
        default=float(os.environ.get("KOPILKA_MIGRATE_WAIT", "0")),
        help="seconds to wait for the database to accept connections first",
    )
    args = parser.parse_args(argv)
    url = get_settings().database_url
    if args.wait > 0:
        wait_for_database(url, args.wait)
    upgrade_to_head(url)
    print("migrations applied")


if __name__ == "__main__":
    main()
