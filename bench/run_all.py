"""``make bench``: every benchmark in turn, then bench/RESULTS.md.

Order: the floor (no Kopilka code), recording, the balance sheet (which rebuilds the benchmark
database: dropped and recreated on every run), the close (on copies of it), the fan-out, then
issue 18's: reads before/after (and tenancy), the write path with/without the maintained
totals, the burst after a close. A
benchmark that fails is reported as failed and the others still run. About 15-20 minutes on
2 cores, 6 of them the fan-out of 10,000 messages at Telegram's pace; ``--quick`` takes about 6.

``python -m bench.run_all [--quick] [--only recording,close]``
"""

from __future__ import annotations

import argparse
import importlib
import time
import traceback
from typing import Any

from bench import common

ORDER = [
    "floor",
    "recording",
    "balance_sheet",
    "close",
    "plots",
    "hardening",
    "fanout",
    "bank_import",
    "reads",
    "writes",
    "burst",
]


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="smaller runs (about 6 minutes)")
    p.add_argument("--only", default="", help="comma-separated subset of " + ",".join(ORDER))
    a = p.parse_args(argv)
    names = [n for n in ORDER if not a.only or n in a.only.split(",")]
    args: dict[str, list[str]] = {
        "floor": ["--quick"] if a.quick else [],
        "recording": ["--quick"] if a.quick else [],
        "balance_sheet": ["--fresh"] + (["--runs", "3"] if a.quick else []),
        "close": [] if "balance_sheet" in names else ["--fresh"],
        "plots": ["--runs", "1"] if a.quick else [],
        "hardening": ["--bursts", "1"] if a.quick else [],
        "fanout": ["--quick"] if a.quick else [],
        "bank_import": ["--runs", "1"] if a.quick else [],
        "reads": ["--tenancy"] + (["--repeat", "1", "--others", "200"] if a.quick else []),
        "writes": ["--rounds", "1" if a.quick else "3"],
        "burst": ["--seconds", "60" if a.quick else "180"],
    }
    started = time.monotonic()
    common.log(f"running {', '.join(names)}{' (quick)' if a.quick else ''}")
    timings: dict[str, Any] = {}
    for name in names:
        t0 = time.monotonic()
        common.log(f"=== {name} ===")
        for stale in (common.OUT / f"{name}.json", common.OUT / f"{name}_error.json"):
            stale.unlink(missing_ok=True)
        try:
            module = importlib.import_module(f"bench.{name}")
            module.main(args[name])
            timings[name] = {"seconds": round(time.monotonic() - t0, 1), "ok": True}
        except Exception as exc:
            common.log(f"{name} FAILED: {exc}")
            traceback.print_exc()
            timings[name] = {
                "seconds": round(time.monotonic() - t0, 1),
                "ok": False,
                "error": f"{type(exc).__name__}: {exc}"[:2000],
            }
            common.save_result(f"{name}_error", timings[name])
    total = round(time.monotonic() - started, 1)
    common.log(f"all done in {total / 60:.1f} min")
    common.finish(
        "run_all",
        {
            "command": "uv run --frozen python -m bench.run_all" + (" --quick" if a.quick else ""),
            "machine": common.machine_info(),
            "benchmarks": timings,
            "total_seconds": total,
        },
    )


if __name__ == "__main__":
    main()
