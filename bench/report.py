"""Writes ``bench/RESULTS.md`` from the figures in ``bench/out/*.json`` (and the analysis in
``bench/FINDINGS.md``, written by hand from a run and included as it is).

``python -m bench.report`` regenerates it without measuring anything.
"""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path
from typing import Any

from bench import common

TITLE = "# Kopilka benchmarks: results\n"


def _fmt(v: Any, unit: str = "") -> str:
    if v is None:
        return "n/a"
    if isinstance(v, float):
        v = f"{v:,.1f}" if abs(v) < 1e6 else f"{v:,.0f}"
    elif isinstance(v, int):
        v = f"{v:,}"
    return f"{v}{unit}"


def _ok(flag: Any) -> str:
    if flag is None:
        return "n/a"
    return "**yes**" if flag else "**no**"


def _machine(m: dict[str, Any]) -> list[str]:
    pg = m.get("postgresql_settings", {})
    return [
        "| | |",
        "|---|---|",
        f"| date | {m.get('date')} |",
        f"| nproc | {m.get('nproc')} |",
        f"| CPU | {m.get('cpu_model')}"
        + (f", {m['hypervisor']} virtual machine" if m.get("hypervisor") else "")
        + (f", in a {m['virtualization']} container" if m.get("virtualization") else "")
        + " |",
        f"| memory | {m.get('memory_gib')} GiB |",
        f"| PostgreSQL | {m.get('postgresql')} (synchronous_commit={pg.get('synchronous_commit')}, "
        f"fsync={pg.get('fsync')}, wal_sync_method={pg.get('wal_sync_method')}, "
        f"shared_buffers={pg.get('shared_buffers')}, work_mem={pg.get('work_mem')}) |",
        f"| Python | {m.get('python')}, kernel {m.get('kernel')} |",
        f"| code measured | commit {m.get('code')} (outside bench/) |",
        f"| load average at start (1, 5, 15 min) | {', '.join(m.get('loadavg_at_start', []))} |",
    ]


def _head(r: dict[str, Any]) -> list[str]:
    m = r.get("machine", {})
    return [
        f"Command: `{r.get('command')}`  ",
        f"Ran: {m.get('date')} on commit {m.get('code')}, load average at start "
        f"{', '.join(m.get('loadavg_at_start', []))}",
        "",
    ]


def _profile_excerpt(rel: str | None, lines: int = 45) -> list[str]:
    if not rel:
        return []
    path = common.ROOT / rel
    if not path.exists():
        return []
    text = path.read_text().splitlines()
    body = [ln for ln in text if ln.strip()][:lines]
    return [
        "<details><summary>profile excerpt (" + rel + ")</summary>",
        "",
        "```",
        *body,
        "```",
        "</details>",
        "",
    ]


# ---------------------------------------------------------------- sections


def _step_row(s: dict[str, Any], first: str) -> str:
    statuses = {k: v for k, v in s.get("statuses", {}).items() if k not in ("201",)}
    extra = f" ({statuses})" if statuses else ""
    return (
        f"| {first} | {_fmt(s['achieved_rate'])} | {_fmt(s['ok'])} / {_fmt(s['sent'])}{extra} | "
        f"{s['p50_ms']} | {s['p90_ms']} | {s['p99_ms']} | {s['max_ms']} | "
        f"{'match' if s['count_and_sum_match'] else 'MISMATCH'} ({_fmt(s['db_count'])} rows, "
        f"lost {s['lost']}, stored-not-acked {s['unacknowledged_but_stored']}) | "
        f"{s['api_cpu_pct']}{_per_worker(s)} | {s['postgres_cpu_pct']} | "
        f"{s['generator_cpu_pct']} | "
        f"{s['machine_busy_pct']} | {s.get('busy_before_pct', '')} | "
        f"{s.get('checkpoints_during', '')} | {s.get('python_speed_ms', '')} |"
    )


def _per_worker(s: dict[str, Any]) -> str:
    parts = [str(s[k]) for k in sorted(s) if k.startswith("api_worker") and k.endswith("_cpu_pct")]
    return f" ({' + '.join(parts)})" if parts else ""


STEP_HEADER = [
    "| load | achieved /s | ok / sent | p50 ms | p90 ms | p99 ms | max ms | count+sum in DB | "
    "API CPU % (per worker) | PostgreSQL CPU % | generator CPU % | machine busy % | "
    "CPU busy before % | PostgreSQL checkpoints ended during | fixed Python work before, ms |",
    "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
]


