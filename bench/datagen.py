"""Large, realistic data sets loaded with COPY (never through the API).

A data set is one community with one OPEN period (the year 2025) holding ``rows`` money documents
of ``owners`` owners, in these proportions (for 10,000 owners and 1,000,000 rows):

    contributions      72.0 %   720,000  (each with its CONTRIBUTION ledger entry)
    service charges    20.0 %   200,000  (SERVICE_CHARGE entry)
    expenses            5.0 %    50,000  (half paid by an owner: EXPENSE_PAID entry; half by the
                                          fund; 7 payment types, 5 budget items with PROPORTIONAL,
                                          2 x USAGE_BASED, FIXED_FEE and NONE; 2 types fall back to
                                          the community's default; 20 expenses carry their own
                                          EXACT / SHARES / PERCENTAGE split)
    settlements         1.0 %    10,000  (SETTLEMENT_PAID + SETTLEMENT_RECEIVED entries)
    meter readings      2 per owner       (WATER and ELECTRICITY; the remainder of the rows)

Owners have varied share weights, a language (en/ru) and a linked Telegram chat, so a close
queues one notification per owner. The ledger entries are derived from the documents exactly as
each kind's ``postings`` in ``kopilka.ledger.<kind>`` posts them (kind, source_type, source_id), by set-based SQL
after the COPY. The database is then VACUUM ANALYZEd (what autovacuum would do soon after).

``ensure_data_db`` builds the benchmark database (``kopilka_bench``) with the two sets the issue
names: ``small`` (1,000 owners, 100,000 rows) and ``large`` (10,000 owners, 1,000,000 rows).
"""

from __future__ import annotations

import json
import random
import time
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from typing import Any

import psycopg

from bench import common

GEN_VERSION = 6
PERIOD_START = date(2025, 1, 1)
PERIOD_END = date(2025, 12, 31)

# payment type -> (share of expenses, budget item strategy or None, meter type)
EXPENSE_TYPES: dict[str, tuple[float, str | None, str | None]] = {
    "SECURITY": (0.25, "PROPORTIONAL", None),
    "WATER": (0.15, "USAGE_BASED", "WATER"),
    "ELECTRICITY": (0.15, "USAGE_BASED", "ELECTRICITY"),
    "GARBAGE": (0.15, "FIXED_FEE", None),
    "ROADS": (0.15, None, None),  # no budget item: the community's default (PROPORTIONAL)
    "SNOW": (0.10, "NONE", None),  # the fund absorbs it
    "repairs": (0.05, None, None),  # lower case, no budget item
}
VENDORS = ["Vodokanal", "Mosenergo", "ChOP Shield", "EcoTrans", "DorStroy", "SnegPro", None]
WEIGHTS = ["1", "1", "1", "1.5", "2", "0.75", "3.25", "1.2"]
SPLIT_EXPENSES = 20


@dataclass
class Dataset:
    name: str
    owners: int
    rows: int
    community_id: int = 0
    period_id: int = 0
    api_key: str = ""
    counts: dict[str, int] = field(default_factory=dict)
    load_seconds: float = 0.0


SETS = {
    "peer": (200, 2_800),  # issue 18's side-by-side: 200 owners, ~10 payments each
    "small": (1_000, 100_000),
    "large": (10_000, 1_000_000),
}


# ---------------------------------------------------------------- community and period


def create_community(url: str, name: str) -> tuple[int, str]:
    """Through the project's own use case, so the community and its admin key are real."""
    from sqlalchemy.orm import Session

    from kopilka.communities.schemas import CommunityCreate
    from kopilka.communities.service import create_community as create
    from kopilka.context import Actor, Ctx, Role
    from kopilka.db import make_engine

    engine = make_engine(url, pool_size=1, max_overflow=0)
    try:
        with Session(engine) as s, s.begin():
            ctx = Ctx(session=s, actor=Actor(Role.OPERATOR, "operator"))
            out = create(
                ctx,
                CommunityCreate(
                    name=f"Bench village {name}", currency="RUB", timezone="Europe/Moscow"
                ),
            )
        return out.id, out.admin_api_key
    finally:
        engine.dispose()


def create_period(
    conn: psycopg.Connection[Any], community_id: int, name: str, start: date, end: date
) -> int:
    row = conn.execute(
        "INSERT INTO periods (community_id, name, start_date, end_date, status, version) "
        "VALUES (%s, %s, %s, %s, 'OPEN', 1) RETURNING id",
        (community_id, name, start, end),
    ).fetchone()
    assert row is not None
    return int(row[0])


