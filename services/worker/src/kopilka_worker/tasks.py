"""Thin tasks: each calls one use case of kopilka."""

from __future__ import annotations

from typing import Any

from kopilka import scheduler
from kopilka.jobs import service as jobs
from kopilka.jobs.registry import COMPENSATIONS, HANDLERS
from kopilka_worker.app import celery_app


@celery_app.task(name="kopilka.run_job", acks_late=True, reject_on_worker_lost=True)
def run_job(job_id: int) -> str:
    return jobs.run(int(job_id), HANDLERS, COMPENSATIONS)


@celery_app.task(name="kopilka.sweep")
def sweep() -> dict[str, Any]:
    return scheduler.sweep()
