"""The outbox relay: publishes job rows to the broker.

It LISTENs on the jobs channel (the API's transaction NOTIFYs on commit), so a new job goes out
at once; every ``relay_interval`` it also re-publishes what is due anyway: jobs never published
(Redis was down), published but never started (the message was lost), and RUNNING jobs whose
worker died (nobody holds their advisory lock). Run: ``python -m kopilka_worker.relay``."""

from __future__ import annotations

import contextlib
import signal
import time
from typing import Any

import psycopg
from sqlalchemy.engine import make_url

from kopilka import heartbeat
from kopilka.config import get_settings
from kopilka.jobs import service as jobs
from kopilka.logging import get_logger
from kopilka_worker.app import publish_job

log = get_logger("kopilka.relay")


def _listen() -> Any:
    url = make_url(get_settings().database_url).set(drivername="postgresql")
    conn = psycopg.connect(url.render_as_string(hide_password=False), autocommit=True)
    conn.execute(f"LISTEN {jobs.NOTIFY_CHANNEL}")
    return conn


def main() -> None:
    settings = get_settings()
    republish_after = settings.republish_after_seconds
    interval = settings.relay_interval_seconds
    stop = False

    def _stop(*_: Any) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    conn = None
    log.info("relay_started", republish_after=republish_after)
    while not stop:
        heartbeat.touch("relay")
        try:
            if conn is None:
                conn = _listen()
            sent = jobs.relay_once(publish_job, republish_after=republish_after)
            if sent:
                log.info("relay_published", jobs=sent)
            for _ in conn.notifies(timeout=interval, stop_after=1):
                pass  # woken by a commit that queued a job
        except Exception as exc:
            log.warning("relay_error", error=str(exc)[:300])
            if conn is not None:
                with contextlib.suppress(Exception):
                    conn.close()
                conn = None
            time.sleep(min(interval, 1.0))
    log.info("relay_stopped")


if __name__ == "__main__":
    main()
