"""ASGI entry point: ``uvicorn kopilka_api.main:app``."""

import gc

from kopilka_api.app import create_app

app = create_app()

# Everything built so far (the app, its routes and schemas, SQLAlchemy's mappers) lives as long
# as the process: keep it out of the garbage collector's scans, so that the collections that
# requests trigger only walk what requests allocate.
gc.collect()
gc.freeze()
