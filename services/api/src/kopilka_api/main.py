"""ASGI entry point: ``uvicorn kopilka_api.main:app``."""

from kopilka_api.app import create_app

app = create_app()
