"""Liveness files for the processes that serve no HTTP (the relay, beat, the bot, the worker).

A process touches ``<run dir>/<name>.alive`` while it works (from its own loop where it has one,
else from a daemon thread); ``python -m kopilka.heartbeat NAME [MAX_AGE]`` exits 0 when that file
was touched within MAX_AGE seconds (default 90), else 1: the container healthcheck.
"""

from __future__ import annotations

import contextlib
import sys
import threading
import time
from pathlib import Path

from kopilka.config import get_settings

INTERVAL = 15.0


def path(name: str) -> Path:
    return get_settings().run_dir() / f"{name}.alive"


def touch(name: str) -> None:
    with contextlib.suppress(OSError):  # liveness is a report, never a reason to fail the work
        path(name).touch()


def start_thread(name: str, interval: float = INTERVAL) -> threading.Thread:
    """Touch the file every ``interval`` seconds for as long as the process lives."""

    def run() -> None:
        while True:
            touch(name)
            time.sleep(interval)

    thread = threading.Thread(target=run, name=f"heartbeat-{name}", daemon=True)
    thread.start()
    return thread


def is_fresh(name: str, max_age: float) -> bool:
    try:
        return time.time() - path(name).stat().st_mtime <= max_age
    except OSError:
        return False


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if not args:
        print("usage: python -m kopilka.heartbeat NAME [MAX_AGE_SECONDS]", file=sys.stderr)
        return 2
    max_age = float(args[1]) if len(args) > 1 else 90.0
    fresh = is_fresh(args[0], max_age)
    if not fresh:
        print(f"{args[0]}: no heartbeat within {max_age:g} s at {path(args[0])}", file=sys.stderr)
    return 0 if fresh else 1


if __name__ == "__main__":
    raise SystemExit(main())
