"""``python -m kopilka_worker [worker|beat|relay]``."""

from __future__ import annotations

import sys


def main() -> None:
    what = sys.argv[1] if len(sys.argv) > 1 else "worker"
    if what == "relay":
        from kopilka_worker.relay import main as relay

        relay()
        return
    from kopilka import heartbeat
    from kopilka_worker.app import celery_app, settings

    if what == "beat":
        # this instance's own schedule file (never one shared by every stack on the machine)
        schedule = settings.run_dir() / "beat-schedule"
        heartbeat.start_thread("beat")
        celery_app.start(["beat", "--loglevel=INFO", f"--schedule={schedule}"])
    else:
        heartbeat.start_thread("worker")
        celery_app.start(
            [
                "worker",
                "--loglevel=INFO",
                "--concurrency=2",
                "-Q",
                settings.celery_queue,
                *sys.argv[2:],
            ]
        )


if __name__ == "__main__":
    main()