def _recording(r: dict[str, Any]) -> list[str]:
    out = ["## 1. Recording money over HTTP", "", *_head(r)]
    ds = r.get("dataset", {})
    out += [
        "`POST /api/payments/periods/{id}/contributions` with an `Idempotency-Key` into a "
        f"community with {_fmt(ds.get('owners'))} owners and {_fmt(ds.get('rows'))} rows "
        f"recorded before; synchronous_commit = **{r.get('synchronous_commit')}**; each load "
        "into a period of its own, whose contributions and CONTRIBUTION ledger entries are then "
        "counted and summed in PostgreSQL and compared with the 201 answers. First the capacity "
        f"(closed model: {r.get('capacity_clients', 8)} clients started 50 ms apart, each "
        "sending its next request when answered), then the open "
        f"model: a fixed arrival schedule, {r.get('duration_per_step_s')} s per offered rate, "
        "latency measured from the scheduled time (no coordinated omission), stopping at "
        "saturation; status -1 = no answer within the client timeout (15 s). CPU in percent of "
        "one core (200 % = both cores); the load generator is a process of its own on the same "
        "2 cores (a minimal HTTP/1.1 keep-alive client, `bench/loadgen.py`). The goal's rate is "
        "run again after the steps (repeats), as this machine's figures vary from run to run. "
        "The benchmark's one API key has `KOPILKA_WRITE_RATE_LIMIT=1000000/minute` "
        "(with the default 120/minute one key may record 2 contributions/s).",
        "",
    ]
    for cfg in r.get("configs", []):
        cap = cfg.get("capacity", {})
        out += [
            f"**uvicorn --workers {cfg['workers']}**: capacity "
            f"**{_fmt(cap.get('achieved_rate'))}/s** "
            f"({cap.get('api_cpu_ms_per_request')} ms of API CPU per contribution); highest "
            f"open-model rate served in full with p99 < 100 ms: "
            f"**{_fmt(cfg.get('best_rate_within_goal'), '/s')}**; pool timeouts in the API "
            f"log: {cfg.get('pool_timeouts_in_api_log')}",
            "",
            *STEP_HEADER,
        ]
        if cap:
            out.append(_step_row(cap, f"closed, {cap.get('concurrency')} clients"))
        for s in cfg.get("steps", []):
            out.append(_step_row(s, f"open, {_fmt(s['offered_rate'])}/s"))
        for n, s in enumerate(cfg.get("goal_repeats", []), 2):
            out.append(_step_row(s, f"open, {_fmt(s['offered_rate'])}/s, run {n}"))
        out.append("")
    costs = r.get("request_costs")
    if costs:
        prof = r.get("profile", {})
        out += [
            "Cost per request, one client at a time (1 worker; API CPU per request from "
            "`/proc`), against the same work in-process without HTTP:",
            "",
            "| request | rate, 1 client | p50 ms | API CPU per request | same work in-process |",
            "|---|---|---|---|---|",
        ]
        inproc = {
            "GET /periods/{id}": prof.get("read_cpu_ms_in_process"),
            "POST /periods/{id}/contributions": prof.get("cpu_ms_per_request"),
        }
        for label, c in costs.items():
            ip = inproc.get(label)
            out.append(
                f"| `{label}` | {_fmt(c['rate'])}/s | {c['p50_ms']} | "
                f"**{c['api_cpu_ms_per_request']} ms** | "
                f"{f'{ip} ms CPU' if ip is not None else ''} |"
            )
        out.append("")
    over = r.get("overload")
    if over:
        out += [
            "Overload probe: 100 clients for 10 s (closed model, 40 s client timeout) against 1 worker, "
            "the project's API as it is (at most `KOPILKA_MAX_IN_FLIGHT` = 4 requests in flight "
            "per process, the rest queued on the event loop), then the same with that limit "
            "lifted (`KOPILKA_MAX_IN_FLIGHT=100000`), as the API was before 2026-11-22:",
            "",
            *STEP_HEADER,
        ]
        for label, o in over.items():
            out.append(
                _step_row(o, f"{label} (pool timeouts: {o.get('pool_timeouts_in_api_log')})")
            )
        out.append("")
    dl = r.get("database_limit")
    if dl and "clients_8" in dl:
        out += [
            "The database's own limit: the same reads, locks and rows as one recorded "
            "contribution (contribution, ledger entry, audit row, receipt notification, "
            f"idempotency record) as one pgbench transaction ({dl.get('script')}): "
            f"**{_fmt(dl['clients_8'].get('tps'))}/s with 8 clients** "
            f"({dl['clients_8'].get('latency_avg_ms')} ms average), "
            f"{_fmt(dl['clients_1'].get('tps'))}/s with 1 client "
            f"({dl['clients_1'].get('latency_avg_ms')} ms).",
            "",
        ]
    prof = r.get("profile")
    if prof:
        out += [
            "In-process, the same request path without HTTP (authenticate, idempotent `write`, "
            "`record_contribution`, commit), one request at a time, no profiler:",
            "",
            f"- {prof['ms_per_request']} ms per request ({prof['sequential_rate']}/s on one "
            f"thread), of which **{prof.get('cpu_ms_per_request')} ms CPU** in this process; "
            f"**{prof['statements_per_request']} SQL statements** per request; "
            f"{prof['db_ms_per_request']} ms inside database calls (commit "
            f"{prof['commit_ms_per_request']} ms).",
            f"- cProfile, sorted by own time: {prof.get('cprofile_file')}",
            "",
            *_profile_excerpt(prof.get("profile_file"), lines=60),
        ]
    return out


