"""Kopilka settings: one class, read from the environment (and a .env file if present)."""

from __future__ import annotations

import ipaddress
import os
import re
from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_OPERATOR_KEY = "dev-operator-key-change-me"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", populate_by_name=True)

    database_url: str = Field(
        default="postgresql+psycopg://postgres@127.0.0.1:5432/kopilka", alias="DATABASE_URL"
    )
    redis_url: str = Field(default="redis://127.0.0.1:6379/0", alias="REDIS_URL")
    operator_key: str = Field(default=DEV_OPERATOR_KEY, alias="KOPILKA_OPERATOR_KEY")
    port: int = Field(default=8000, alias="KOPILKA_PORT")
    # The address `make run` binds: loopback unless told otherwise (a public address needs a
    # real operator key, see scripts/run_all.py).
    host: str = Field(default="127.0.0.1", alias="KOPILKA_HOST")
    # Where one instance keeps its own runtime files (beat schedule, heartbeats, pid files, the
    # API's multiprocess metrics): empty = derived from the port and the database (run_dir()).
    run_dir_setting: str = Field(default="", alias="KOPILKA_RUN_DIR")
    api_workers: int = Field(default=2, ge=1, alias="KOPILKA_API_WORKERS")
    public_url: str = Field(default="http://127.0.0.1:8000", alias="KOPILKA_PUBLIC_URL")

    telegram_bot_token: str = Field(default="", alias="TELEGRAM_BOT_TOKEN")
    telegram_api_base: str = Field(default="https://api.telegram.org", alias="TELEGRAM_API_BASE")
    telegram_bot_username: str = Field(default="kopilka_bot", alias="TELEGRAM_BOT_USERNAME")
    mini_app_url: str = Field(default="", alias="KOPILKA_MINI_APP_URL")
    init_data_max_age_seconds: int = Field(default=3600, alias="KOPILKA_INIT_DATA_MAX_AGE")

    # API limits
    max_page_size: int = Field(default=500, alias="KOPILKA_MAX_PAGE_SIZE")
    default_page_size: int = Field(default=100, alias="KOPILKA_DEFAULT_PAGE_SIZE")
    max_body_bytes: int = Field(default=1_000_000, alias="KOPILKA_MAX_BODY_BYTES")
    # a bank statement upload (POST /api/payments/imports): 10,000 1C documents are ~7 MB
    max_import_bytes: int = Field(default=32_000_000, alias="KOPILKA_MAX_IMPORT_BYTES")
    max_prefer_wait_seconds: int = Field(default=60, alias="KOPILKA_MAX_PREFER_WAIT")
    # Writes per actor, by role (SPEC §7): an admin's API key 6,000 a minute (a script or a bank
    # import is a treasurer's normal work), an owner 120, the operator 60.
    write_rate_limit_admin: str = Field(
        default="6000/minute", alias="KOPILKA_WRITE_RATE_LIMIT_ADMIN"
    )
    write_rate_limit_owner: str = Field(
        default="120/minute", alias="KOPILKA_WRITE_RATE_LIMIT_OWNER"
    )
    write_rate_limit_operator: str = Field(
        default="60/minute", alias="KOPILKA_WRITE_RATE_LIMIT_OPERATOR"
    )
    # When set, one limit for every role instead (the test suite lifts the limits this way).
    write_rate_limit: str = Field(default="", alias="KOPILKA_WRITE_RATE_LIMIT")
    # Requests one API process works on at once; the rest wait their turn on the event loop,
    # holding neither a thread nor a database connection. Keep it under the pool size.
    max_in_flight: int = Field(default=4, ge=1, alias="KOPILKA_MAX_IN_FLIGHT")
    # How long a request may wait for its turn before it is answered 503 with Retry-After.
    queue_timeout_seconds: float = Field(default=10.0, gt=0, alias="KOPILKA_QUEUE_TIMEOUT")
    db_pool_size: int = Field(default=20, ge=1, alias="KOPILKA_DB_POOL_SIZE")
    db_max_overflow: int = Field(default=10, ge=0, alias="KOPILKA_DB_MAX_OVERFLOW")

    # Jobs
    celery_queue: str = Field(default="kopilka", alias="KOPILKA_QUEUE")
    republish_after_seconds: float = Field(default=30.0, alias="KOPILKA_REPUBLISH_AFTER")
    job_max_attempts: int = Field(default=5, alias="KOPILKA_JOB_MAX_ATTEMPTS")
    job_visibility_timeout: int = Field(default=3600, alias="KOPILKA_JOB_VISIBILITY_TIMEOUT")
    relay_interval_seconds: float = Field(default=1.0, alias="KOPILKA_RELAY_INTERVAL")
    sweep_interval_seconds: float = Field(default=60.0, alias="KOPILKA_SWEEP_INTERVAL")

    # Bot sender
    bot_global_rate: float = Field(default=28.0, alias="KOPILKA_BOT_GLOBAL_RATE")
    bot_per_chat_interval: float = Field(default=1.0, alias="KOPILKA_BOT_PER_CHAT_INTERVAL")
    bot_poll_interval: float = Field(default=0.5, alias="KOPILKA_BOT_POLL_INTERVAL")

    log_level: str = Field(default="INFO", alias="KOPILKA_LOG_LEVEL")
    log_json: bool = Field(default=True, alias="KOPILKA_LOG_JSON")

    def run_dir(self) -> Path:
        """This instance's runtime directory (created): ``KOPILKA_RUN_DIR``, else
        ``~/.local/state/kopilka/run-<port>-<database>``, so two stacks on one machine never
        share a beat schedule or a metrics directory."""
        if self.run_dir_setting:
            path = Path(self.run_dir_setting).expanduser()
        else:
            database = self.database_url.rsplit("/", 1)[-1].split("?", 1)[0] or "default"
            safe = re.sub(r"[^A-Za-z0-9_.-]", "_", database)
            state = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
            path = Path(state) / "kopilka" / f"run-{self.port}-{safe}"
        path.mkdir(parents=True, exist_ok=True)
        return path

    def public_bind_refusal(self) -> str | None:
        """Why listening on ``host`` is refused, or None: a public address with the development
        operator key would let anyone who read the README create communities."""
        if self.host_is_loopback() or self.operator_key != DEV_OPERATOR_KEY:
            return None
        return (
            f"Refusing to listen on {self.host}: KOPILKA_OPERATOR_KEY is the development default, "
            "which anyone can read in the README. Set KOPILKA_OPERATOR_KEY to a secret of your "
            "own, or leave KOPILKA_HOST unset (127.0.0.1)."
        )

    def host_is_loopback(self) -> bool:
        if self.host == "localhost":
            return True
        try:
            return ipaddress.ip_address(self.host.strip("[]")).is_loopback
        except ValueError:
            return False


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