# ---------------------------------------------------------------- COPY helpers


def _copy(
    conn: psycopg.Connection[Any], table: str, columns: list[str], lines: Any, chunk: int = 20000
) -> int:
    """COPY text-format lines (already tab-joined) into a table; returns the count."""
    n = 0
    with conn.cursor() as cur, cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as cp:
        buf: list[str] = []
        for line in lines:
            buf.append(line)
            if len(buf) >= chunk:
                cp.write("\n".join(buf) + "\n")
                n += len(buf)
                buf.clear()
        if buf:
            cp.write("\n".join(buf) + "\n")
            n += len(buf)
    return n


def _days() -> list[str]:
    days = (PERIOD_END - PERIOD_START).days + 1
    return [(PERIOD_START + timedelta(d)).isoformat() for d in range(days)]


# ---------------------------------------------------------------- owners


def load_owners(
    conn: psycopg.Connection[Any],
    community_id: int,
    n: int,
    *,
    first_owner_id: int = 1001,
    telegram_base: int = 5_000_000_000,
    seed: int = 1,
) -> list[tuple[int, int]]:
    """``n`` owners with linked Telegram chats; returns [(owner_pk, owner_id)] by owner_id."""
    rnd = random.Random(seed)
    lines = (
        f"{community_id}\t{first_owner_id + i}\tOwner {first_owner_id + i}\t"
        f"{rnd.choice(WEIGHTS)}\t{telegram_base + first_owner_id + i}\t"
        f"{'ru' if i % 3 else 'en'}\tt\t1"
        for i in range(n)
    )
    _copy(
        conn,
        "owners",
        [
            "community_id",
            "owner_id",
            "name",
            "share_weight",
            "telegram_id",
            "language",
            "is_active",
            "version",
        ],
        lines,
    )
    rows = conn.execute(
        "SELECT id, owner_id FROM owners WHERE community_id = %s ORDER BY owner_id",
        (community_id,),
    ).fetchall()
    return [(int(a), int(b)) for a, b in rows]


# ---------------------------------------------------------------- documents


def _splits(owner_ids: list[int], rnd: random.Random) -> list[tuple[int, dict[str, Any]]]:
    """(amount_minor, stored split JSON) for the expenses with their own split, validated by
    the project's own parser."""
    from kopilka.allocation.splits import parse_split, split_to_json

    out = []
    for i in range(SPLIT_EXPENSES):
        who = rnd.sample(owner_ids, 5)
        kind = i % 3
        if kind == 0:
            amounts = [rnd.randint(1000, 90000) for _ in range(3)]
            raw: dict[str, Any] = {
                "strategy": "EXACT",
                "owners": {str(o): f"{a / 100:.2f}" for o, a in zip(who, amounts, strict=False)},
            }
            total = sum(amounts)
        elif kind == 1:
            raw = {
                "strategy": "SHARES",
                "owners": {str(o): s for o, s in zip(who, [1, 2, 3, 1], strict=False)},
            }
            total = rnd.randint(10000, 900000)
        else:
            raw = {
                "strategy": "PERCENTAGE",
                "owners": {str(o): p for o, p in zip(who, ["50", "30", "20"], strict=False)},
            }
            total = rnd.randint(10000, 900000)
        split = parse_split(
            raw, amount_minor=total, currency_exponent=2, active_owner_ids=owner_ids
        )
        out.append((total, split_to_json(split)))
    return out


