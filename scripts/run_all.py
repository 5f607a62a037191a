"""`make run`: the API, the worker, the relay, the scheduler (beat) and the bot, supervised, in the
foreground until Ctrl-C (SIGINT) or SIGTERM. A service that is not built is simply not started.

The supervisor binds the API's listening socket itself and hands it to ``KOPILKA_API_WORKERS``
API processes (``python -m kopilka_api --fd N``, each a supervised child): when one dies the others
go on accepting on the same socket while it is started again, so killing an API process costs no
downtime, and the port is never released and re-bound. Their metrics are added up across them
(prometheus-client's multiprocess mode, in an empty directory of this run).

A supervisor, not a launcher: a child that exits (crashed, killed, or the bot giving up) is logged
and started again after a backoff that doubles from 1 s up to 30 s (back to 1 s once it has run
for a minute); no child's exit stops the others. Each child runs in a process group of its own, so
what a dead child leaves behind (the API's worker processes, Celery's pool) is killed before it is
started again, and a Ctrl-C in the terminal reaches only the supervisor, which stops every child
(SIGTERM, then SIGKILL after 20 s) and exits. If the supervisor itself is killed, its children get
SIGTERM (Linux parent-death signal).

The API binds ``KOPILKA_HOST`` (127.0.0.1 unless told otherwise); a non-loopback address is
refused while ``KOPILKA_OPERATOR_KEY`` is the development default. Runtime files (the beat
schedule, pid files, heartbeats, the API's metrics) live in this instance's run directory
(``KOPILKA_RUN_DIR``, else derived from the port and the database), never in a shared path.
"""

from __future__ import annotations

import contextlib
import ctypes
import importlib.util
import json
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from kopilka.config import DEV_OPERATOR_KEY, get_settings

BACKOFF_FIRST = 1.0
BACKOFF_CAP = 30.0
HEALTHY_AFTER = 60.0  # a child that ran this long starts the next backoff from the beginning
STOP_GRACE = 20.0
TICK = 0.2


def say(message: str, **fields: object) -> None:
    """One line for the operator; JSON like every other process's log when KOPILKA_LOG_JSON."""
    if os.environ.get("KOPILKA_LOG_JSON", "true").lower() in ("1", "true", "yes"):
        line = json.dumps({"event": message, "logger": "kopilka.supervisor", **fields})
    else:
        line = message + "".join(f" {k}={v}" for k, v in fields.items())
    print(line, flush=True)


def _parent_death_signal() -> None:
    """In the child, before exec: SIGTERM when the supervisor dies (Linux; elsewhere nothing)."""
    with contextlib.suppress(Exception):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


@dataclass
class Child:
    name: str
    args: list[str]
    env: dict[str, str]
    run_dir: Path
    pass_fds: tuple[int, ...] = ()
    proc: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    restart_at: float | None = None
    backoff: float = BACKOFF_FIRST
    restarts: int = 0
    exits: list[int] = field(default_factory=list)

    def start(self) -> None:
        self.proc = subprocess.Popen(
            self.args,
            env=self.env,
            pass_fds=self.pass_fds,
            start_new_session=True,  # its own process group: see the module docstring
            preexec_fn=_parent_death_signal,
        )
        self.started_at = time.monotonic()
        self.restart_at = None
        (self.run_dir / f"{self.name}.pid").write_text(f"{self.proc.pid}\n")
        say("started", service=self.name, pid=self.proc.pid, restarts=self.restarts)

    def kill_group(self, sig: int) -> None:
        if self.proc is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.proc.pid, sig)

    def group_alive(self) -> bool:
        if self.proc is None:
            return False
        try:
            os.killpg(self.proc.pid, 0)
        except (ProcessLookupError, PermissionError):
            return False
        return True

    def check(self, now: float) -> None:
        """Notice an exit and schedule the restart; start it when its time has come."""
        if self.proc is not None and self.restart_at is None:
            code = self.proc.poll()
            if code is None:
                return
            ran = now - self.started_at
            # what it leaves behind (Celery's pool, ...) goes with it
            self.kill_group(signal.SIGKILL)
            if self.name.startswith("api"):
                from kopilka_api.metrics import mark_dead

                mark_dead(self.proc.pid)
            if ran >= HEALTHY_AFTER:
                self.backoff = BACKOFF_FIRST
            self.exits.append(code)
            self.restart_at = now + self.backoff
            say(
                "exited",
                service=self.name,
                pid=self.proc.pid,
                code=code,
                signal=signal.Signals(-code).name if code < 0 else None,
                ran_seconds=round(ran, 1),
                restart_in=self.backoff,
            )
            self.backoff = min(self.backoff * 2, BACKOFF_CAP)
        if self.restart_at is not None and now >= self.restart_at:
            self.restarts += 1
            self.start()


