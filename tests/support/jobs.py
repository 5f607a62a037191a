"""Running a job in the test process (no worker needed), robust to a live worker of the session
taking the same job first."""

from __future__ import annotations

from kopilka.jobs.registry import COMPENSATIONS, HANDLERS
from kopilka.jobs.service import run, wait_for


def run_job(job_id: int) -> str:
    """Run the job here; when a worker delivery holds it, wait for that one. Its final status."""
    outcome = run(job_id, HANDLERS, COMPENSATIONS)
    done = wait_for(job_id, 60)
    assert done is not None, f"job {job_id} did not finish ({outcome})"
    return done.status
