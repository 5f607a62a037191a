"""A fake Telegram Bot API server on loopback, for tests, demos and benchmarks.

It speaks the subset of the Bot API that the Kopilka bot uses, in the real envelope
(``{"ok": true, "result": ...}`` / ``{"ok": false, "error_code": ..., "description": ...}``),
accepts JSON, form-encoded and multipart bodies (aiogram sends form data), and can behave like
Telegram under load: a global and a per-chat sliding one-second rate limit answered with HTTP 429
and ``parameters.retry_after``. Test hooks inject blocked chats, server errors and forced 429s.

In a test::

    with FakeTelegram(token=TOKEN) as fake:
        bot = Bot(TOKEN, session=AiohttpSession(api=TelegramAPIServer.from_base(fake.base_url)))
        ...
        fake.wait_for(1)
        assert fake.messages_to(42)[0]["text"] == "hi"

Standalone (``make run`` demos, benchmarks)::

    python -m tests.fakes.fake_telegram --host 127.0.0.1 --port 8081 [--token T] [--telegram-like]

prints every sent message to stdout as one JSON line. A running standalone server is driven by a
small admin API under ``/_fake/`` (see ``_ADMIN_ROUTES``): ``POST /_fake/push_message`` with JSON
``{"from_user_id": 1, "text": "/start X"}``, ``GET /_fake/sent``, ``GET /_fake/stats``,
``POST /_fake/clear``, ``POST /_fake/block_chat`` ``{"chat_id": 1}``.

The server runs an aiohttp application on its own event loop in a daemon thread, so it can be used
from synchronous and asynchronous tests alike; all shared state is guarded by one lock.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import math
import re
import signal
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from http import HTTPStatus
from typing import Any, ClassVar

from aiohttp import web

__all__ = ["DEFAULT_BOT_ID", "FakeTelegram", "main"]

DEFAULT_BOT_ID = 7000000001
DEFAULT_BOT_USERNAME = "kopilka_test_bot"
MAX_TEXT_LENGTH = 4096
MAX_CAPTION_LENGTH = 1024

# Fields whose values aiogram serialises as JSON strings inside form data.
_JSON_FIELDS = frozenset(
    {
        "reply_markup",
        "commands",
        "scope",
        "menu_button",
        "allowed_updates",
        "entities",
        "link_preview_options",
        "reply_parameters",
    }
)
_INT_FIELDS = frozenset({"offset", "limit", "timeout", "message_id", "message_thread_id"})
_BOOL_FIELDS = frozenset(
    {
        "disable_notification",
        "protect_content",
        "drop_pending_updates",
        "show_alert",
        "disable_web_page_preview",
        "allow_sending_without_reply",
    }
)

# Telegram's HTML parse mode: the only tags and entities it accepts.
_HTML_TAGS = frozenset(
    {
        "b",
        "strong",
        "i",
        "em",
        "u",
        "ins",
        "s",
        "strike",
        "del",
        "span",
        "tg-spoiler",
        "a",
        "tg-emoji",
        "code",
        "pre",
        "blockquote",
    }
)
_HTML_SPECIAL = re.compile(r"[<&]")
_HTML_TAG = re.compile(
    r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)"
    r"((?:\s+[a-zA-Z_-]+(?:\s*=\s*(?:\"[^\"]*\"|'[^']*'|[^\s\"'>]+))?)*)\s*>"
)
_HTML_ENTITY = re.compile(r"&(?:lt|gt|amp|quot|#[0-9]+|#x[0-9a-fA-F]+);")


def _html_error(text: str) -> str | None:
    """Return Telegram-like "can't parse entities" detail for bad HTML, or None if it parses."""
    stack: list[str] = []
    pos = 0
    while (found := _HTML_SPECIAL.search(text, pos)) is not None:
        at = found.start()
        offset = len(text[:at].encode("utf-8"))
        if found.group() == "&":
            entity = _HTML_ENTITY.match(text, at)
            if entity is None:
                return f"Unsupported HTML entity or bare '&' at byte offset {offset}"
            pos = entity.end()
            continue
        tag = _HTML_TAG.match(text, at)
        if tag is None:
            return f"Unsupported start tag at byte offset {offset}"
        closing, name = tag.group(1) == "/", tag.group(2).lower()
        if name not in _HTML_TAGS:
            return f'Unsupported start tag "{name}" at byte offset {offset}'
        if closing:
            if not stack:
                return f"Unexpected end tag at byte offset {offset}"
            if stack[-1] != name:
                return (
                    f'Unmatched end tag at byte offset {offset}, expected "</{stack[-1]}>", '
                    f'found "</{name}>"'
                )
            stack.pop()
        else:
            stack.append(name)
        pos = tag.end()
    if stack:
        return f"Can't find end tag corresponding to start tag {stack[-1]}"
    return None


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _command_entities(text: str) -> list[dict[str, Any]]:
    """Entities Telegram attaches to a message: a bot_command at the start of a "/..." text."""
    match = re.match(r"/[A-Za-z0-9_]+(?:@[A-Za-z0-9_]+)?", text)
    if match is None:
        return []
    return [{"type": "bot_command", "offset": 0, "length": _utf16_len(match.group())}]


def _as_int(value: Any) -> Any:
    if isinstance(value, str):
        with contextlib.suppress(ValueError):
            return int(value)
    return value


def _as_bool(value: Any) -> Any:
    if isinstance(value, str):
        return value.strip().lower() in {"true", "1", "yes"}
    return value


def _as_json(value: Any) -> Any:
    if isinstance(value, str):
        with contextlib.suppress(ValueError):
            return json.loads(value)
    return value


def _normalise(params: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in params.items():
        if key in _JSON_FIELDS:
            value = _as_json(value)
        elif key in _INT_FIELDS or key.endswith("chat_id") or key == "user_id":
            value = _as_int(value)
        elif key in _BOOL_FIELDS:
            value = _as_bool(value)
        out[key] = value
    return out


def _chat_type(chat_id: int) -> str:
    if chat_id > 0:
        return "private"
    if chat_id <= -1_000_000_000_000:
        return "supergroup"
    return "group"


class _ApiError(Exception):
    def __init__(self, status: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.retry_after = retry_after


class FakeTelegram:
    """A fake Bot API server. See the module docstring.

    ``token``: the only accepted bot token (401 otherwise); ``None`` accepts any token.
    ``telegram_like``: preset for ``global_limit=30`` and ``per_chat_limit=1`` messages per
    ``window`` seconds (explicit limits win). ``min_retry_after``: the smallest ``retry_after``
    answered with a 429. ``validate_html``: reject text with ``parse_mode=HTML`` that Telegram
    would not parse (400 "Bad Request: can't parse entities: ..."). ``on_send``: called with every
    recorded message (in the server thread).
    """

    def __init__(
        self,
        token: str | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        telegram_like: bool = False,
        global_limit: int | None = None,
        per_chat_limit: int | None = None,
        window: float = 1.0,
        min_retry_after: int = 1,
        validate_html: bool = True,
        bot_username: str = DEFAULT_BOT_USERNAME,
        bot_first_name: str = "Kopilka Test",
        on_send: Callable[[dict[str, Any]], None] | None = None,
        admin_api: bool = True,
    ) -> None:
        self.token = token
        self.host = host
        self.port = port
        self.global_limit = (
            global_limit if global_limit is not None else (30 if telegram_like else None)
        )
        self.per_chat_limit = (
            per_chat_limit if per_chat_limit is not None else (1 if telegram_like else None)
        )
        self.window = window
        self.min_retry_after = min_retry_after
        self.validate_html = validate_html
        self.bot_username = bot_username
        self.bot_first_name = bot_first_name
        self.on_send = on_send
        self.admin_api = admin_api

        self._lock = threading.Lock()
        self._sent_cond = threading.Condition(self._lock)
        self._sent: list[dict[str, Any]] = []
        self._rejected: list[dict[str, Any]] = []
        self._calls: list[dict[str, Any]] = []
        self.rejected_429 = 0
        self._global_window: deque[float] = deque()
        self._chat_windows: dict[int, deque[float]] = {}
        self._blocked: set[int] = set()
        self._fail_next: list[tuple[str, int, str]] = []  # (method lower, status, description)
        self._forced_429: list[tuple[int | None, int]] = []
        self._message_ids: dict[int, itertools.count[int]] = {}
        self._updates: list[dict[str, Any]] = []
        self._update_ids = itertools.count(1)
        self._users: dict[int, dict[str, Any]] = {}
        self._commands: dict[str, list[dict[str, Any]]] = {}
        self._menu_buttons: dict[int | None, dict[str, Any]] = {}

        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self._update_waiters: set[asyncio.Event] = set()  # touched only in the server thread
        self._stopping = False

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> FakeTelegram:
        """Start serving in a background thread; returns self once the port is bound."""
        if self._thread is not None:
            raise RuntimeError("FakeTelegram already started")
        self._stopping = False
        ready = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(self._serve())
            except BaseException as exc:  # reported to start()
                failure.append(exc)
                ready.set()
                loop.close()
                return
            ready.set()
            try:
                loop.run_forever()
            finally:
                loop.close()

        self._thread = threading.Thread(target=run, name="fake-telegram", daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("FakeTelegram did not start in 10 s")
        if failure:
            self._thread.join(1)
            self._thread = None
            raise failure[0]
        return self

    async def _serve(self) -> None:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        if self.admin_api:
            for method, path, handler in self._admin_routes():
                app.router.add_route(method, path, handler)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_api)
        app.router.add_route("*", "/{tail:.*}", self._handle_not_found)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port, backlog=1024, reuse_address=True)
        await site.start()
        self.port = int(self._runner.addresses[0][1])

    def stop(self) -> None:
        """Stop the server and its thread (idempotent). Recorded data stays readable."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        self._stopping = True
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(self._wake_update_waiters)
            if self._runner is not None:
                asyncio.run_coroutine_threadsafe(self._runner.cleanup(), loop).result(10)
            loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        self._thread = None
        self._loop = None
        self._runner = None

    def __enter__(self) -> FakeTelegram:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        """E.g. ``http://127.0.0.1:PORT``; pass to ``TelegramAPIServer.from_base``."""
        if self._thread is None:
            raise RuntimeError("FakeTelegram is not started")
        return f"http://{self.host}:{self.port}"

    # ------------------------------------------------------------------ recordings

    @property
    def sent(self) -> list[dict[str, Any]]:
        """Every accepted sendMessage, in order: a snapshot list of dicts with chat_id, text,
        parse_mode, reply_markup (parsed), message_id, at (time.monotonic()), params."""
        with self._lock:
            return list(self._sent)

    @property
    def rejected(self) -> list[dict[str, Any]]:
        """Every refused sendMessage (429, 403, injected failures, 400s): dicts with chat_id,
        text, status, description, retry_after, at."""
        with self._lock:
            return list(self._rejected)

    @property
    def calls(self) -> list[dict[str, Any]]:
        """Every Bot API call (any method, any outcome): dicts with method, params, status, at."""
        with self._lock:
            return list(self._calls)

    def calls_to(self, method: str) -> list[dict[str, Any]]:
        """Calls of one Bot API method (case-insensitive), e.g. ``calls_to("setMyCommands")``."""
        name = method.lower()
        with self._lock:
            return [c for c in self._calls if c["method"].lower() == name]

    def messages_to(self, chat_id: int) -> list[dict[str, Any]]:
        with self._lock:
            return [m for m in self._sent if m["chat_id"] == chat_id]

    def texts_to(self, chat_id: int) -> list[str]:
        return [m["text"] for m in self.messages_to(chat_id)]

    def wait_for(
        self,
        condition: int | Callable[[list[dict[str, Any]]], bool] = 1,
        timeout: float = 5.0,
    ) -> list[dict[str, Any]]:
        """Block until ``len(sent) >= condition`` (an int) or ``condition(sent)`` is true.

        Returns the snapshot of ``sent`` that satisfied it; raises TimeoutError otherwise. Do not
        call from the event loop that runs the bot under test: use ``wait_for_async`` there.
        """
        check = self._condition(condition)
        deadline = time.monotonic() + timeout
        with self._sent_cond:
            while True:
                snapshot = list(self._sent)
                if check(snapshot):
                    return snapshot
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(self._timeout_message(condition, snapshot, timeout))
                self._sent_cond.wait(remaining)

    async def wait_for_async(
        self,
        condition: int | Callable[[list[dict[str, Any]]], bool] = 1,
        timeout: float = 5.0,
        poll: float = 0.01,
    ) -> list[dict[str, Any]]:
        """``wait_for`` for async tests: polls without blocking the caller's event loop."""
        check = self._condition(condition)
        deadline = time.monotonic() + timeout
        while True:
            snapshot = self.sent
            if check(snapshot):
                return snapshot
            if time.monotonic() >= deadline:
                raise TimeoutError(self._timeout_message(condition, snapshot, timeout))
            await asyncio.sleep(poll)

    @staticmethod
    def _condition(
        condition: int | Callable[[list[dict[str, Any]]], bool],
    ) -> Callable[[list[dict[str, Any]]], bool]:
        if isinstance(condition, int):
            count = condition
            return lambda sent: len(sent) >= count
        return condition

    @staticmethod
    def _timeout_message(condition: Any, snapshot: list[dict[str, Any]], timeout: float) -> str:
        tail = [(m["chat_id"], m["text"][:60]) for m in snapshot[-5:]]
        want = f"{condition} messages" if isinstance(condition, int) else "the condition"
        return f"waited {timeout}s for {want}; {len(snapshot)} sent, last: {tail}"

    def clear(self) -> None:
        """Forget sent/rejected messages, calls, the 429 counter and the rate-limit windows."""
        with self._lock:
            self._sent.clear()
            self._rejected.clear()
            self._calls.clear()
            self.rejected_429 = 0
            self._global_window.clear()
            self._chat_windows.clear()

    def reset(self) -> None:
        """``clear()`` plus: unblock all chats, drop pending hooks, queued updates and commands."""
        self.clear()
        with self._lock:
            self._blocked.clear()
            self._fail_next.clear()
            self._forced_429.clear()
            self._updates.clear()
            self._commands.clear()
            self._menu_buttons.clear()

    # ------------------------------------------------------------------ fault hooks

    def block_chat(self, chat_id: int) -> None:
        """sendMessage to this chat answers 403 "Forbidden: bot was blocked by the user"."""
        with self._lock:
            self._blocked.add(chat_id)

    def unblock_chat(self, chat_id: int) -> None:
        with self._lock:
            self._blocked.discard(chat_id)

    def fail_next(
        self,
        n: int = 1,
        status: int = 500,
        description: str | None = None,
        method: str = "sendMessage",
    ) -> None:
        """The next ``n`` calls of ``method`` answer ``status`` (before any other check)."""
        if description is None:
            description = {
                400: "Bad Request: chat not found",
                401: "Unauthorized",
                403: "Forbidden: bot was blocked by the user",
                404: "Not Found",
                409: "Conflict: terminated by other getUpdates request",
            }.get(status) or HTTPStatus(status).phrase
        with self._lock:
            self._fail_next.extend([(method.lower(), status, description)] * n)

    def force_retry_after(self, chat_id: int | None = None, seconds: int = 1) -> None:
        """The next sendMessage (to ``chat_id``, or to any chat if None) answers 429 with
        ``retry_after=seconds``. Calls queue up: each is consumed by one message."""
        with self._lock:
            self._forced_429.append((chat_id, seconds))

    # ------------------------------------------------------------------ updates

    def push_update(self, update: dict[str, Any]) -> dict[str, Any]:
        """Queue a raw update for getUpdates; ``update_id`` is assigned if missing."""
        with self._lock:
            if "update_id" not in update:
                update = {"update_id": next(self._update_ids), **update}
            self._updates.append(update)
        loop = self._loop
        if loop is not None:
            with contextlib.suppress(RuntimeError):  # loop closed while stopping
                loop.call_soon_threadsafe(self._wake_update_waiters)
        return update

    def push_message(
        self,
        from_user_id: int,
        text: str,
        language_code: str | None = "en",
        first_name: str = "Ann",
        username: str | None = None,
        last_name: str | None = None,
    ) -> dict[str, Any]:
        """Queue an Update with a private text message from a user (with a bot_command entity
        when the text starts with "/"). Returns the update."""
        user: dict[str, Any] = {"id": from_user_id, "is_bot": False, "first_name": first_name}
        if last_name is not None:
            user["last_name"] = last_name
        if username is not None:
            user["username"] = username
        if language_code is not None:
            user["language_code"] = language_code
        chat: dict[str, Any] = {"id": from_user_id, "type": "private", "first_name": first_name}
        if last_name is not None:
            chat["last_name"] = last_name
        if username is not None:
            chat["username"] = username
        with self._lock:
            self._users[from_user_id] = user
            message_id = self._next_message_id(from_user_id)
        message: dict[str, Any] = {
            "message_id": message_id,
            "date": int(time.time()),
            "chat": chat,
            "from": user,
            "text": text,
        }
        if entities := _command_entities(text):
            message["entities"] = entities
        return self.push_update({"message": message})

    def push_callback_query(
        self,
        from_user_id: int,
        data: str,
        message_id: int | None = None,
        language_code: str | None = "en",
        first_name: str = "Ann",
    ) -> dict[str, Any]:
        """Queue an Update with a callback query (an inline button press) from a user."""
        user: dict[str, Any] = {"id": from_user_id, "is_bot": False, "first_name": first_name}
        if language_code is not None:
            user["language_code"] = language_code
        with self._lock:
            self._users.setdefault(from_user_id, user)
            query_id = str(next(self._update_ids) * 1000 + 7)
        query: dict[str, Any] = {
            "id": query_id,
            "from": user,
            "chat_instance": f"ci{from_user_id}",
            "data": data,
        }
        if message_id is not None:
            query["message"] = {
                "message_id": message_id,
                "date": int(time.time()),
                "chat": {"id": from_user_id, "type": "private", "first_name": first_name},
                "from": self._bot_user(self.token),
                "text": "",
            }
        return self.push_update({"callback_query": query})

    @property
    def pending_updates(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._updates)

    def _wake_update_waiters(self) -> None:
        for event in self._update_waiters:
            event.set()

    # ------------------------------------------------------------------ HTTP

    async def _handle_not_found(self, request: web.Request) -> web.Response:
        return self._error(404, "Not Found")

    async def _handle_api(self, request: web.Request) -> web.Response:
        token = request.match_info["token"]
        method = request.match_info["method"]
        try:
            params = _normalise(await self._read_params(request))
        except Exception as exc:
            return self._error(400, f"Bad Request: cannot read request body: {exc}")
        at = time.monotonic()
        status = 200
        try:
            if self.token is not None and token != self.token:
                raise _ApiError(401, "Unauthorized")
            handler = self._methods.get(method.lower())
            if handler is None:
                raise _ApiError(404, "Not Found: method not found")
            self._take_failure(method)
            result = await handler(self, token, params)
        except _ApiError as err:
            status = err.status
            response = self._error(err.status, err.description, err.retry_after)
            if method.lower() == "sendmessage":
                self._record_rejection(params, err, at)
        else:
            response = web.json_response({"ok": True, "result": result})
        with self._lock:
            self._calls.append({"method": method, "params": params, "status": status, "at": at})
        return response

    def _record_rejection(self, params: dict[str, Any], err: _ApiError, at: float) -> None:
        with self._lock:
            if err.status == 429:
                self.rejected_429 += 1
            self._rejected.append(
                {
                    "chat_id": params.get("chat_id"),
                    "text": params.get("text"),
                    "status": err.status,
                    "description": err.description,
                    "retry_after": err.retry_after,
                    "at": at,
                }
            )

    @staticmethod
    async def _read_params(request: web.Request) -> dict[str, Any]:
        params: dict[str, Any] = dict(request.query)
        if not request.body_exists:
            return params
        ctype = request.content_type
        if ctype in ("application/x-www-form-urlencoded", "multipart/form-data"):
            form = await request.post()
            for key, value in form.items():
                if isinstance(value, web.FileField):
                    params[key] = {"filename": value.filename, "content": value.file.read()}
                else:
                    params[key] = value
        else:
            raw = await request.read()
            if raw.strip():
                body = json.loads(raw)
                if not isinstance(body, dict):
                    raise ValueError("JSON body must be an object")
                params.update(body)
        return params

    @staticmethod
    def _error(status: int, description: str, retry_after: int | None = None) -> web.Response:
        body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
        if retry_after is not None:
            body["parameters"] = {"retry_after": retry_after}
        return web.json_response(body, status=status)

    def _take_failure(self, method: str) -> None:
        name = method.lower()
        with self._lock:
            for index, (target, status, description) in enumerate(self._fail_next):
                if target == name:
                    del self._fail_next[index]
                    break
            else:
                return
        raise _ApiError(status, description)

    # ------------------------------------------------------------------ Bot API methods

    def _bot_user(self, token: str | None) -> dict[str, Any]:
        left = (token or "").partition(":")[0]
        bot_id = int(left) if left.isdigit() else DEFAULT_BOT_ID
        return {
            "id": bot_id,
            "is_bot": True,
            "first_name": self.bot_first_name,
            "username": self.bot_username,
        }

    def _parse_mode(self, params: dict[str, Any], text: str) -> Any:
        """The request's parse_mode; with ``validate_html``, HTML that Telegram would not parse
        is its 400 "can't parse entities"."""
        parse_mode = params.get("parse_mode")
        if (
            self.validate_html
            and isinstance(parse_mode, str)
            and parse_mode.lower() == "html"
            and (problem := _html_error(text)) is not None
        ):
            raise _ApiError(400, f"Bad Request: can't parse entities: {problem}")
        return parse_mode

    def _record_sent(self, chat_id: int, params: dict[str, Any], **fields: Any) -> dict[str, Any]:
        """Admit a message to ``chat_id`` (the rate limits), give it its id and record it as sent
        (``sent()`` and ``wait_for`` see it); the record."""
        now = time.monotonic()
        with self._lock:
            self._admit(chat_id, now)
            message_id = self._next_message_id(chat_id)
            record = {"chat_id": chat_id, **fields, "message_id": message_id, "at": now}
            record["params"] = params
            self._sent.append(record)
            self._sent_cond.notify_all()
        return record

    def _next_message_id(self, chat_id: int) -> int:
        # caller holds the lock; private chats share one id sequence for both directions
        counter = self._message_ids.get(chat_id)
        if counter is None:
            counter = self._message_ids[chat_id] = itertools.count(1)
        return next(counter)

    async def _get_me(self, token: str, params: dict[str, Any]) -> Any:
        return {
            **self._bot_user(token),
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }

    async def _send_message(self, token: str, params: dict[str, Any]) -> Any:
        chat_id = params.get("chat_id")
        text = params.get("text")
        if chat_id is None or chat_id == "":
            raise _ApiError(400, "Bad Request: chat_id is empty")
        if not isinstance(chat_id, int):
            raise _ApiError(400, "Bad Request: chat not found")
        if not isinstance(text, str) or not text.strip():
            raise _ApiError(400, "Bad Request: message text is empty")
        if _utf16_len(text) > MAX_TEXT_LENGTH:
            raise _ApiError(400, "Bad Request: message is too long")
        parse_mode = self._parse_mode(params, text)
        reply_markup = params.get("reply_markup")
        record = self._record_sent(
            chat_id, params, text=text, parse_mode=parse_mode, reply_markup=reply_markup
        )
        message_id = record["message_id"]
        with self._lock:
            user = self._users.get(chat_id)
        if self.on_send is not None:
            self.on_send(record)
        chat: dict[str, Any] = {"id": chat_id, "type": _chat_type(chat_id)}
        if chat["type"] == "private":
            chat["first_name"] = user["first_name"] if user else "User"
        else:
            chat["title"] = f"Chat {chat_id}"
        message: dict[str, Any] = {
            "message_id": message_id,
            "date": int(time.time()),
            "chat": chat,
            "from": self._bot_user(token),
            "text": text,
        }
        if isinstance(reply_markup, dict) and "inline_keyboard" in reply_markup:
            message["reply_markup"] = reply_markup
        return message

    def _admit(self, chat_id: int, now: float) -> None:
        """Apply blocked chats, forced 429s and rate limits; caller holds the lock."""
        if chat_id in self._blocked:
            raise _ApiError(403, "Forbidden: bot was blocked by the user")
        for index, (target, seconds) in enumerate(self._forced_429):
            if target is None or target == chat_id:
                del self._forced_429[index]
                raise _ApiError(429, f"Too Many Requests: retry after {seconds}", seconds)
        cutoff = now - self.window
        wait = 0.0
        chat_window: deque[float] | None = None
        if self.per_chat_limit is not None:
            chat_window = self._chat_windows.setdefault(chat_id, deque())
            while chat_window and chat_window[0] <= cutoff:
                chat_window.popleft()
            if len(chat_window) >= self.per_chat_limit:
                wait = chat_window[0] + self.window - now
        if self.global_limit is not None:
            while self._global_window and self._global_window[0] <= cutoff:
                self._global_window.popleft()
            if len(self._global_window) >= self.global_limit:
                wait = max(wait, self._global_window[0] + self.window - now)
        if wait > 0:
            seconds = max(self.min_retry_after, math.ceil(wait))
            raise _ApiError(429, f"Too Many Requests: retry after {seconds}", seconds)
        if chat_window is not None:
            chat_window.append(now)
        if self.global_limit is not None:
            self._global_window.append(now)

    async def _get_updates(self, token: str, params: dict[str, Any]) -> Any:
        offset = params.get("offset") or 0
        limit = params.get("limit") or 100
        timeout = params.get("timeout") or 0
        if not isinstance(offset, int) or not isinstance(limit, int):
            raise _ApiError(400, "Bad Request: wrong parameter")
        limit = max(1, min(100, limit))
        allowed = params.get("allowed_updates")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + (float(timeout) if isinstance(timeout, int | float) else 0.0)
        while True:
            with self._lock:
                # Telegram semantics: offset is the first update_id to return; smaller ids are
                # confirmed and forgotten. A negative offset keeps only the last -offset updates.
                if offset > 0:
                    self._updates = [u for u in self._updates if u["update_id"] >= offset]
                elif offset < 0:
                    self._updates = self._updates[offset:]
                batch = self._updates
                if isinstance(allowed, list) and allowed:
                    batch = [u for u in batch if any(kind in u for kind in allowed)]
                batch = batch[:limit]
            remaining = deadline - loop.time()
            if batch or remaining <= 0 or self._stopping:
                return batch
            event = asyncio.Event()
            self._update_waiters.add(event)
            try:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(event.wait(), remaining)
            finally:
                self._update_waiters.discard(event)

    async def _true(self, token: str, params: dict[str, Any]) -> Any:
        return True

    async def _delete_webhook(self, token: str, params: dict[str, Any]) -> Any:
        if params.get("drop_pending_updates"):
            with self._lock:
                self._updates.clear()
        return True

    async def _get_webhook_info(self, token: str, params: dict[str, Any]) -> Any:
        with self._lock:
            pending = len(self._updates)
        return {"url": "", "has_custom_certificate": False, "pending_update_count": pending}

    @staticmethod
    def _commands_key(params: dict[str, Any]) -> str:
        scope = params.get("scope")
        scope_key = json.dumps(scope, sort_keys=True) if scope else "default"
        return f"{scope_key}|{params.get('language_code') or ''}"

    async def _set_my_commands(self, token: str, params: dict[str, Any]) -> Any:
        commands = params.get("commands")
        if not isinstance(commands, list):
            raise _ApiError(400, "Bad Request: commands must be an array")
        for command in commands:
            if not (
                isinstance(command, dict)
                and re.fullmatch(r"[a-z0-9_]{1,32}", str(command.get("command", "")))
                and 1 <= len(str(command.get("description", ""))) <= 256
            ):
                raise _ApiError(400, "Bad Request: BOT_COMMAND_INVALID")
        with self._lock:
            self._commands[self._commands_key(params)] = commands
        return True

    async def _get_my_commands(self, token: str, params: dict[str, Any]) -> Any:
        with self._lock:
            return list(self._commands.get(self._commands_key(params), []))

    async def _delete_my_commands(self, token: str, params: dict[str, Any]) -> Any:
        with self._lock:
            self._commands.pop(self._commands_key(params), None)
        return True

    async def _set_chat_menu_button(self, token: str, params: dict[str, Any]) -> Any:
        button = params.get("menu_button") or {"type": "default"}
        if not isinstance(button, dict) or button.get("type") not in {
            "default",
            "commands",
            "web_app",
        }:
            raise _ApiError(400, "Bad Request: invalid menu button")
        with self._lock:
            self._menu_buttons[params.get("chat_id")] = button
        return True

    async def _get_chat_menu_button(self, token: str, params: dict[str, Any]) -> Any:
        with self._lock:
            chat_id = params.get("chat_id")
            return (
                self._menu_buttons.get(chat_id)
                or self._menu_buttons.get(None)
                or {"type": "default"}
            )

    async def _answer_callback_query(self, token: str, params: dict[str, Any]) -> Any:
        if not params.get("callback_query_id"):
            raise _ApiError(400, "Bad Request: query is too old and response timeout expired")
        return True

    async def _send_document(self, token: str, params: dict[str, Any]) -> Any:
        """sendDocument: a file (multipart) with an optional caption; recorded with the sent
        messages (``text`` is the caption, ``document`` the file name and bytes)."""
        return self._send_file(token, params, "document")

    async def _send_photo(self, token: str, params: dict[str, Any]) -> Any:
        """sendPhoto: an image (multipart) with an optional caption (at most 1024 characters);
        recorded with the sent messages (``text`` is the caption, ``photo`` the file name and
        bytes)."""
        return self._send_file(token, params, "photo")

    def _send_file(self, token: str, params: dict[str, Any], field: str) -> Any:
        upload = params.get(field)
        if isinstance(upload, str) and upload.startswith("attach://"):
            upload = params.get(upload.removeprefix("attach://"))  # aiogram's multipart way
        if not isinstance(upload, dict) or not upload.get("content"):
            raise _ApiError(400, f"Bad Request: there is no {field} in the request")
        chat_id = params.get("chat_id")
        if not isinstance(chat_id, int):
            raise _ApiError(400, "Bad Request: chat not found")
        caption = params.get("caption") or ""
        if _utf16_len(caption) > MAX_CAPTION_LENGTH:
            raise _ApiError(400, "Bad Request: message caption is too long")
        parse_mode = self._parse_mode(params, caption)
        record = self._record_sent(
            chat_id,
            params,
            text=caption,
            **{field: upload},
            parse_mode=parse_mode,
            reply_markup=params.get("reply_markup"),
        )
        message_id = record["message_id"]
        if self.on_send is not None:
            self.on_send(record)
        sent = (
            [{"file_id": f"photo-{message_id}", "file_unique_id": f"u-{message_id}",
              "width": 512, "height": 512}]
            if field == "photo"
            else {"file_id": f"doc-{message_id}", "file_unique_id": f"u-{message_id}",
                  "file_name": upload.get("filename")}
        )  # fmt: skip
        return {
            "message_id": message_id,
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": _chat_type(chat_id), "first_name": "User"},
            "from": self._bot_user(token),
            "caption": caption,
            field: sent,
        }

    _methods: ClassVar[dict[str, Callable[..., Any]]] = {
        "getme": _get_me,
        "sendmessage": _send_message,
        "senddocument": _send_document,
        "sendphoto": _send_photo,
        "getupdates": _get_updates,
        "setmycommands": _set_my_commands,
        "getmycommands": _get_my_commands,
        "deletemycommands": _delete_my_commands,
        "deletewebhook": _delete_webhook,
        "getwebhookinfo": _get_webhook_info,
        "setchatmenubutton": _set_chat_menu_button,
        "getchatmenubutton": _get_chat_menu_button,
        "answercallbackquery": _answer_callback_query,
        "sendchataction": _true,
        "close": _true,
        "logout": _true,
    }

    # ------------------------------------------------------------------ admin API

    def _admin_routes(self) -> Iterable[tuple[str, str, Callable[[web.Request], Any]]]:
        async def push_message(request: web.Request) -> web.Response:
            body = await request.json()
            update = self.push_message(
                int(body["from_user_id"]),
                str(body["text"]),
                language_code=body.get("language_code", "en"),
                first_name=body.get("first_name", "Ann"),
                username=body.get("username"),
            )
            return web.json_response({"ok": True, "result": update})

        async def sent(request: web.Request) -> web.Response:
            chat = request.query.get("chat_id")
            records = self.messages_to(int(chat)) if chat else self.sent
            return web.json_response(
                {
                    "ok": True,
                    "result": [_public(r) for r in records],
                }
            )

        async def stats(request: web.Request) -> web.Response:
            with self._lock:
                result = {
                    "sent": len(self._sent),
                    "rejected": len(self._rejected),
                    "rejected_429": self.rejected_429,
                    "calls": len(self._calls),
                    "pending_updates": len(self._updates),
                    "chats": len({m["chat_id"] for m in self._sent}),
                }
            return web.json_response({"ok": True, "result": result})

        async def clear(request: web.Request) -> web.Response:
            self.clear()
            return web.json_response({"ok": True, "result": True})

        async def block_chat(request: web.Request) -> web.Response:
            body = await request.json()
            self.block_chat(int(body["chat_id"]))
            return web.json_response({"ok": True, "result": True})

        return [
            ("POST", "/_fake/push_message", push_message),
            ("GET", "/_fake/sent", sent),
            ("GET", "/_fake/stats", stats),
            ("POST", "/_fake/clear", clear),
            ("POST", "/_fake/block_chat", block_chat),
        ]