def load_documents(
    conn: psycopg.Connection[Any],
    community_id: int,
    period_id: int,
    owners: list[tuple[int, int]],
    rows: int,
    *,
    seed: int = 2,
) -> dict[str, int]:
    rnd = random.Random(seed)
    pks = [pk for pk, _ in owners]
    n_owners = len(pks)
    days = _days()
    c, p = community_id, period_id
    n_meter = 2 * n_owners
    n_settle = rows // 100
    n_exp = rows * 5 // 100
    n_charge = rows * 20 // 100
    n_contrib = rows - n_meter - n_settle - n_exp - n_charge
    counts: dict[str, int] = {}
    choice, randint = rnd.choice, rnd.randint
    t0 = time.perf_counter()

    # budget items
    for ptype, (_, strategy, meter) in EXPENSE_TYPES.items():
        if strategy is not None:
            conn.execute(
                "INSERT INTO budget_items (community_id, period_id, payment_type, "
                "budgeted_amount_minor, allocation_strategy, meter_type, description, "
                "created_by, version) VALUES (%s, %s, %s, %s, %s, %s, %s, 'bench', 1)",
                (c, p, ptype, randint(10**7, 10**9), strategy, meter, f"{ptype} budget"),
            )
    counts["budget_items"] = sum(1 for v in EXPENSE_TYPES.values() if v[1] is not None)

    counts["contributions"] = _copy(
        conn,
        "contributions",
        [
            "community_id",
            "period_id",
            "owner_pk",
            "amount_minor",
            "date",
            "comment",
            "created_by",
            "version",
        ],
        (
            f"{c}\t{p}\t{choice(pks)}\t{randint(100, 5000) * 100}\t{choice(days)}\t"
            f"monthly fee\tbench\t1"
            for _ in range(n_contrib)
        ),
    )
    common.log(f"  contributions: {counts['contributions']:,} ({time.perf_counter() - t0:.1f}s)")
    counts["service_charges"] = _copy(
        conn,
        "service_charges",
        [
            "community_id",
            "period_id",
            "owner_pk",
            "amount_minor",
            "description",
            "date",
            "created_by",
            "version",
        ],
        (
            f"{c}\t{p}\t{choice(pks)}\t{randint(1000, 50000)}\t"
            f"{choice(('late fee', 'gate repair', 'pass card', 'penalty'))}\t{choice(days)}\tbench\t1"
            for _ in range(n_charge)
        ),
    )
    common.log(
        f"  service charges: {counts['service_charges']:,} ({time.perf_counter() - t0:.1f}s)"
    )

    types = list(EXPENSE_TYPES)
    type_weights = [v[0] for v in EXPENSE_TYPES.values()]
    owner_ids = [oid for _, oid in owners]
    splits = _splits(owner_ids, rnd)

    def expense_lines() -> Any:
        for i in range(n_exp):
            ptype = rnd.choices(types, type_weights)[0]
            vendor = choice(VENDORS) or "\\N"
            if i < len(splits):
                amount, split = splits[i]
                payer = "\\N"
                split_json = json.dumps(split)
            else:
                amount = randint(1000, 5_000_000)
                payer = str(choice(pks)) if i % 2 else "\\N"
                split_json = "\\N"
            yield (
                f"{c}\t{p}\t{payer}\t{amount}\t{ptype}\t{vendor}\t{ptype.lower()} invoice\t"
                f"{choice(days)}\t{split_json}\tbench\t1"
            )

    counts["expenses"] = _copy(
        conn,
        "expenses",
        [
            "community_id",
            "period_id",
            "paid_by_owner_pk",
            "amount_minor",
            "payment_type",
            "vendor",
            "description",
            "date",
            "split",
            "created_by",
            "version",
        ],
        expense_lines(),
    )

    def settlement_lines() -> Any:
        for _ in range(n_settle):
            a, b = rnd.sample(pks, 2)
            yield f"{c}\t{p}\t{a}\t{b}\t{randint(100, 20000) * 100}\t{choice(days)}\tsettle up\tbench\t1"

    counts["settlements"] = _copy(
        conn,
        "settlements",
        [
            "community_id",
            "period_id",
            "from_owner_pk",
            "to_owner_pk",
            "amount_minor",
            "date",
            "comment",
            "created_by",
            "version",
        ],
        settlement_lines(),
    )

    def meter_lines() -> Any:
        for pk in pks:
            for meter, top in (("WATER", 60), ("ELECTRICITY", 900)):
                start = randint(100, 99999)
                used = rnd.randint(0, top * 10000) / 10000
                yield (
                    f"{c}\t{p}\t{pk}\t{meter}\t{start}.0000\t{start + used:.4f}\t"
                    f"{PERIOD_END.isoformat()}\tbench\t1"
                )

    counts["meter_readings"] = _copy(
        conn,
        "meter_readings",
        [
            "community_id",
            "period_id",
            "owner_pk",
            "meter_type",
            "start_reading",
            "end_reading",
            "date",
            "created_by",
            "version",
        ],
        meter_lines(),
    )
    common.log(f"  expenses, settlements, meter readings ({time.perf_counter() - t0:.1f}s)")

    # The ledger, as each kind's postings (kopilka.ledger.<kind>) post each document.
    ledger = """
        INSERT INTO ledger_entries
            (community_id, period_id, owner_pk, kind, amount_minor, source_type, source_id)
        SELECT community_id, period_id, owner_pk, kind, amount_minor, source_type, source_id
        FROM (
            SELECT id, community_id, period_id, owner_pk, 'CONTRIBUTION' AS kind, amount_minor,
                   'contribution' AS source_type, id AS source_id
            FROM contributions WHERE period_id = %(p)s
            UNION ALL
            SELECT id, community_id, period_id, owner_pk, 'SERVICE_CHARGE', amount_minor,
                   'service_charge', id
            FROM service_charges WHERE period_id = %(p)s
            UNION ALL
            SELECT id, community_id, period_id, paid_by_owner_pk, 'EXPENSE_PAID', amount_minor,
                   'expense', id
            FROM expenses WHERE period_id = %(p)s AND paid_by_owner_pk IS NOT NULL
            UNION ALL
            SELECT id, community_id, period_id, from_owner_pk, 'SETTLEMENT_PAID', amount_minor,
                   'settlement', id
            FROM settlements WHERE period_id = %(p)s
            UNION ALL
            SELECT id, community_id, period_id, to_owner_pk, 'SETTLEMENT_RECEIVED', amount_minor,
                   'settlement', id
            FROM settlements WHERE period_id = %(p)s
        ) postings
        ORDER BY random()
    """
    counts["ledger_entries"] = conn.execute(ledger, {"p": p}).rowcount
    common.log(f"  ledger entries: {counts['ledger_entries']:,} ({time.perf_counter() - t0:.1f}s)")
    counts["documents"] = (
        counts["contributions"]
        + counts["service_charges"]
        + counts["expenses"]
        + counts["settlements"]
        + counts["meter_readings"]
    )
    return counts


