"""A small HTTP load generator, run as its own process so its CPU is measured on its own.

Open model (``--rate R``): request i is launched at t0 + i/R (or at Poisson arrivals with
``--poisson``) whether or not earlier requests were answered, over as many keep-alive connections
as it takes (no connection limit), so a slow server cannot slow the offered load down.
Latency is measured from the *scheduled* launch time (no coordinated omission) and also from the
actual send. Closed model (``--concurrency C``): C loops, each sends its next request when the
previous is answered: the maximum rate the server gives.

The raw per-request results (and the generator's CPU time) go to ``--out`` as JSON; the caller
computes the statistics.

The client (``--client raw``, the default) is a minimal HTTP/1.1 keep-alive client on asyncio
streams: the generator runs on the same 2 cores as the server and PostgreSQL, and aiohttp's
client cost about 0.4-0.45 ms of CPU per request (13 % of a core at 300 requests/s), CPU the
server then lacks; the raw client needs about half of that (0.23 ms). ``--client aiohttp`` keeps the
library client for comparison.

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
from urllib.parse import urlsplit

import aiohttp


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


class RawClient:
    """HTTP/1.1 over keep-alive connections to one host: an idle connection is reused, else a new
    one is opened. Just enough HTTP for JSON APIs: Content-Length or chunked bodies.

    A server closes a keep-alive connection it has left idle for a while (uvicorn: 5 s), so idle
    connections are dropped after ``IDLE_S``, and a request whose *reused* connection ends before
    any answer is sent again once on a fresh one (as browsers and aiohttp do; the server never saw
    it, and the requests carry an Idempotency-Key anyway)."""

    IDLE_S = 4.0

    def __init__(self, url: str, timeout: float) -> None:
        u = urlsplit(url)
        self.host, self.port = u.hostname or "127.0.0.1", u.port or 80
        self.timeout = timeout
        self.idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter, float]] = []
        self.head = f"Host: {self.host}:{self.port}\r\n".encode()
        self.retried = 0

    async def _connection(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter, bool]:
        now = time.monotonic()
        while self.idle:
            reader, writer, since = self.idle.pop()
            if now - since < self.IDLE_S and not reader.at_eof():
                return reader, writer, True
            writer.close()
        reader, writer = await asyncio.open_connection(self.host, self.port)
        return reader, writer, False

    async def request(
        self, method: str, path: str, body: bytes | None, headers: dict[str, str]
    ) -> int:
        deadline = time.monotonic() + self.timeout
        while True:
            reader, writer, reused = await self._connection()
            try:
                status, keep = await asyncio.wait_for(
                    self._exchange((reader, writer), method, path, body, headers),
                    max(0.001, deadline - time.monotonic()),
                )
            except (asyncio.IncompleteReadError, ConnectionError) as exc:
                writer.close()
                no_answer = not isinstance(exc, asyncio.IncompleteReadError) or not exc.partial
                if reused and no_answer:
                    self.retried += 1
                    continue
                raise
            except BaseException:
                writer.close()
                raise
            if keep:
                self.idle.append((reader, writer, time.monotonic()))
            else:
                writer.close()
            return status

    async def _exchange(
        self,
        conn: tuple[asyncio.StreamReader, asyncio.StreamWriter],
        method: str,
        path: str,
        body: bytes | None,
        headers: dict[str, str],
    ) -> tuple[int, bool]:
        reader, writer = conn
        lines = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        data = body or b""
        writer.write(
            f"{method} {path} HTTP/1.1\r\n".encode()
            + self.head
            + f"{lines}Content-Length: {len(data)}\r\n\r\n".encode()
            + data
        )
        head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").lower()
        status = int(head[9:12])
        keep = "connection: close" not in head
        if "transfer-encoding: chunked" in head:
            while True:
                size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
                await reader.readexactly(size + 2)
                if size == 0:
                    break
        else:
            at = head.find("content-length:")
            if at < 0:
                await reader.read()  # the body runs to the end of the connection
                return status, False
            length = int(head[at + 15 : head.index("\r\n", at)])
            await reader.readexactly(length)
        return status, keep

    def close(self) -> None:
        for _, writer, _ in self.idle:
            writer.close()
        self.idle.clear()


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

    async def one(self, session: Any, i: int, sched: float, t0: float) -> None:
        data, minor, headers = self.body(i)
        path = self.a.path
        if "{owner}" in path:  # a GET of a random owner's resource
            path = path.replace("{owner}", str(self.rnd.randint(self.owner_lo, self.owner_hi)))
        loop = asyncio.get_running_loop()
        send = loop.time()
        status = -1
        try:
            if isinstance(session, RawClient):
                status = await session.request(self.a.method, path, data, headers)
            else:
                async with session.request(
                    self.a.method, self.a.url + path, data=data, headers=headers
                ) as r:
                    await r.read()
                    status = r.status
        except Exception as exc:  # a timeout or a refused connection: counted, not raised
            key = type(exc).__name__
            self.errors[key] = self.errors.get(key, 0) + 1
        end = loop.time()
        self.results.append((sched - t0, end - sched, end - send, status, minor))

    async def open_model(self, session: Any) -> dict[str, Any]:
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

    async def closed_model(self, session: Any) -> dict[str, Any]:
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
        if self.a.client == "raw":
            raw = RawClient(self.a.url, self.a.timeout)
            try:
                info = await self._measure(raw, lambda: raw.request("GET", "/health", None, {}))
                info["resent_on_closed_keepalive"] = raw.retried
            finally:
                raw.close()
        else:
            connector = aiohttp.TCPConnector(limit=0, keepalive_timeout=60)
            timeout = aiohttp.ClientTimeout(total=self.a.timeout)
            async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:

                async def warm() -> None:
                    async with session.get(self.a.url + "/health") as r:
                        await r.read()

                info = await self._measure(session, warm)
        info["client"] = self.a.client
        info["errors"] = self.errors
        # columns: scheduled offset, latency from schedule, latency from send, status, minor
        info["results"] = self.results
        return info

    async def _measure(self, session: Any, warm: Any) -> dict[str, Any]:
        if self.a.warm_connections:  # open some keep-alive connections first
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
    p.add_argument("--client", default="raw", choices=["raw", "aiohttp"])
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
