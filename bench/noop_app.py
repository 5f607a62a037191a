"""The floor of the web stack: FastAPI endpoints that do nothing, served like the Kopilka API.

``GET /noop`` (async), and ``POST /noop-sync``: a plain ``def`` (FastAPI runs it in the thread
pool, as every Kopilka route) that validates a contribution-like body with pydantic and answers
a small model, as a money POST does, minus the database.

``uvicorn bench.noop_app:app``
"""

from __future__ import annotations

from decimal import Decimal

from fastapi import FastAPI
from pydantic import BaseModel, Field

app = FastAPI(title="noop")


class Body(BaseModel):
    owner_id: int
    amount: Decimal
    comment: str | None = Field(default=None, max_length=2000)


class Answer(BaseModel):
    id: int
    owner_id: int
    amount: str
    comment: str | None


@app.get("/noop")
async def noop() -> dict[str, str]:
    return {"status": "ok"}


@app.get("/health")
async def health() -> dict[str, str]:
    return {"status": "ok"}


@app.post("/noop-sync", status_code=201, response_model=Answer)
def noop_sync(body: Body) -> Answer:
    return Answer(id=1, owner_id=body.owner_id, amount=f"{body.amount:.2f}", comment=body.comment)
