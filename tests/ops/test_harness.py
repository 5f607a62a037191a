"""The test harness shares a machine: a database prefix of its own, leftovers of killed runs
cleaned, nobody else's database touched, and under CI=true a skipped test fails the run."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

from sqlalchemy import text

from tests import conftest
from tests.support.processes import ROOT


def _exists(c: object, name: str) -> bool:
    return bool(c.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}))  # type: ignore[attr-defined]


def test_leftovers_of_dead_runs_are_dropped_and_nothing_else(database: str) -> None:
    prefix = conftest.DB_PREFIX
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    names = {
        "dead": f"{prefix}_leftover_{dead.pid}_{os.getpid()}",
        "alive": f"{prefix}_alive_{os.getpid()}",
        "unmarked": f"{prefix}_unmarked_{os.getpid()}",
        "other_host": f"{prefix}_otherhost_{os.getpid()}",
        "other_prefix": f"zz{prefix}_other_{dead.pid}",
    }
    marks = {
        "dead": conftest._creator_mark(os.getpid()).replace(
            f"pid={os.getpid()}", f"pid={dead.pid}"
        ),
        "alive": conftest._creator_mark(os.getpid()),
        "unmarked": None,
        "other_host": conftest._creator_mark(os.getpid())
        .replace("host=", "host=elsewhere-")
        .replace(f"pid={os.getpid()}", f"pid={dead.pid}"),
        "other_prefix": conftest._creator_mark(os.getpid()).replace(
            f"pid={os.getpid()}", f"pid={dead.pid}"
        ),
    }
    admin = conftest._admin_engine()
    try:
        with admin.connect() as c:
            for key, name in names.items():
                c.execute(text(f'CREATE DATABASE "{name}"'))
                if marks[key]:
                    c.execute(text(f"COMMENT ON DATABASE \"{name}\" IS '{marks[key]}'"))
            dropped = conftest.drop_leftovers(c)
            assert names["dead"] in dropped
            assert not _exists(c, names["dead"])
            for key in ("alive", "unmarked", "other_host", "other_prefix"):
                assert _exists(c, names[key]), key
            # our own database is marked as ours and alive
            assert _exists(c, conftest.TEST_DB)
            assert conftest.TEST_DB not in dropped
    finally:
        with admin.connect() as c:
            for name in names.values():
                c.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


def test_database_names_take_the_configured_prefix() -> None:
    assert conftest.TEST_DB.startswith(conftest.DB_PREFIX + "_")
    assert os.environ["DATABASE_URL"].endswith("/" + conftest.TEST_DB)
    assert os.environ["REDIS_URL"] == conftest.TEST_REDIS_URL


def test_under_ci_a_skipped_test_fails_the_run(tmp_path: Path) -> None:
    """A nested pytest over this repository's conftest with one skipped test: exit 1 under
    CI=true, 0 without it (the same conftest, a prefix of our own)."""
    d = ROOT / "tests" / "ops" / f"_skip_probe_{os.getpid()}"
    d.mkdir()
    try:
        (d / "test_probe.py").write_text(
            textwrap.dedent(
                """
                import pytest

                def test_runs():
                    assert True

                @pytest.mark.skip(reason="probe")
                def test_skipped():
                    pass
                """
            )
        )
        env = dict(os.environ)
        env["KOPILKA_TEST_DB_PREFIX"] = f"{conftest.DB_PREFIX}_probe"
        args = [sys.executable, "-m", "pytest", str(d), "-q", "-p", "no:cacheprovider"]
        env.pop("CI", None)
        quiet = subprocess.run(args, env=env, cwd=ROOT, capture_output=True, text=True)
        assert quiet.returncode == 0, quiet.stdout + quiet.stderr
        env["CI"] = "true"
        ci = subprocess.run(args, env=env, cwd=ROOT, capture_output=True, text=True)
        assert ci.returncode == 1, ci.stdout + ci.stderr
        assert "skipped test(s) fail the run" in ci.stdout
    finally:
        for f in d.iterdir():
            f.unlink()
        d.rmdir()
