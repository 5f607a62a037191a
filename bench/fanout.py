"""Notification fan-out: 10,000 owners through the real bot process to a Telegram-like fake.

Goal (issue 8): messages per second against Telegram's ceiling of 30/s, none duplicated. A fresh
database (``kopilka_bench_fanout``) gets ``--owners`` owners with linked chats and one PENDING
``period_closed`` notification each, exactly the rows a close queues. The fake Bot API
(``tests/fakes/fake_telegram.py``, ``--telegram-like``: 30 messages/s overall and 1/s per chat,
else HTTP 429 with ``retry_after``) runs as its own process, and the bot runs as in production
(``python -m kopilka_bot``, its sender paced by ``KOPILKA_BOT_GLOBAL_RATE``). When no row is
left PENDING the bot is stopped and the fake's record is read: the steady rate (first to last
message), the busiest sliding second, the 429s it answered, and whether any chat got a message
twice; the database must hold every row SENT with its Telegram message id.

``python -m bench.fanout [--owners 10000] [--quick] [--rate R]``
"""

from __future__ import annotations

import argparse
import bisect
import sys
import time
from typing import Any

import httpx

from bench import common, datagen

NAME = "fanout"
CEILING = 30.0


def prepare(db: str, owners: int) -> dict[str, Any]:
    common.create_migrated_db(db)
    community_id, _ = datagen.create_community(db, "fanout")
    with common.pg_connect(common.libpq(db)) as c:
        period_id = datagen.create_period(
            c, community_id, "2025", datagen.PERIOD_START, datagen.PERIOD_END
        )
        datagen.load_owners(c, community_id, owners, telegram_base=6_000_000_000)
        queued = c.execute(
            """
            INSERT INTO notifications
                (community_id, owner_pk, kind, dedupe_key, payload, status, attempts)
            SELECT o.community_id, o.id, 'period_closed', 'period_closed:bench:' || o.id,
                   jsonb_build_object('period_id', %(p)s, 'period_name', '2025',
                       'balance_minor', (o.owner_id * 7919) %% 2000001 - 1000000,
                       'currency', 'RUB',
                       'invoice_amount_minor', (o.owner_id * 104729) %% 500000 + 1),
                   'PENDING', 0
            FROM owners o WHERE o.community_id = %(c)s
            """,
            {"p": period_id, "c": community_id},
        ).rowcount
        c.commit()
    return {"community_id": community_id, "period_id": period_id, "queued": queued}


def db_state(db: str) -> dict[str, int]:
    with common.pg_connect(common.libpq(db)) as c:
        rows = c.execute("SELECT status, count(*) FROM notifications GROUP BY status").fetchall()
    return {str(s): int(n) for s, n in rows}


def busiest_window(times: list[float], window: float = 1.0) -> int:
    times = sorted(times)
    best = 0
    for i, t in enumerate(times):
        j = bisect.bisect_left(times, t + window)  # messages in [t, t + window)
        best = max(best, j - i)
    return best


