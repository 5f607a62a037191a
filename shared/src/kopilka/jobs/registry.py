"""Which use case runs each job kind, and what undoes its request when it fails."""

from __future__ import annotations

from kopilka.imports import service as imports
from kopilka.jobs.service import Compensation, Handler
from kopilka.periods import carry_forward, closing, rollover

HANDLERS: dict[str, Handler] = {
    closing.CLOSE: closing.close_job,
    carry_forward.CARRY_FORWARD: carry_forward.carry_forward_job,
    rollover.ROLLOVER: rollover.rollover_job,
    imports.IMPORT: imports.import_job,
}

COMPENSATIONS: dict[str, Compensation] = {
    closing.CLOSE: closing.compensate_close,
    rollover.ROLLOVER: closing.compensate_close,
}