def _balance(r: dict[str, Any]) -> list[str]:
    out = ["## 2. Balance sheet (live, OPEN period)", "", *_head(r)]
    out += [
        f"p50 of {r.get('runs')} runs after one warm-up. HTTP: `GET "
        "/api/payments/periods/{id}/balance-sheet`, uvicorn with 1 worker. In-process: "
        "`live_sheet` (SQL + allocation), `sheet_out` (response model), JSON, and on their own "
        "`ledger_sums` and `compute_allocations`.",
        "",
        "| data set | goal | HTTP p50 | met? | in-process total | live_sheet | ledger_sums | "
        "compute_allocations | sheet_out | JSON | response | ledger aggregation plan | "
        "one owner's balance (HTTP p50) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, d in r.get("datasets", {}).items():
        ip, http, plan = d.get("in_process", {}), d.get("http", {}), d.get("plan", {})
        out.append(
            f"| {name}: {_fmt(d['owners'])} owners, {_fmt(d['rows'])} rows "
            f"({_fmt(d['counts'].get('ledger_entries'))} ledger entries) | "
            f"< {_fmt(d['goal_ms'])} ms | **{_fmt(http.get('p50_ms'))} ms** | "
            f"{_ok(d.get('meets_goal'))} | {ip.get('total_p50_ms')} ms | "
            f"{ip.get('live_sheet_p50_ms')} ms | {ip.get('ledger_sums_p50_ms')} ms | "
            f"{ip.get('allocations_p50_ms')} ms | {ip.get('sheet_out_p50_ms')} ms | "
            f"{ip.get('json_p50_ms')} ms | {_fmt(http.get('response_bytes'))} B, "
            f"{_fmt(http.get('entries'))} entries | {plan.get('scan')}; "
            f"{plan.get('execution')} | {http.get('one_owner_balance_p50_ms')} ms |"
        )
    out.append("")
    wi = {n: d["what_if"] for n, d in r.get("datasets", {}).items() if d.get("what_if")}
    if wi:
        out += [
            "What-if (not the project's code; the alternatives the findings recommend, on the "
            "same data, p50):",
            "",
            "| data set | `ledger_sums` as it is | one row per owner, sums cast to bigint "
            "(`PIVOT` in bench/balance_sheet.py) | the sheet's owners query, with "
            "`Owner.id IN (every involved id)` | the community's owners, no IN list |",
            "|---|---|---|---|---|",
        ]
        for n, w in wi.items():
            out.append(
                f"| {n} | {w.get('ledger_sums_p50_ms')} ms | {w.get('pivot_bigint_p50_ms')} ms | "
                f"{w.get('owners_in_list_p50_ms')} ms | {w.get('owners_plain_p50_ms')} ms |"
            )
        out.append("")
    large = r.get("datasets", {}).get("large", {})
    out += _profile_excerpt(large.get("profile_file"))
    return out


def _close(r: dict[str, Any]) -> list[str]:
    out = ["## 3. Closing a period", "", *_head(r)]
    w = r.get("worker", {})
    v = w.get("verify", {})
    out += [
        f"{_fmt(w.get('owners'))} owners, {_fmt(w.get('rows'))} rows "
        f"({_fmt(w.get('counts', {}).get('ledger_entries'))} ledger entries). The API, the outbox "
        "relay and a Celery worker (1 pool process) run as in production; `POST /close`, then "
        "the job row and the worker's log give the times, `/proc/PID/status` VmHWM of the pool "
        "process the peak memory.",
        "",
        "| | goal | measured | met? |",
        "|---|---|---|---|",
        f"| job created -> finished (worker) | < 10 s | **{w.get('created_to_finished_s')} s** "
        f"(queue {w.get('queue_delay_s')} s + run {w.get('run_s')} s) | "
        f"{_ok(w.get('meets_goal') if w else None)} |",
        f"| worker pool process peak RSS (VmHWM) | < 300 MiB | **{w.get('worker_peak_rss_mib')} "
        f"MiB** (idle {w.get('idle_rss_mib')} MiB) | "
        f"{_ok(w.get('worker_peak_rss_mib', 1e9) < 300 if w else None)} |",
        f"| result | SUCCEEDED, stored = recomputed | {w.get('job_status')}, check_stored: "
        f"{v.get('check_stored_problems')} differences; {_fmt(v.get('period_balances'))} "
        f"balances, {_fmt(v.get('allocations'))} allocations, {_fmt(v.get('invoices'))} "
        f"invoices, {_fmt(v.get('notifications'))} notifications queued | |",
        f"| CPU during the close | | worker {w.get('worker_cpu_pct')} %, PostgreSQL "
        f"{w.get('postgres_cpu_pct')} %, machine busy {w.get('machine_busy_pct')} % | |",
        f"| stored (CLOSED) sheet over HTTP, p50 | | "
        f"{w.get('stored_sheet_http', {}).get('p50_ms')} ms | |",
        "",
        f"The job row's own `finished_at - created_at` reads "
        f"{w.get('row_finished_at_minus_created_at_s')} s (`finished_at` is the end of the work, "
        "just before its commit; before 2026-11-22 it was the start of the job's transaction).",
        "",
    ]
    d = r.get("dedicated_process")
    if d:
        out += [
            f"The same job in a dedicated process (`kopilka.jobs.service.run` with the "
            f"project's HANDLERS{', under pyinstrument' if d.get('profiled') else ''}): "
            f"{d.get('run_seconds')} s, peak RSS (VmHWM) {d.get('peak_rss_mib')} MiB "
            f"({d.get('peak_rss_before_run_mib')} MiB before the job), {d.get('statements')} SQL "
            "statements; the slowest:",
            "",
            "| seconds | rows | statement |",
            "|---|---|---|",
        ]
        for s in d.get("slowest_statements", []):
            out.append(f"| {s['seconds']} | {_fmt(s['rows'])} | `{s['sql'][:110]}…` |")
        out.append("")
    prof = r.get("profiled_process")
    if prof:
        out += _profile_excerpt(prof.get("profile_file"), lines=40)
    return out


def _plots(r: dict[str, Any]) -> list[str]:
    out = [
        "## Plots, meters and a TARIFF close (issue 15)",
        "",
        *_head(r),
        f"{_fmt(r.get('plots'))} plots, {_fmt(r.get('owners'))} owners, 3,000 meters (2,000 "
        f"two-zone ELECTRICITY, 1,000 WATER), {r.get('months')} months of readings; the last "
        "month closes an ELECTRICITY bill by TARIFF with its loss and a WATER bill by "
        "USAGE_BASED, in a dedicated process (`kopilka.jobs.service.run`); before it, the "
        "period's consumption as `GET /periods/{id}/consumption` computes it (3 times). "
        f"{r.get('note', '')}.",
        "",
        "| run | consumption (s) | close (s) | peak RSS (MiB) | tariff rows | check_stored |",
        "|---|---|---|---|---|---|",
    ]
    for i, x in enumerate(r.get("runs", []), start=1):
        out.append(
            f"| {i} | {', '.join(str(t) for t in x['consumption_seconds'])} | "
            f"{x['close_run_seconds']} ({x['close_status']}) | {x['peak_rss_mib']} | "
            f"{_fmt(x['tariff_rows'])} | {x['check_stored_problems']} problems |"
        )
    out += ["", f"Goal {r.get('goal')}: {_ok(r.get('goal_met'))}", ""]
    return out


def _fanout(r: dict[str, Any]) -> list[str]:
    out = ["## 4. Notification fan-out", "", *_head(r)]
    out += [
        f"{_fmt(r.get('owners'))} owners with linked chats, one PENDING `period_closed` "
        "notification each; the real bot process (`python -m kopilka_bot`) against the fake "
        "Bot API with Telegram-like limits (30 messages/s overall, 1/s per chat, else 429 "
        f"`retry_after`); the bot's pacer set to {r.get('configured_global_rate')}/s "
        "(`KOPILKA_BOT_GLOBAL_RATE`).",
        "",
        "| | measured |",
        "|---|---|",
        f"| messages per second (first to last) | **{r.get('messages_per_second')}/s** = "
        f"{r.get('pct_of_ceiling')} % of the 30/s ceiling |",
        f"| busiest sliding second | {r.get('busiest_second')} messages |",
        f"| messages sent / chats | {_fmt(r.get('messages_sent'))} / {_fmt(r.get('chats'))} |",
        f"| chats that got a message twice | **{r.get('duplicated_chats')}** |",
        f"| 429 answered by the fake | {r.get('fake_429')} |",
        f"| rows in the database | {r.get('db_status')}, {_fmt(r.get('db_sent_with_message_id'))}"
        " with their Telegram message id |",
        f"| wall time from bot start | {r.get('wall_seconds_from_bot_start')} s (first message "
        f"seen after {r.get('first_sent_seen_after_bot_start_s')} s: process start-up, 2 s "
        "polls) |",
        f"| CPU | bot {r.get('bot_cpu_pct')} %, fake Telegram {r.get('fake_telegram_cpu_pct')} "
        f"%, PostgreSQL {r.get('postgres_cpu_pct')} % |",
        "",
    ]
    return out


def _floor(r: dict[str, Any]) -> list[str]:
    out = ["## 5. The floor on the same machine", "", *_head(r)]
    f = r.get("pg_test_fsync", {})
    ops = f.get("one_8kB_write_ops_per_sec", {})
    if ops:
        out += [
            "`pg_test_fsync` (file on the PostgreSQL data file system), one 8 kB write: "
            + ", ".join(f"{k} {_fmt(v)}/s" for k, v in ops.items())
            + f" (full output: {f.get('output')}).",
            "",
        ]
    pb = r.get("pgbench", {})
    if pb:
        out += ["| pgbench (scale 10) | tps | latency avg |", "|---|---|---|"]
        for label, res in pb.items():
            if isinstance(res, dict):
                out.append(
                    f"| {label.replace('_', ' ')} (`{res.get('command')}`) | "
                    f"{_fmt(res.get('tps'))} | {res.get('latency_avg_ms')} ms |"
                )
        out.append("")
    web = r.get("web", {})
    if web:
        out += [
            "| web stack | achieved /s | p50 ms | p99 ms | server CPU % | generator CPU % |",
            "|---|---|---|---|---|---|",
        ]
        for key, cases in web.items():
            if "achieved_rate" in cases:
                cases = {"GET /health (closed, 32 connections)": cases}
            for case, v in cases.items():
                out.append(
                    f"| {key} {case.replace('_', ' ')} | {_fmt(v.get('achieved_rate'))} | "
                    f"{v.get('p50_ms')} | {v.get('p99_ms')} | {v.get('server_cpu_pct')} | "
                    f"{v.get('generator_cpu_pct')} |"
                )
        out.append("")
    return out


# ---------------------------------------------------------------- summary


def _rounds(values: list[float], below: float, strict: bool = True) -> str:
    """ "yes" when every round meets the goal, else how many did."""
    met = sum(1 for v in values if (v < below if strict else v <= below))
    if met == len(values):
        return "**yes**"
    return f"**{met} of {len(values)} rounds**"


def _reads(r: dict[str, Any]) -> list[str]:
    out = [HEADINGS["reads"], "", *_head(r)]
    out += [
        f"The same data and client, back to back: **before** = the API of commit "
        f"`{r.get('base_commit')}` (main just before issue 18, extracted with `git archive`), "
        "**after** = this checkout. One owner's balance at 200 owners: closed model, 32 "
        "connections, 2 API processes, a random owner per request. The rest: one request at a "
        "time, 1 API process, p50 (p90) after one warm-up; owners picked at random.",
        "",
        "| round | code | 200 owners: one owner's balance /s (p50, p99 ms) | 1,000 owners: owner "
        "p50 | 1,000 owners / 100,000 rows: sheet p50 | 10,000 owners: owner p50 | 10,000 "
        "owners / 1,000,000 rows: sheet p50 |",
        "|---|---|---|---|---|---|---|",
    ]
    for i, rd in enumerate(r.get("rounds", []), 1):
        for code in ("before", "after"):
            m = rd[code]
            pr = m["peer_owner_rate"]
            out.append(
                f"| {i} | {code} | **{pr['achieved_rate']}/s** ({pr['p50_ms']}, {pr['p99_ms']}) "
                f"| {m['small_owner']['p50_ms']} ms ({m['small_owner']['p90_ms']}) "
                f"| {m['small_sheet']['p50_ms']} ms ({m['small_sheet']['p90_ms']}) "
                f"| **{m['large_owner']['p50_ms']} ms** ({m['large_owner']['p90_ms']}) "
                f"| **{m['large_sheet']['p50_ms']} ms** ({m['large_sheet']['p90_ms']}) |"
            )
        out.append(f"| {i} | after / before | x{rd['owner_rate_factor']} | | | | |")
    t = r.get("tenancy")
    if t:
        m = t["meta"]
        out += [
            "",
            f"Tenancy: a 50-owner community ({m['dataset']['rows']:,} rows) alone in its "
            f"database, then in a copy that also holds {m['others']:,} other communities of "
            f"{m['other_rows']:,} rows each ({m['other_documents']:,} documents, "
            f"{m['ledger_entries_total']:,} ledger entries, {m['full_db_size']}); p50 (p90):",
            "",
            "| code | sheet, alone | sheet, with the others | factor | owner, alone | owner, "
            "with the others | factor |",
            "|---|---|---|---|---|---|---|",
        ]
        for code in ("before", "after"):
            out.append(
                f"| {code} | {t[f'{code}_empty_sheet']['p50_ms']} ms | "
                f"{t[f'{code}_full_sheet']['p50_ms']} ms | x{t[f'{code}_sheet_factor']} | "
                f"{t[f'{code}_empty_owner']['p50_ms']} ms | {t[f'{code}_full_owner']['p50_ms']} "
                f"ms | x{t[f'{code}_owner_factor']} |"
            )
    return [*out, ""]


def _writes(r: dict[str, Any]) -> list[str]:
    out = [HEADINGS["writes"], "", *_head(r)]
    out += [
        "`POST /periods/{id}/contributions` (1,000 owners, 100,000 rows; 2 API processes), "
        "the same code with the triggers of migration 0007 disabled (**without**: the write "
        "path before issue 18) and enabled (**with**), alternating. Capacity: closed model, 16 "
        "clients; goal: open model, 300/s.",
        "",
        "| round | totals | capacity /s | API CPU per contribution | PostgreSQL CPU % at "
        "capacity | 300/s: achieved | p50 ms | p99 ms | count+sum |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for i, rd in enumerate(r.get("rounds", []), 1):
        for label in ("without_totals", "with_totals"):
            c, g = rd[label]["capacity"], rd[label]["goal"]
            out.append(
                f"| {i} | {label.split('_')[0]} | {c['achieved_rate']} | "
                f"{c.get('api_cpu_ms_per_request')} ms | {c.get('postgres_cpu_pct')} | "
                f"{g['achieved_rate']} | {g['p50_ms']} | **{g['p99_ms']}** | "
                f"{'match' if g.get('count_and_sum_match') else 'MISMATCH'} |"
            )
    return [*out, ""]


def _burst(r: dict[str, Any]) -> list[str]:
    out = [HEADINGS["burst"], "", *_head(r)]
    rd, fo, cl = r["reads"], r["fanout"], r["close"]
    out += [
        f"10,000 owners / 1,000,000 rows: {r['read_rate']:g} owners a second open their "
        f"balance (open model, Poisson arrivals) for {r['seconds']:g} s; the period is closed "
        "a few seconds in, so the reads meet the CLOSING period, the close, then the CLOSED "
        "one, while the bot sends the close's 10,000 messages to a Telegram-like fake (30/s, "
        "1/s per chat). API 2 processes, worker, relay, bot on the same 2 cores.",
        "",
        "| | goal | measured |",
        "|---|---|---|",
        f"| reads: p50 / p99 (from their scheduled time) | p99 < 100 ms | {rd['p50_ms']} / "
        f"**{rd['p99_ms']} ms** (max {rd['max_ms']}), {rd['ok']}/{rd['sent']} answered 200 |",
        f"| fan-out during the window | >= 25/s | **{fo['messages_per_second']}/s** "
        f"({fo['messages_in_window']:,} messages; first {fo['first_message_after_close_post_s']}"
        f" s after the close was posted; busiest second {fo['busiest_second']}; duplicated "
        f"chats {fo['duplicated_chats']}) |",
        f"| the close | SUCCEEDED | {cl['status']} in {cl['seconds']} s (created -> finished)"
        f"{_close_timeline(cl.get('timeline'))} |",
    ]
    return [*out, ""]


def _close_timeline(t: dict[str, Any] | None) -> str:
    """Where the close job stood, in seconds after its POST was sent."""
    if not t:
        return ""
    steps = ", ".join(
        f"{name} +{t[f'{name}_s']} s"
        for name in ("created", "published", "started", "finished")
        if t.get(f"{name}_s") is not None
    )
    return f"; after the POST: {steps}; attempts {t.get('attempts')}"


def _summary(res: dict[str, dict[str, Any]]) -> list[str]:
    rows = []
    rd = res.get("reads")
    if rd and rd.get("rounds"):
        g = rd["goals"]
        rows.append(
            f"| one owner's balance, 200 owners (issue 18) | >= 3x before | "
            f"x{', x'.join(str(x) for x in g['owner_rate_factor'])} (rounds) | "
            f"{_rounds([-x for x in g['owner_rate_factor']], -3, strict=False)} |"
        )
        rows.append(
            f"| one owner's balance, 10,000 owners / 1,000,000 rows | p50 < 30 ms | "
            f"{', '.join(str(x) for x in g['owner_large_p50_ms'])} ms | "
            f"{_rounds(g['owner_large_p50_ms'], 30)} |"
        )
        rows.append(
            f"| balance sheet, 10,000 owners / 1,000,000 rows (issue 18) | p50 < 300 ms | "
            f"{', '.join(str(x) for x in g['sheet_large_p50_ms'])} ms | "
            f"{_rounds(g['sheet_large_p50_ms'], 300)} |"
        )
        rows.append(
            f"| balance sheet, 1,000 owners / 100,000 rows (issue 18) | p50 < 50 ms | "
            f"{', '.join(str(x) for x in g['sheet_small_p50_ms'])} ms | "
            f"{_rounds(g['sheet_small_p50_ms'], 50)} |"
        )
        t = rd.get("tenancy")
        if t:
            rows.append(
                f"| tenancy: 50-owner community among {t['meta']['others']:,} others "
                f"({t['meta'].get('other_documents', 0):,} rows) | within "
                f"1.2x of alone | sheet x{t['after_sheet_factor']}, owner "
                f"x{t['after_owner_factor']} | "
                f"{_ok(max(t['after_sheet_factor'], t['after_owner_factor']) <= 1.2)} |"
            )
    wr = res.get("writes")
    if wr and wr.get("rounds"):
        runs = [rd["with_totals"]["goal"] for rd in wr["rounds"]]
        rows.append(
            "| recording with the maintained totals | >= 300/s, p99 < 100 ms | "
            + ", ".join(f"{s['achieved_rate']}/s p99 {s['p99_ms']} ms" for s in runs)
            + f" | {_ok(all(s['achieved_rate'] >= 294 and s['p99_ms'] < 100 for s in runs))} |"
        )
    bu = res.get("burst")
    if bu:
        rows.append(
            f"| burst after a 10,000-owner close | reads p99 < 100 ms, fan-out >= 25/s | "
            f"p99 {bu['reads']['p99_ms']} ms, fan-out {bu['fanout']['messages_per_second']}/s | "
            f"{_ok(bu.get('meets_goal'))} |"
        )
    rec = res.get("recording")
    if rec:
        best = max((c.get("best_rate_within_goal") or 0 for c in rec.get("configs", [])), default=0)
        at300: dict[int, list[dict[str, Any]]] = {}
        for c in rec.get("configs", []):
            for s in c["steps"] + c.get("goal_repeats", []):
                if s["offered_rate"] == 300:
                    at300.setdefault(c["workers"], []).append(s)
        detail = "; ".join(
            f"{w} worker(s) at 300/s, {len(runs)} run(s): achieved "
            + ", ".join(f"{s['achieved_rate']}" for s in runs)
            + "/s, p99 "
            + ", ".join(f"{s['p99_ms']}" for s in runs)
            + " ms"
            for w, runs in at300.items()
        )
        if not at300:  # every configuration saturated below the goal's rate
            top = max(
                (s["achieved_rate"] for c in rec.get("configs", []) for s in c["steps"]),
                default=0,
            )
            detail = f"300/s not offered: saturated below it (highest achieved {top}/s)"
        rows.append(
            f"| recording | >= 300/s, p99 < 100 ms, nothing lost | best rate within the goal "
            f"{best or 'none'}/s; {detail}; all counts and sums match: "
            f"{rec.get('all_counts_match')} | {_ok(rec.get('goal_met'))} |"
        )
    bs = res.get("balance_sheet")
    if bs:
        for _name, d in bs.get("datasets", {}).items():
            rows.append(
                f"| balance sheet, {_fmt(d['owners'])} owners / {_fmt(d['rows'])} rows | "
                f"< {_fmt(d['goal_ms'])} ms | HTTP p50 {d.get('http', {}).get('p50_ms')} ms "
                f"(in-process {d.get('in_process', {}).get('total_p50_ms')} ms) | "
                f"{_ok(d.get('meets_goal'))} |"
            )
    cl = res.get("close")
    if cl:
        w = cl.get("worker", {})
        rows.append(
            f"| close, 10,000 owners / 1,000,000 rows | < 10 s, < 300 MiB | "
            f"{w.get('created_to_finished_s')} s, {w.get('worker_peak_rss_mib')} MiB peak | "
            f"{_ok(cl.get('goal_met'))} |"
        )
    pl = res.get("plots")
    if pl:
        rows.append(
            f"| plots: {_fmt(pl.get('plots'))} plots, 3,000 meters, {pl.get('months')} months of "
            "readings: consumption and a TARIFF close | < 10 s, < 300 MiB | "
            + "; ".join(
                f"consumption {max(r['consumption_seconds'])} s, close {r['close_run_seconds']} s, "
                f"{r['peak_rss_mib']} MiB"
                for r in pl.get("runs", [])
            )
            + f" | {_ok(pl.get('goal_met'))} |"
        )
    hd = res.get("hardening")
    if hd:
        ad, st = hd.get("admission", {}), hd.get("settlements", {})
        rows.append(
            "| admin's reads during a 300-request anonymous `Prefer: wait` burst | p50 <= 2x "
            f"quiet | quiet p50 {ad.get('quiet_p50_ms')} ms; bursts: "
            + ", ".join(f"p50 {b['admin_p50_ms']} ms ({b['ratio']}x)" for b in ad.get("bursts", []))
            + f" | {_ok(ad.get('goal_met'))} |"
        )
        rows.append(
            f"| fewest settlements, 16 non-zero balances | p99 < 200 ms | p50 {st.get('p50_ms')} "
            f"ms, p99 {st.get('p99_ms')} ms over {st.get('runs')} runs | {_ok(st.get('goal_met'))} |"
        )
    fo = res.get("fanout")
    if fo:
        rows.append(
            f"| fan-out to {_fmt(fo.get('owners'))} owners | close to 30/s, none duplicated | "
            f"{fo.get('messages_per_second')}/s ({fo.get('pct_of_ceiling')} % of 30/s), "
            f"{fo.get('duplicated_chats')} duplicated, {fo.get('fake_429')} 429s | "
            f"{_ok(fo.get('none_duplicated') and fo.get('all_delivered'))} |"
        )
    elif "fanout_error" in res:
        rows.append(
            f"| fan-out | close to 30/s | not measured: {res['fanout_error'].get('error')} | n/a |"
        )
    fl = res.get("floor")
    if fl:
        pb = fl.get("pgbench", {})
        noop = fl.get("web", {}).get("noop_w2", {}) or fl.get("web", {}).get("noop_w1", {})
        fs = fl.get("pg_test_fsync", {}).get("one_8kB_write_ops_per_sec", {})
        rows.append(
            "| floor (no Kopilka code) | | fdatasync "
            f"{_fmt(fs.get('fdatasync'))}/s; pgbench TPC-B-like "
            f"{_fmt(pb.get('tpcb_like_8_clients', {}).get('tps'))} tps, one-row INSERT commits "
            f"{_fmt(pb.get('insert_commit_8_clients', {}).get('tps'))} tps (8 clients); no-op "
            f"FastAPI POST {_fmt(noop.get('post_sync_max', {}).get('achieved_rate'))}/s | |"
        )
    if not rows:
        return []
    return [
        "## Summary",
        "",
        "| what | goal | measured | goal met? |",
        "|---|---|---|---|",
        *rows,
        "",
    ]


def _hardening(r: dict[str, Any]) -> list[str]:
    ad, st = r.get("admission", {}), r.get("settlements", {})
    out = [
        "## Admission under an anonymous burst; fewest settlements (issue 13)",
        "",
        f"`{r.get('command')}`. The API as `make run` starts it (2 workers, the default "
        "admission limit); a community of 100 owners (400 contributions, 100 expenses); an "
        "admin reads its balance sheet in a loop, quiet, then while 300 anonymous requests "
        "with garbage keys and `Prefer: wait=1` arrive at once. The machine is shared and "
        "noisy (other helpers' suites ran during the runs).",
        "",
        f"Quiet: p50 {ad.get('quiet_p50_ms')} ms, p99 {ad.get('quiet_p99_ms')} ms.",
        "",
        "| burst | seconds | anonymous answers | admin requests | admin p50 ms | ratio | max ms |",
        "|---|---|---|---|---|---|---|",
    ]
    for i, b in enumerate(ad.get("bursts", []), 1):
        out.append(
            f"| {i} | {b['burst_seconds']} | {b['anonymous_statuses']} | {b['admin_requests']} | "
            f"{b['admin_p50_ms']} | {b['ratio']} | {b['admin_max_ms']} |"
        )
    out += [
        "",
        f"Settlements: `suggest_settlements` on {st.get('owners')} owners with non-zero "
        f"balances, {st.get('runs')} runs: p50 {st.get('p50_ms')} ms, p99 {st.get('p99_ms')} ms, "
        f"max {st.get('max_ms')} ms, {st.get('mean_transfers')} transfers on average.",
        "",
    ]
    return out


def _bank_import(r: dict[str, Any]) -> list[str]:
    from bench.bank_import import report

    return report(r)


HEADINGS = {
    "recording": "## 1. Recording money over HTTP",
    "balance_sheet": "## 2. Balance sheet (live, OPEN period)",
    "close": "## 3. Closing a period",
    "fanout": "## 4. Notification fan-out",
    "floor": "## 5. The floor on the same machine",
    "plots": "## Plots, meters and a TARIFF close (issue 15)",
    "hardening": "## Admission under an anonymous burst; fewest settlements (issue 13)",
    "bank_import": "## Bank statement import",
    "reads": "## 6. Reads before and after issue 18",
    "writes": "## 7. What the maintained totals cost the write path",
    "burst": "## 8. The burst after a close",
}
#: Which benchmark wrote a Summary row, by the row's start; the most specific first (the issue
#: 18 rows of ``reads`` also start with "| balance sheet,": matched to ``balance_sheet`` they
#: were kept as that benchmark's old rows AND written again by ``reads``, once more every run).
SUMMARY_PREFIX: tuple[tuple[str, str], ...] = (
    ("| one owner's balance", "reads"),
    ("| tenancy", "reads"),
    ("| recording with the maintained totals", "writes"),
    ("| burst", "burst"),
    ("| recording |", "recording"),
    ("| balance sheet,", "balance_sheet"),
    ("| close,", "close"),
    ("| fan-out", "fanout"),
    ("| floor", "floor"),
    ("| plots:", "plots"),
    ("| admin's reads", "hardening"),
    ("| fewest settlements", "hardening"),
    ("| bank", "bank_import"),
)


def summary_key(row: str) -> str | None:
    """The benchmark a Summary row belongs to (None: unknown, not kept)."""
    if row.startswith("| balance sheet,") and "(issue 18)" in row:
        return "reads"
    return next((key for prefix, key in SUMMARY_PREFIX if row.startswith(prefix)), None)


def kept_rows(old_rows: list[str], measured: Collection[str]) -> list[str]:
    """The previous Summary rows of the benchmarks not measured again, each once."""
    kept: list[str] = []
    for row in old_rows:
        key = summary_key(row)
        if key is not None and key not in measured and row not in kept:
            kept.append(row)
    return kept


def _previous(path: Path) -> tuple[dict[str, list[str]], list[str]]:
    """The sections (by heading) and summary rows of the RESULTS.md on disk: a benchmark that
    was not run again keeps its last published figures (each section says when it ran)."""
    sections: dict[str, list[str]] = {}
    rows: list[str] = []
    if not path.exists():
        return sections, rows
    current: list[str] | None = None
    for line in path.read_text().splitlines():
        if line.startswith("## "):
            current = sections.setdefault(line, [])
        if current is not None:
            current.append(line)
    rows = [
        ln
        for ln in sections.get("## Summary", [])
        if ln.startswith("| ") and not ln.startswith("| what |")
    ]
    return sections, rows


def write_report() -> Path:
    res = common.load_results()
    old_sections, old_rows = _previous(common.BENCH / "RESULTS.md")
    first = next(
        (r["machine"] for k in ("run_all", *res) if (r := res.get(k)) and "machine" in r), {}
    )
    lines = [
        TITLE,
        "Written by `bench/report.py` from the figures in `bench/out/*.json`; `make bench` "
        "(= `uv run --frozen python -m bench.run_all`) measures everything again, each "
        "benchmark also runs alone (`python -m bench.recording`, `bench.balance_sheet`, "
        "`bench.close`, `bench.fanout`, `bench.floor`). The benchmarks use databases of their "
        "own (`kopilka_bench*`), dropped and rebuilt on every run, with data loaded by COPY "
        "(`bench/datagen.py`).",
        "",
    ]
    ra = res.get("run_all")
    if ra:
        lines += [
            f"Last full run: `{ra.get('command')}`, {round(ra.get('total_seconds', 0) / 60, 1)} "
            "minutes: "
            + ", ".join(
                f"{k} {v['seconds']} s{'' if v['ok'] else ' (FAILED)'}"
                for k, v in ra.get("benchmarks", {}).items()
            )
            + ".",
            "",
        ]
    lines += ["## Machine", "", *_machine(first), ""]
    summary = _summary(res)
    kept = kept_rows(old_rows, res)
    if kept and not summary:
        summary = [
            "## Summary",
            "",
            "| what | goal | measured | goal met? |",
            "|---|---|---|---|",
            "",
        ]
    if kept:
        summary[-1:-1] = kept
    lines += summary
    findings = common.BENCH / "FINDINGS.md"
    if findings.exists():
        lines += [findings.read_text().rstrip(), ""]
    for key, fn in (
        ("recording", _recording),
        ("balance_sheet", _balance),
        ("close", _close),
        ("plots", _plots),
        ("hardening", _hardening),
        ("fanout", _fanout),
        ("floor", _floor),
        ("bank_import", _bank_import),
        ("reads", _reads),
        ("writes", _writes),
        ("burst", _burst),
    ):
        if key in res:
            lines += fn(res[key])
        elif f"{key}_error" in res:
            lines += [f"## {key}", "", f"FAILED: {res[f'{key}_error'].get('error')}", ""]
        elif HEADINGS.get(key) in old_sections:
            lines += [*old_sections[HEADINGS[key]], ""]
    path = common.BENCH / "RESULTS.md"
    path.write_text("\n".join(lines).rstrip() + "\n")
    return path


if __name__ == "__main__":
    print(write_report())