def main(argv: list[str] | None = None) -> dict[str, Any]:
    p = argparse.ArgumentParser(description="Notification fan-out rate")
    p.add_argument("--owners", type=int, default=10_000)
    p.add_argument("--quick", action="store_true", help="2,000 owners (about 70 s)")
    p.add_argument("--rate", type=float, default=None, help="KOPILKA_BOT_GLOBAL_RATE for the bot")
    a = p.parse_args(argv)
    n = 2_000 if a.quick else a.owners
    db = common.bench_url("fanout")
    common.log(f"fan-out: preparing {n:,} owners with one PENDING notification each")
    prep = prepare(db, n)
    port = common.free_port()
    fake_url = f"http://127.0.0.1:{port}"
    env = common.child_env(db, TELEGRAM_API_BASE=fake_url, TELEGRAM_BOT_TOKEN=common.BOT_TOKEN)
    if a.rate is not None:
        env["KOPILKA_BOT_GLOBAL_RATE"] = str(a.rate)
    from kopilka.config import Settings

    configured_rate = float(env.get("KOPILKA_BOT_GLOBAL_RATE") or Settings().bot_global_rate)
    fake = common.start_fake_telegram(env, port)
    result: dict[str, Any] = {
        **common.result_head("bench.fanout", argv, db),
        "owners": n,
        "queued": prep["queued"],
        "configured_global_rate": configured_rate,
        "ceiling": CEILING,
    }
    bot: common.Proc | None = None
    try:
        result["busy_before_pct"] = common.wait_quiet(max_wait=30)
        bot = common.Proc("bot", [sys.executable, "-m", "kopilka_bot"], env, common.LOGS)
        t0 = time.monotonic()
        bot.start()
        bot_pid = bot.pid
        meter = common.CpuMeter(
            {
                "bot": lambda: common.tree_pids(bot_pid),
                "fake_telegram": lambda: common.tree_pids(fake.pid),
                "postgres": common.postgres_pids,
            }
        ).start()
        last_log = t0
        expected = n / configured_rate
        common.log(f"fan-out: bot started; about {expected:.0f} s at {configured_rate:g}/s")
        first_seen: float | None = None
        while True:
            time.sleep(2)
            state = db_state(db)
            if first_seen is None and state.get("SENT", 0) > 0:
                first_seen = time.monotonic() - t0
                result["first_sent_seen_after_bot_start_s"] = round(first_seen, 1)
            if not bot.alive:
                raise RuntimeError(f"the bot exited:\n{bot.output()[-3000:]}")
            if state.get("PENDING", 0) == 0:
                break
            if time.monotonic() - last_log > 15:
                last_log = time.monotonic()
                common.log(f"  {time.monotonic() - t0:5.0f} s: {state}")
            if time.monotonic() - t0 > max(120, 4 * expected):
                raise TimeoutError(f"fan-out not done after {time.monotonic() - t0:.0f}s: {state}")
        result["wall_seconds_from_bot_start"] = round(time.monotonic() - t0, 1)
        result.update(meter.stop())
        bot.stop(timeout=40)
        stats = httpx.get(fake_url + "/_fake/stats", timeout=30).json()["result"]
        sent = httpx.get(fake_url + "/_fake/sent", timeout=120).json()["result"]
    finally:
        if bot is not None:
            bot.stop()
        fake.stop()
    times = sorted(float(m["at"]) for m in sent)
    per_chat: dict[int, int] = {}
    for m in sent:
        per_chat[m["chat_id"]] = per_chat.get(m["chat_id"], 0) + 1
    span = times[-1] - times[0] if len(times) > 1 else 0.0
    state = db_state(db)
    with common.pg_connect(common.libpq(db)) as c:
        with_ids = c.execute(
            "SELECT count(*) FROM notifications WHERE status = 'SENT' "
            "AND telegram_message_id IS NOT NULL AND chat_id IS NOT NULL"
        ).fetchone()[0]  # type: ignore[index]
    rate = round((len(times) - 1) / span, 2) if span else None
    result.update(
        {
            "messages_sent": len(sent),
            "chats": len(per_chat),
            "duplicated_chats": sum(1 for v in per_chat.values() if v > 1),
            "first_to_last_seconds": round(span, 1),
            "messages_per_second": rate,
            "pct_of_ceiling": round(100 * rate / CEILING, 1) if rate else None,
            "busiest_second": busiest_window(times),
            "fake_429": stats.get("rejected_429", 0),
            "fake_rejected": stats.get("rejected", 0),
            "db_status": state,
            "db_sent_with_message_id": int(with_ids),
        }
    )
    result["none_duplicated"] = result["duplicated_chats"] == 0 and len(sent) == n
    result["all_delivered"] = state.get("SENT", 0) == n and int(with_ids) == n
    common.log(
        f"fan-out: {len(sent):,} messages to {len(per_chat):,} chats in {span:.1f} s = "
        f"{rate}/s ({result['pct_of_ceiling']}% of 30/s); busiest second "
        f"{result['busiest_second']}; 429s {result['fake_429']}; duplicated chats "
        f"{result['duplicated_chats']}; db {state}"
    )
    common.drop_db(db)
    common.finish(NAME, result)
    return result


if __name__ == "__main__":
    main()