# ---------------------------------------------------------------- whole data sets


def build_dataset(url: str, name: str, owners: int, rows: int, seed: int = 7) -> Dataset:
    t0 = time.perf_counter()
    common.log(f"loading data set '{name}': {owners:,} owners, {rows:,} rows")
    ds = Dataset(name=name, owners=owners, rows=rows)
    ds.community_id, ds.api_key = create_community(url, name)
    with common.pg_connect(common.libpq(url)) as conn:
        # Bulk load: the rows are consistent by construction, so the per-row foreign-key
        # triggers (most of the cost of COPY here) are skipped; check_consistency() below
        # proves the references afterwards.
        conn.execute("SET session_replication_role = replica")
        ds.period_id = create_period(conn, ds.community_id, "2025", PERIOD_START, PERIOD_END)
        owner_rows = load_owners(conn, ds.community_id, owners, seed=seed)
        ds.counts = {"owners": len(owner_rows)}
        ds.counts.update(
            load_documents(conn, ds.community_id, ds.period_id, owner_rows, rows, seed=seed + 1)
        )
        conn.execute("SET session_replication_role = DEFAULT")
        fill_totals(conn, ds.period_id)
        check_consistency(conn, ds.period_id)
        conn.commit()
    ds.load_seconds = round(time.perf_counter() - t0, 1)
    common.log(f"data set '{name}' loaded in {ds.load_seconds}s")
    return ds


def fill_totals(conn: psycopg.Connection[Any], period_id: int) -> None:
    """The maintained totals of a bulk-loaded period. ``session_replication_role = replica``
    skips every trigger, the totals' too, so they are summed here with the migration's own
    statements (what its upgrade does for rows that exist before it); ``check_consistency``
    then proves them equal to the rows with the reconciliation's own query."""
    import importlib

    m = importlib.import_module("kopilka.migrations.versions.0007_owner_totals")
    ledger = f"(SELECT * FROM ledger_entries WHERE period_id = {int(period_id)}) le"
    expenses = f"(SELECT * FROM expenses WHERE period_id = {int(period_id)}) e"
    conn.execute(m._ledger_upsert(ledger, ""))
    conn.execute(m._expense_upsert(m._expense_delta(expenses, "")))