def listen(host: str, port: int) -> socket.socket:
    """The API's listening socket, bound once for the whole run (inherited by the API processes)."""
    family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(address)
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def services(py: str, api_workers: int, fd: int) -> list[tuple[str, list[str]]]:
    api = [py, "-m", "kopilka_api", "--fd", str(fd)]
    found = [(f"api-{n}", api) for n in range(1, api_workers + 1)]
    if importlib.util.find_spec("kopilka_worker.app"):
        found += [
            ("worker", [py, "-m", "kopilka_worker", "worker"]),
            ("relay", [py, "-m", "kopilka_worker", "relay"]),
            ("beat", [py, "-m", "kopilka_worker", "beat"]),
        ]
    if importlib.util.find_spec("kopilka_bot.__main__"):
        found.append(("bot", [py, "-m", "kopilka_bot"]))
    only = os.environ.get("KOPILKA_SERVICES")  # e.g. "api,worker": start only these
    if only:
        wanted = {s.strip() for s in only.split(",") if s.strip()}
        found = [s for s in found if s[0].split("-")[0] in wanted]
    return found


def main() -> int:
    settings = get_settings()
    refusal = settings.public_bind_refusal()
    if refusal:
        print(refusal, file=sys.stderr, flush=True)
        return 2
    run_dir = settings.run_dir()
    try:
        sock = listen(settings.host, settings.port)
    except OSError as exc:
        print(f"Cannot listen on {settings.host}:{settings.port}: {exc}", file=sys.stderr)
        return 2
    env = dict(os.environ)
    env["KOPILKA_RUN_DIR"] = str(run_dir)  # every child agrees on it, whatever it derives
    env["KOPILKA_HOST"] = settings.host
    api_env = dict(env)
    from kopilka_api.metrics import ENV, prepare_dir

    api_env[ENV] = str(prepare_dir(run_dir / "api-metrics"))
    children = [
        Child(name, args, api_env, run_dir, (sock.fileno(),))
        if name.startswith("api")
        else Child(name, args, env, run_dir)
        for name, args in services(sys.executable, settings.api_workers, sock.fileno())
    ]

    shown = "localhost" if settings.host_is_loopback() else settings.host
    print(f"Kopilka on http://{shown}:{settings.port}  (docs: /docs, Mini App: /app)")
    if settings.operator_key == DEV_OPERATOR_KEY:
        print(
            "Development operator key (set KOPILKA_OPERATOR_KEY in production):",
            settings.operator_key,
        )
    if not settings.telegram_bot_token:
        print("No TELEGRAM_BOT_TOKEN: the bot logs what it would send instead of sending it.")
    print(f"Run directory: {run_dir}")
    print("Starting:", ", ".join(c.name for c in children), flush=True)

    stopping: list[int] = []

    def stop(signum: int, _frame: object) -> None:
        stopping.append(signum)

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGHUP, stop)
    for child in children:
        child.start()
    while not stopping:
        now = time.monotonic()
        for child in children:
            child.check(now)
        time.sleep(TICK)

    say("stopping", signal=signal.Signals(stopping[0]).name)
    for child in children:
        if child.proc is not None and child.proc.poll() is None:
            child.kill_group(signal.SIGTERM)
    deadline = time.monotonic() + STOP_GRACE
    for child in children:
        if child.proc is None:
            continue
        with contextlib.suppress(subprocess.TimeoutExpired):
            child.proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        while child.group_alive() and time.monotonic() < deadline:
            time.sleep(TICK)
        if child.group_alive():
            say("killed", service=child.name, after_seconds=STOP_GRACE)
            child.kill_group(signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                child.proc.wait(timeout=5)
        with contextlib.suppress(OSError):
            (run_dir / f"{child.name}.pid").unlink()
    sock.close()
    say("stopped", services=[c.name for c in children])
    return 0


if __name__ == "__main__":
    sys.exit(main())
