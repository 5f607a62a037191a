"""``/metrics`` for the whole API, not one process of it.

With more than one API process (``KOPILKA_API_WORKERS``), each keeps its counters in files under
``PROMETHEUS_MULTIPROC_DIR`` (prometheus-client's multiprocess mode), and a scrape, whichever
process answers it, adds up every process's files. The launcher (``python -m kopilka_api``)
sets that directory and empties it at start; a process that stops marks itself dead.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest, multiprocess

ENV = "PROMETHEUS_MULTIPROC_DIR"

__all__ = ["CONTENT_TYPE_LATEST", "mark_dead", "prepare_dir", "render_metrics"]


def multiprocess_dir() -> str | None:
    return os.environ.get(ENV) or None


def prepare_dir(path: Path) -> Path:
    """An empty directory for this run's metric files (files of an earlier run would be added
    to this one's counters), exported for the processes started after this call."""
    if path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True)
    os.environ[ENV] = str(path)
    return path


def render_metrics() -> bytes:
    if multiprocess_dir():
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return bytes(generate_latest(registry))
    return bytes(generate_latest())


def mark_dead(pid: int | None = None) -> None:
    """Drop this process's live gauges from the sums (its counters stay: they happened)."""
    if multiprocess_dir():
        multiprocess.mark_process_dead(pid or os.getpid())  # type: ignore[no-untyped-call]