def check_consistency(conn: psycopg.Connection[Any], period_id: int) -> None:
    """What the skipped foreign keys would have checked, and the ledger's completeness."""
    problems = conn.execute(
        """
        SELECT
          (SELECT count(*) FROM ledger_entries l LEFT JOIN owners o ON o.id = l.owner_pk
            WHERE l.period_id = %(p)s AND o.id IS NULL)
        + (SELECT count(*) FROM contributions d LEFT JOIN owners o ON o.id = d.owner_pk
            WHERE d.period_id = %(p)s AND o.id IS NULL)
        + (SELECT count(*) FROM service_charges d LEFT JOIN owners o ON o.id = d.owner_pk
            WHERE d.period_id = %(p)s AND o.id IS NULL)
        + (SELECT count(*) FROM contributions d WHERE d.period_id = %(p)s AND NOT EXISTS (
              SELECT 1 FROM ledger_entries l WHERE l.source_type = 'contribution'
              AND l.source_id = d.id))
        """,
        {"p": period_id},
    ).fetchone()
    assert problems is not None and problems[0] == 0, f"inconsistent data set: {problems}"
    from sqlalchemy.dialects import postgresql

    from kopilka.balances.reconcile import DRIFTS_OF

    for stmt in DRIFTS_OF["period"]:
        q = stmt.params(p=int(period_id)).compile(
            dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}
        )
        drift = conn.execute(str(q)).fetchall()
        assert not drift, f"totals differ from the rows: {drift[:5]}"


def _alembic_head() -> str:
    from alembic.script import ScriptDirectory

    from kopilka.migrations import alembic_config

    return str(ScriptDirectory.from_config(alembic_config()).get_current_head())


def vacuum_analyze(url: str) -> float:
    t0 = time.perf_counter()
    with common.pg_connect(common.libpq(url), autocommit=True) as conn:
        conn.execute("VACUUM (ANALYZE)")
    return round(time.perf_counter() - t0, 1)


def _meta(url: str) -> dict[str, Any] | None:
    try:
        with common.pg_connect(common.libpq(url)) as conn:
            row = conn.execute("SELECT info FROM bench_meta WHERE name = 'data'").fetchone()
    except psycopg.Error:
        return None
    return dict(row[0]) if row else None


def load_meta(url: str | None = None) -> dict[str, Any]:
    meta = _meta(url or common.bench_url())
    if meta is None:
        raise RuntimeError("the benchmark data set is not built: run ensure_data_db() first")
    return meta


def dataset(meta: dict[str, Any], name: str) -> Dataset:
    return Dataset(**meta["datasets"][name])


def ensure_data_db(
    fresh: bool = True, sets: tuple[str, ...] = ("small", "large")
) -> dict[str, Any]:
    """The benchmark database with its data sets. ``fresh`` (make bench): always dropped and
    rebuilt; otherwise an existing one built by this generator version at the current migration
    head is reused (handy when running one benchmark alone, repeatedly)."""
    url = common.bench_url()
    head = _alembic_head()
    if not fresh and common.db_exists(url):
        meta = _meta(url)
        if (
            meta
            and meta.get("gen_version") == GEN_VERSION
            and meta.get("alembic_head") == head
            and set(sets) <= set(meta.get("datasets", {}))
        ):
            common.log(
                f"reusing the data sets in {url.rsplit('/', 1)[-1]} (built {meta['built_at']})"
            )
            return meta
    common.log(f"building the benchmark database {url.rsplit('/', 1)[-1]} (migrations, then COPY)")
    t0 = time.perf_counter()
    common.create_migrated_db(url)
    datasets = {}
    for name in sets:
        owners, rows = SETS[name]
        datasets[name] = asdict(build_dataset(url, name, owners, rows))
    common.log("VACUUM ANALYZE")
    vac = vacuum_analyze(url)
    meta = {
        "gen_version": GEN_VERSION,
        "alembic_head": head,
        "built_at": time.strftime("%Y-%m-%d %H:%M:%S"),
        "datasets": datasets,
        "vacuum_analyze_seconds": vac,
        "build_seconds": round(time.perf_counter() - t0, 1),
    }
    with common.pg_connect(common.libpq(url)) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS bench_meta (name text PRIMARY KEY, info jsonb)")
        conn.execute(
            "INSERT INTO bench_meta VALUES ('data', %s) ON CONFLICT (name) DO UPDATE "
            "SET info = excluded.info",
            (json.dumps(meta),),
        )
        conn.commit()
        size = conn.execute("SELECT pg_size_pretty(pg_database_size(current_database()))")
        meta["database_size"] = size.fetchone()[0]  # type: ignore[index]
        conn.execute("UPDATE bench_meta SET info = %s WHERE name = 'data'", (json.dumps(meta),))
        conn.commit()
    common.log(f"benchmark database ready in {meta['build_seconds']}s ({meta['database_size']})")
    return meta


if __name__ == "__main__":
    import sys

    ensure_data_db(fresh="--reuse" not in sys.argv)