def _public(record: dict[str, Any]) -> dict[str, Any]:
    """A sent record as JSON can carry it: no raw params, a file as its name and size."""
    out = {k: v for k, v in record.items() if k != "params"}
    for field in ("document", "photo"):
        if isinstance(out.get(field), dict):
            upload = out[field]
            out[field] = {"filename": upload.get("filename"), "size": len(upload["content"])}
    return out


def _print_sent(record: dict[str, Any]) -> None:
    line = _public(record)
    sys.stdout.write(json.dumps(line, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Fake Telegram Bot API server on loopback.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--token", default=None, help="the only accepted token (default: any)")
    parser.add_argument(
        "--telegram-like",
        action="store_true",
        help="enforce 30 messages/s overall and 1 message/s per chat (HTTP 429 retry_after)",
    )
    parser.add_argument("--min-retry-after", type=int, default=1)
    parser.add_argument("--quiet", action="store_true", help="do not print sent messages")
    args = parser.parse_args(argv)

    fake = FakeTelegram(
        token=args.token,
        host=args.host,
        port=args.port,
        telegram_like=args.telegram_like,
        min_retry_after=args.min_retry_after,
        on_send=None if args.quiet else _print_sent,
    )
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    fake.start()
    sys.stderr.write(f"fake telegram listening on {fake.base_url}\n")
    sys.stderr.flush()
    try:
        while not stop.wait(0.5):
            pass
    finally:
        fake.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
