"""Docker, for operators who have it: no engine here, so the compose file and the Dockerfile are
read and checked for what a first deploy needs (issue: "an operator's first deploy")."""

from __future__ import annotations

import re
import shlex
from typing import Any

import pytest
import yaml

from tests.support.processes import ROOT

COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES: dict[str, dict[str, Any]] = COMPOSE["services"]
KOPILKA = ("migrate", "api", "worker", "relay", "beat", "bot")


def _dockerfile() -> list[tuple[str, str]]:
    """(instruction, arguments) of the Dockerfile, continuation lines joined, comments dropped."""
    text = (ROOT / "Dockerfile").read_text()
    text = re.sub(r"\\\n", " ", text)
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def _command(service: str) -> list[str]:
    cmd = SERVICES[service].get("command")
    return shlex.split(cmd) if isinstance(cmd, str) else list(cmd)


def _test(service: str) -> list[str]:
    check = SERVICES[service].get("healthcheck") or {}
    test = check.get("test")
    assert test, f"{service} has no healthcheck"
    return shlex.split(test) if isinstance(test, str) else list(test)


def test_postgres_health_is_checked_over_tcp_against_the_real_database() -> None:
    test = _test("postgres")
    assert test[0] in ("CMD", "CMD-SHELL")
    words = " ".join(test[1:]).split()
    assert words[0] == "pg_isready"
    args = dict(zip(words[1::2], words[2::2], strict=False))
    assert args.get("-h") in ("127.0.0.1", "localhost"), "over TCP, not the Unix socket"
    env = SERVICES["postgres"]["environment"]
    assert args.get("-d") == env["POSTGRES_DB"]
    assert args.get("-U") == env["POSTGRES_USER"]


def test_migrate_waits_for_the_database_and_runs_once_healthy() -> None:
    cmd = _command("migrate")
    assert cmd[:3] == ["python", "-m", "kopilka.migrations.cli"]
    assert "--wait" in cmd and float(cmd[cmd.index("--wait") + 1]) >= 30
    assert SERVICES["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    for name in ("api", "worker", "relay", "beat", "bot"):
        dep = SERVICES[name]["depends_on"]
        assert dep["migrate"]["condition"] == "service_completed_successfully", name


def test_the_migration_cli_really_retries_until_the_database_answers(capsys) -> None:
    from kopilka.migrations.cli import wait_for_database

    with pytest.raises(SystemExit, match="did not answer within"):
        wait_for_database("postgresql+psycopg://postgres@127.0.0.1:1/nowhere", 1.5)
    tries = capsys.readouterr().err.count("waiting for the database")
    assert tries >= 2


def test_one_image_built_once_and_run_by_every_service() -> None:
    built = [n for n, s in SERVICES.items() if "build" in s]
    assert len(built) == 1, f"built by {built}"
    image = SERVICES[built[0]]["image"]
    for name in KOPILKA:
        assert SERVICES[name]["image"] == image, name
        if name not in built:
            assert SERVICES[name].get("pull_policy") == "never", name


def test_the_image_runs_as_a_user_not_root() -> None:
    users = [arg for word, arg in _dockerfile() if word == "USER"]
    assert users, "no USER in the Dockerfile"
    assert users[-1] not in ("root", "0", "0:0")


def test_the_image_starts_the_api_with_the_configured_process_count() -> None:
    (cmd,) = [arg for word, arg in _dockerfile() if word == "CMD"][-1:]
    assert "--workers" not in cmd
    assert _command("api") == ["python", "-m", "kopilka_api"]
    env = SERVICES["api"]["environment"]
    assert env["KOPILKA_API_WORKERS"].startswith("${KOPILKA_API_WORKERS")
    # the launcher reads it
    from kopilka_api import __main__ as launcher

    assert "api_workers" in (ROOT / launcher.__file__).read_text()


def test_redis_keeps_its_data_on_a_volume() -> None:
    volumes = SERVICES["redis"].get("volumes") or []
    targets = {v.split(":")[1] for v in volumes if isinstance(v, str) and ":" in v}
    assert "/data" in targets
    named = {v.split(":")[0] for v in volumes}
    assert named <= set(COMPOSE.get("volumes") or {})


@pytest.mark.parametrize("service", ["api", "worker", "relay", "beat", "bot"])
def test_every_long_running_service_has_a_healthcheck(service: str) -> None:
    test = _test(service)
    assert test[0] in ("CMD", "CMD-SHELL")
    if service != "api":
        assert test[1:4] == ["python", "-m", "kopilka.heartbeat"] and test[4] == service


def test_the_heartbeat_check_follows_the_process(tmp_path, monkeypatch) -> None:
    from kopilka import heartbeat
    from kopilka.config import get_settings

    monkeypatch.setenv("KOPILKA_RUN_DIR", str(tmp_path))
    get_settings.cache_clear()
    try:
        assert heartbeat.main(["relay", "90"]) == 1  # never touched
        heartbeat.touch("relay")
        assert heartbeat.main(["relay", "90"]) == 0
        import os

        old = heartbeat.path("relay").stat().st_mtime - 600
        os.utime(heartbeat.path("relay"), (old, old))
        assert heartbeat.main(["relay", "90"]) == 1  # stale
    finally:
        get_settings.cache_clear()


def _readme_settings() -> list[str]:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Settings", 1)[1].split("\n## ", 1)[0]
    names: list[str] = []
    for line in section.splitlines():
        if line.startswith("| `"):
            first = line.split("|")[1]
            for token in re.findall(r"`([A-Z_][A-Z0-9_]+)`", first):
                if token.startswith("_") and names:  # `KOPILKA_X_ADMIN`, `_OWNER`: a sibling
                    token = names[-1].rsplit("_", 1)[0] + token
                names.append(token)
    return names


def test_every_setting_of_the_readme_passes_through() -> None:
    names = _readme_settings()
    assert "KOPILKA_OPERATOR_KEY" in names and len(names) > 15
    for service in KOPILKA:
        env = SERVICES[service]["environment"]
        missing = [n for n in names if n not in env]
        assert not missing, (
            f"{service}: add {missing} to x-kopilka-env in docker-compose.yml "
            "(every setting of the README's table passes through)"
        )
    # passed from the operator's environment, not fixed, except the container's own addresses
    fixed = {"DATABASE_URL", "REDIS_URL", "KOPILKA_HOST", "KOPILKA_PORT", "KOPILKA_RUN_DIR"}
    env = SERVICES["api"]["environment"]
    for name in names:
        if name not in fixed:
            assert f"${{{name}" in str(env[name]), f"{name} is not taken from the environment"
    assert "${KOPILKA_PORT" in SERVICES["api"]["ports"][0]


def test_a_deployment_needs_its_own_operator_key() -> None:
    key = SERVICES["api"]["environment"]["KOPILKA_OPERATOR_KEY"]
    assert ":?" in key and "dev-operator-key" not in key
