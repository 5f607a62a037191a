"""`make run`: the API, the worker, the relay, the scheduler (beat) and the bot, in the
foreground until Ctrl-C. A service that is not built is simply not started."""

from __future__ import annotations

import importlib.util
import os
import signal
import subprocess
import sys
import time

from kopilka.config import DEV_OPERATOR_KEY, get_settings


def main() -> int:
    settings = get_settings()
    py = sys.executable
    services: list[tuple[str, list[str]]] = [
        (
            "api",
            [
                py,
                "-m",
                "uvicorn",
                "kopilka_api.main:app",
                "--host",
                "0.0.0.0",
                "--port",
                str(settings.port),
                # the API is CPU-bound: one process per core (2 on the reference machine)
                "--workers",
                str(settings.api_workers),
                # the API logs one JSON line per request itself (with its request id)
                "--no-access-log",
            ],
        ),
    ]
    if importlib.util.find_spec("kopilka_worker.app"):
        services += [
            ("worker", [py, "-m", "kopilka_worker", "worker"]),
            ("relay", [py, "-m", "kopilka_worker", "relay"]),
            ("beat", [py, "-m", "kopilka_worker", "beat"]),
        ]
    if importlib.util.find_spec("kopilka_bot.__main__"):
        services.append(("bot", [py, "-m", "kopilka_bot"]))

    print(f"Kopilka on http://127.0.0.1:{settings.port}  (docs: /docs, Mini App: /app)")
    if settings.operator_key == DEV_OPERATOR_KEY:
        print(
            "Development operator key (set KOPILKA_OPERATOR_KEY in production):",
            settings.operator_key,
        )
    if not settings.telegram_bot_token:
        print("No TELEGRAM_BOT_TOKEN: the bot logs what it would send instead of sending it.")
    print("Starting:", ", ".join(name for name, _ in services), flush=True)

    procs: dict[str, subprocess.Popen[bytes]] = {}
    for name, args in services:
        procs[name] = subprocess.Popen(args, env=dict(os.environ))

    stopping = False

    def stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    code = 0
    while not stopping:
        for name, p in procs.items():
            if p.poll() is not None:
                print(f"{name} exited with {p.returncode}; stopping everything", flush=True)
                code = p.returncode or 1
                stopping = True
                break
        time.sleep(0.5)
    for p in procs.values():
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 15
    for p in procs.values():
        try:
            p.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            p.kill()
    return code


if __name__ == "__main__":
    sys.exit(main())
