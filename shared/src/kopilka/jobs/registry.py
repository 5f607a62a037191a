"""Which use case runs each job kind, and what undoes its request when it fails."""

from __future__ import annotations

from kopilka.imports import service as imports
from kopilka.jobs.service import Compensation, Handler
from kopilka.periods import closing

HANDLERS: dict[str, Handler] = {
    closing.CLOSE: closing.close_job,
    closing.CARRY_FORWARD: closing.carry_forward_job,
    closing.ROLLOVER: closing.rollover_job,
    imports.IMPORT: imports.import_job,
}

COMPENSATIONS: dict[str, Compensation] = {
    closing.CLOSE: closing.compensate_close,
    closing.ROLLOVER: closing.compensate_close,
}
