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
            t = time.time()
            tries = 0
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
            job["post_tries"] = tries
            job["id"] = r.json().get("id")
            job["posted_at"] = t

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
        t1 = time.time()
        closer.join()
        result["reads"] = summarize(gen)
        job_state = httpx.get(
            f"{api_url}/api/jobs/{job['id']}", headers={"X-API-Key": ds.api_key}, timeout=30
        ).json()
        result["close"] = {
            "post_status": job["post_status"],
            "post_tries": job.get("post_tries"),
            "status": job_state.get("status"),
            "seconds": _job_seconds(job_state),
            "result": job_state.get("result"),
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
