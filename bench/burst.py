"""The burst after a close (issue 18): a 10,000-owner period closes while owners open their
balance at a steady rate and the close's notifications fan out.

A copy of the benchmark database's ``large`` set (10,000 owners, 1,000,000 rows). The API (2
processes), the relay, a Celery worker, the bot and a Telegram-like fake (30 messages/s, 1/s per
chat) run as in production. An open-model load of ``--rate`` balance reads a second
(``GET /periods/{id}/balances/{owner}`` of random owners) runs for ``--seconds``; after
``--close-after`` seconds the period is closed (``POST /close``), so the reads meet the
CLOSING period, the close itself, then the CLOSED period, while the bot sends the 10,000
``period_closed`` messages. Measured: the reads' p50/p99 (from their scheduled time), every
answer's status, and the fan-out's rate over the window (the fake's record).

``python -m bench.burst [--seconds 120] [--rate 20] [--close-after 5]``
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from typing import Any

import httpx

from bench import common, datagen
from bench.fanout import busiest_window
from bench.recording import run_loadgen, summarize

NAME = "burst"
GOAL_P99_MS = 100.0
GOAL_FANOUT = 25.0


def main(argv: list[str] | None = None) -> dict[str, Any]:
    p = argparse.ArgumentParser(description="Reads and fan-out after a 10,000-owner close")
    p.add_argument("--seconds", type=float, default=120.0)
    p.add_argument("--rate", type=float, default=20.0)
    p.add_argument("--close-after", type=float, default=5.0)
    a = p.parse_args(argv)
    meta = datagen.ensure_data_db(fresh=False, sets=("peer", "small", "large"))
    ds = datagen.dataset(meta, "large")
    db = common.bench_url("burst")
    common.log("burst: copying the benchmark database (template)")
    common.create_db(db, template=common.bench_url())
    port = common.free_port()
    fake_url = f"http://127.0.0.1:{port}"
    env = common.child_env(db, TELEGRAM_API_BASE=fake_url, TELEGRAM_BOT_TOKEN=common.BOT_TOKEN)
    procs: list[common.Proc] = []
    result: dict[str, Any] = {
        **common.result_head("bench.burst", argv, db),
        "owners": ds.owners,
        "rows": ds.rows,
        "seconds": a.seconds,
        "read_rate": a.rate,
    }
    try:
        procs.append(common.start_fake_telegram(env, port))
        procs.append(common.start_relay(env))
        procs.append(common.start_worker(env, concurrency=1))
        api, api_url = common.start_api(env, workers=2, name="api-burst")
        procs.append(api)
        bot = common.Proc("bot", [sys.executable, "-m", "kopilka_bot"], env, common.LOGS).start()
        procs.append(bot)
        result["busy_before_pct"] = common.wait_quiet(max_wait=20)
        job: dict[str, Any] = {}

        def close_later() -> None:
            time.sleep(a.close_after)
            # time.monotonic(): the fake Telegram stamps its messages with the machine's monotonic
            # clock (time.time() here made "first message after the close" a -1.8e9 s figure and
            # the window's end filter no filter at all)
            t, wall = time.monotonic(), time.time()
            tries = 0
            try:
                while True:  # a busy API answers 503 + Retry-After: the treasurer's client retries
                    tries += 1
                    r = httpx.post(
                        f"{api_url}/api/payments/periods/{ds.period_id}/close",
                        headers={"X-API-Key": ds.api_key},
                        timeout=60,
                    )
                    if r.status_code != 503 or tries >= 20:
                        break
                    time.sleep(float(r.headers.get("Retry-After", "1")))
                job["post_status"] = r.status_code
                job["id"] = r.json().get("id")
            except Exception as exc:  # recorded, not lost with the thread
                job["post_error"] = f"{type(exc).__name__}: {exc}"[:300]
            job["post_tries"] = tries
            job["posted_at"] = t
            job["posted_at_epoch"] = wall
            job["answered_after_s"] = round(time.monotonic() - t, 2)

        closer = threading.Thread(target=close_later)
        closer.start()
        common.log(
            f"burst: {a.rate:g} reads/s for {a.seconds:g} s; the close after {a.close_after:g} s"
        )
        gen = run_loadgen(
            [
                "--url", api_url,
                "--path", f"/api/payments/periods/{ds.period_id}/balances/{{owner}}",
                "--method", "GET",
                "--api-key", ds.api_key,
                "--rate", str(a.rate),
                "--poisson",
                "--duration", str(a.seconds),
                "--owners", f"1001:{1000 + ds.owners}",
                "--timeout", "30",
            ]
        )  # fmt: skip
        t1 = time.monotonic()
        closer.join()
        result["reads"] = summarize(gen)
        job_state: dict[str, Any] = {}
        if job.get("id") is not None:
            job_state = httpx.get(
                f"{api_url}/api/jobs/{job['id']}", headers={"X-API-Key": ds.api_key}, timeout=30
            ).json()
        result["close"] = {
            "post_status": job.get("post_status"),
            "post_tries": job.get("post_tries"),
            "post_error": job.get("post_error"),
            "post_answered_after_s": job.get("answered_after_s"),
            "status": job_state.get("status"),
            "seconds": _job_seconds(job_state),
            "result": job_state.get("result"),
            # where a close that did not finish stood: queued, published to the broker, taken
            # by the worker (seconds after the POST), and what the worker logged of it
            "timeline": _timeline(db, job.get("id"), job.get("posted_at_epoch")),
            "worker_log": _worker_lines(procs, job.get("id")),
        }
        sent = httpx.get(fake_url + "/_fake/sent", timeout=120).json()["result"]
        times = sorted(float(m["at"]) for m in sent if float(m["at"]) <= t1)
        per_chat: dict[int, int] = {}
        for m in sent:
            per_chat[m["chat_id"]] = per_chat.get(m["chat_id"], 0) + 1
        span = times[-1] - times[0] if len(times) > 1 else 0.0
        result["fanout"] = {
            "messages_in_window": len(times),
            "messages_per_second": round((len(times) - 1) / span, 2) if span else None,
            "first_message_after_close_post_s": round(times[0] - job["posted_at"], 1)
            if times
            else None,
            "busiest_second": busiest_window(times),
            "duplicated_chats": sum(1 for v in per_chat.values() if v > 1),
        }
    finally:
        for proc in reversed(procs):
            proc.stop()
        common.drop_db(db)
    reads, fan = result["reads"], result["fanout"]
    result["meets_goal"] = bool(
        reads["p99_ms"] is not None
        and reads["p99_ms"] < GOAL_P99_MS
        and reads["ok"] == reads["sent"]
        and (fan["messages_per_second"] or 0) >= GOAL_FANOUT
        and result["close"]["status"] == "SUCCEEDED"
    )
    common.log(
        f"burst: reads p50 {reads['p50_ms']} ms, p99 {reads['p99_ms']} ms, "
        f"{reads['ok']}/{reads['sent']} ok; close {result['close']}; fan-out "
        f"{fan['messages_per_second']}/s ({fan['messages_in_window']} messages)"
    )
    common.finish(NAME, result)
    return result


def _timeline(db: str, job_id: int | None, posted: float | None) -> dict[str, Any] | None:
    """The close job's row: status, attempts, error, and when it was created, published to the
    broker, started and finished, in seconds after the POST was sent."""
    if job_id is None or posted is None:
        return None
    with common.pg_connect(common.libpq(db)) as c:
        row = c.execute(
            "SELECT status, attempts, error, extract(epoch FROM created_at), "
            "extract(epoch FROM published_at), extract(epoch FROM started_at), "
            "extract(epoch FROM finished_at) FROM jobs WHERE id = %s",
            (job_id,),
        ).fetchone()
    if row is None:
        return {"row": "missing"}
    status, attempts, error, *times = row
    names = ("created", "published", "started", "finished")
    return {
        "status": status,
        "attempts": attempts,
        "error": error,
        **{
            f"{n}_s": None if t is None else round(float(t) - posted, 2)
            for n, t in zip(names, times, strict=True)
        },
    }


def _worker_lines(procs: list[common.Proc], job_id: int | None) -> list[str]:
    """The worker's and the relay's log lines about the job (received, succeeded, errors)."""
    out: list[str] = []
    for proc in procs:
        if proc.name not in ("worker", "relay"):
            continue
        for line in proc.output().splitlines():
            if (
                "run_job" in line
                or "relay_" in line
                or "Error" in line
                or (job_id is not None and f'"job_id": {job_id}' in line)
            ):
                out.append(f"{proc.name}: {line[:300]}")
    return out[-30:]


def _job_seconds(job: dict[str, Any]) -> float | None:
    from datetime import datetime

    try:
        start = datetime.fromisoformat(job["created_at"].replace("Z", "+00:00"))
        end = datetime.fromisoformat(job["finished_at"].replace("Z", "+00:00"))
    except (KeyError, TypeError, AttributeError):
        return None
    return round((end - start).total_seconds(), 2)


if __name__ == "__main__":
    main()
