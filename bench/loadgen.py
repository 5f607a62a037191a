"""A small HTTP load generator, run as its own process so its CPU is measured on its own.

Open model (``--rate R``): request i is launched at t0 + i/R (or at Poisson arrivals with
``--poisson``) whether or not earlier requests were answered, over as many keep-alive connections
as it takes (aiohttp, no connection limit), so a slow server cannot slow the offered load down.
Latency is measured from the *scheduled* launch time (no coordinated omission) and also from the
actual send. Closed model (``--concurrency C``): C loops, each sends its next request when the
previous is answered: the maximum rate the server gives.

The raw per-request results (and the generator's CPU time) go to ``--out`` as JSON; the caller
computes the statistics.

``python -m bench.loadgen --url http://127.0.0.1:8000 --path /api/payments/periods/1/contributions
--api-key KEY --rate 300 --duration 15 --owners 1001:2000 --out /tmp/r.json``
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import resource
import time
from typing import Any

import aiohttp


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


class Gen:
    def __init__(self, a: argparse.Namespace) -> None:
        self.a = a
        lo, _, hi = a.owners.partition(":")
        self.owner_lo, self.owner_hi = int(lo), int(hi or lo)
        self.rnd = random.Random(a.seed)
        self.headers = {"Content-Type": "application/json"}
        if a.api_key:
            self.headers["X-API-Key"] = a.api_key
        self.results: list[tuple[float, float, float, int, int]] = []
        self.errors: dict[str, int] = {}

    def body(self, i: int) -> tuple[bytes | None, int, dict[str, str]]:
        if self.a.method == "GET":
            return None, 0, self.headers
        owner = self.rnd.randint(self.owner_lo, self.owner_hi)
        minor = self.rnd.randint(100, 99999)
        body = {
            "owner_id": owner,
            "amount": f"{minor // 100}.{minor % 100:02d}",
            "comment": f"bench {self.a.tag} {i}",
        }
        headers = self.headers
        if self.a.idempotency:
            headers = {**headers, "Idempotency-Key": f"{self.a.tag}-{i}"}
        return json.dumps(body).encode(), minor, headers

    async def one(self, session: aiohttp.ClientSession, i: int, sched: float, t0: float) -> None:
        data, minor, headers = self.body(i)
        loop = asyncio.get_running_loop()
        send = loop.time()
        status = -1
        try:
            async with session.request(
                self.a.method, self.a.url + self.a.path, data=data, headers=headers
            ) as r:
                await r.read()
                status = r.status
        except Exception as exc:  # a timeout or a refused connection: counted, not raised
            key = type(exc).__name__
            self.errors[key] = self.errors.get(key, 0) + 1
        end = loop.time()
        self.results.append((sched - t0, end - sched, end - send, status, minor))

    async def open_model(self, session: aiohttp.ClientSession) -> dict[str, Any]:
        loop = asyncio.get_running_loop()
        rate, duration = self.a.rate, self.a.duration
        n = int(rate * duration)
        arrivals = random.Random(self.a.seed + 1)
        t0 = loop.time() + 0.1
        at = t0
        tasks: list[asyncio.Task[None]] = []
        max_lag = 0.0
        for i in range(n):
            delay = at - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            max_lag = max(max_lag, loop.time() - at)
            tasks.append(loop.create_task(self.one(session, i, at, t0)))
            at += arrivals.expovariate(rate) if self.a.poisson else 1.0 / rate
        schedule_end = loop.time()
        await asyncio.gather(*tasks)
        return {
            "mode": "open",
            "offered_rate": rate,
            "planned": n,
            "schedule_seconds": round(schedule_end - t0, 3),
            "max_launch_lag_ms": round(max_lag * 1000, 2),
            "all_done_seconds": round(loop.time() - t0, 3),
        }

    async def closed_model(self, session: aiohttp.ClientSession) -> dict[str, Any]:
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        deadline = t0 + self.a.duration
        counter = iter(range(10**9))

        async def worker(n: int) -> None:
            # Staggered starts let every server process accept some of the connections.
            await asyncio.sleep(n * self.a.stagger_ms / 1000)
            while loop.time() < deadline:
                i = next(counter)
                await self.one(session, i, loop.time(), t0)

        await asyncio.gather(*(worker(n) for n in range(self.a.concurrency)))
        return {
            "mode": "closed",
            "concurrency": self.a.concurrency,
            "all_done_seconds": round(loop.time() - t0, 3),
        }

    async def run(self) -> dict[str, Any]:
        connector = aiohttp.TCPConnector(limit=0, keepalive_timeout=60)
        timeout = aiohttp.ClientTimeout(total=self.a.timeout)
        async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
            if self.a.warm_connections:  # open some keep-alive connections first

                async def warm() -> None:
                    async with session.get(self.a.url + "/health") as r:
                        await r.read()

                await asyncio.gather(
                    *(warm() for _ in range(self.a.warm_connections)), return_exceptions=True
                )
            cpu0, wall0 = _cpu(), time.monotonic()
            if self.a.concurrency:
                info = await self.closed_model(session)
            else:
                info = await self.open_model(session)
            info["generator_cpu_seconds"] = round(_cpu() - cpu0, 3)
            info["generator_wall_seconds"] = round(time.monotonic() - wall0, 3)
        info["errors"] = self.errors
        # columns: scheduled offset, latency from schedule, latency from send, status, minor
        info["results"] = self.results
        return info


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--url", required=True)
    p.add_argument("--path", required=True)
    p.add_argument("--method", default="POST", choices=["GET", "POST"])
    p.add_argument("--api-key", default="")
    p.add_argument("--rate", type=float, default=100.0)
    p.add_argument("--poisson", action="store_true")
    p.add_argument("--concurrency", type=int, default=0, help="closed model instead of open")
    p.add_argument("--duration", type=float, default=10.0)
    p.add_argument("--owners", default="1001:2000", help="owner_id range of the POST bodies")
    p.add_argument("--idempotency", action="store_true", help="send an Idempotency-Key")
    p.add_argument("--tag", default="run")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--timeout", type=float, default=30.0)
    p.add_argument("--warm-connections", type=int, default=0)
    p.add_argument("--stagger-ms", type=float, default=0.0, help="closed model: start delay")
    p.add_argument("--out", required=True)
    a = p.parse_args(argv)
    try:
        import uvloop

        info = uvloop.run(Gen(a).run())
    except ImportError:
        info = asyncio.run(Gen(a).run())
    with open(a.out, "w") as fh:
        json.dump(info, fh)


if __name__ == "__main__":
    main()
