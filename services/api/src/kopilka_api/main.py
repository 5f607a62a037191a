"""ASGI entry point: ``uvicorn kopilka_api.main:app``."""

import gc

from kopilka_api.app import create_app
from kopilka_api.middleware import FreezeWhenWarm

# Everything built so far (the app, its routes and schemas, SQLAlchemy's mappers) lives as long
# as the process: keep it out of the garbage collector's scans, so that the collections that
# requests trigger only walk what requests allocate. What the first requests build to last (the
# compiled statements, the prepared ones, the pools) is frozen in turn once the process is warm.
app = FreezeWhenWarm(create_app())
gc.collect()
gc.freeze()
