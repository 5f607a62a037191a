"""The Celery app: delivers job ids; the job rows in PostgreSQL are the truth.

Reliability: late acknowledgement with reject-on-worker-lost (a message is acked only after the
task ran, and requeued when the worker process dies), one message prefetched at a time, and a
broker visibility timeout above the longest job. Attempts are capped and recorded on the job row.
"""

from __future__ import annotations

from typing import Any

from celery import Celery

from kopilka.config import get_settings
from kopilka.logging import configure_logging

settings = get_settings()
configure_logging(settings.log_level, settings.log_json)

celery_app = Celery("kopilka", broker=settings.redis_url, include=["kopilka_worker.tasks"])
celery_app.conf.update(
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    worker_prefetch_multiplier=1,
    task_default_queue=settings.celery_queue,
    task_ignore_result=True,
    broker_connection_retry_on_startup=True,
    broker_transport_options={"visibility_timeout": settings.job_visibility_timeout},
    worker_hijack_root_logger=False,
    beat_schedule={
        "sweep": {"task": "kopilka.sweep", "schedule": settings.sweep_interval_seconds},
    },
    timezone="UTC",
)


def publish_job(job_id: int) -> None:
    celery_app.send_task("kopilka.run_job", args=[job_id], queue=settings.celery_queue)


__all__: list[Any] = ["celery_app", "publish_job"]
