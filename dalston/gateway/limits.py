"""ASGI middleware that refuses what no route should see:

- ``BodySizeLimit``: request bodies over the upload limit, a 413, counting bytes
  as they arrive, so an oversize upload is never spooled whole; and a body that
  stops arriving (nothing for ``idle_timeout_s``), a 408, so a stalled or
  deliberately slow upload (slowloris) does not hold its connection for ever;
- ``NulGuard``: a NUL character (``\x00``) in the path, the query or a JSON body,
  a 400 (or a refused WebSocket). PostgreSQL stores no NUL in text, so an id or a
  name holding one failed the query (a 500) there and passed on SQLite: refused
  at the door, both modes answer alike. Multipart text fields are checked where
  they are read (``dalston.gateway.forms``).
"""

from __future__ import annotations

import asyncio
import json
import re
from urllib.parse import unquote_to_bytes

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dalston.gateway.errors import ELEVENLABS_PREFIXES, NUL_MESSAGE, error_body

# Multipart framing and form fields around the file itself.
_OVERHEAD = 64 * 1024


class _Refusal(HTTPException):
    """Raised by a wrapped ``receive``: an HTTPException, so FastAPI's body
    parsing re-raises it untouched and the app's handler renders it in the
    dialect's shape; raised before the app answered, ``_run_or_refuse`` does."""

    code = "invalid_request"
    param: str | None = None


class _TooLarge(_Refusal):
    code, param = "payload_too_large", "file"

    def __init__(self, limit: int) -> None:
        super().__init__(
            413, f"The request body exceeds the {limit} byte upload limit."
        )


class _Stalled(_Refusal):
    """Nothing of the body arrived for a while."""

    code = "request_timeout"

    def __init__(self, idle_s: float) -> None:
        super().__init__(
            408, f"The request body stopped arriving: nothing for {idle_s:g} s."
        )


class _HasNul(_Refusal):
    """A NUL escape in a JSON body as it arrives."""

    def __init__(self) -> None:
        super().__init__(400, NUL_MESSAGE)


# ``\u0000`` in JSON text, not preceded by an escaping backslash.
_JSON_NUL = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000", re.IGNORECASE)
_JSON_NUL_TAIL = 64  # bytes of one chunk kept to find an escape split across two


class NulGuard:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        query = unquote_to_bytes(scope.get("query_string", b""))
        if "\x00" in path or b"\x00" in query:
            if scope["type"] == "websocket":
                await send({"type": "websocket.close", "code": 1008})
            else:
                await _refuse(send, path, _HasNul())
            return
        if scope["type"] != "http" or not _is_json(scope):
            await self.app(scope, receive, send)
            return
        tail = b""

        async def checked_receive() -> Message:
            nonlocal tail
            message = await receive()
            if message["type"] == "http.request":
                window = tail + message.get("body", b"")
                if _JSON_NUL.search(window):
                    raise _HasNul()
                tail = window[-_JSON_NUL_TAIL:]
            return message

        await _run_or_refuse(self.app, scope, checked_receive, send)


async def _run_or_refuse(
    app: ASGIApp, scope: Scope, receive: Receive, send: Send
) -> None:
    """Run ``app``; when ``receive`` raised a ``_Refusal`` before the response
    started, answer with it (after it started, the app's own handler has)."""
    started = False

    async def tracking_send(message: Message) -> None:
        nonlocal started
        if message["type"] == "http.response.start":
            started = True
        await send(message)

    try:
        await app(scope, receive, tracking_send)
    except _Refusal as exc:
        if not started:
            await _refuse(send, scope.get("path", ""), exc)


async def _refuse(send: Send, path: str, refusal: _Refusal) -> None:
    await _send_error(
        send,
        path,
        refusal.status_code,
        refusal.code,
        str(refusal.detail),
        refusal.param,
    )


def _is_json(scope: Scope) -> bool:
    for name, value in scope.get("headers", ()):
        if name == b"content-type":
            return b"json" in value.lower()
    return False


async def _send_error(
    send: Send,
    path: str,
    status: int,
    code: str,
    message: str,
    param: str | None = None,
) -> None:
    payload: dict[str, object]
    if path.startswith(ELEVENLABS_PREFIXES):
        payload = {"detail": {"status": code, "message": message}}
    else:
        payload = error_body(code, message, param, status)
    body = json.dumps(payload).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class BodySizeLimit:
    def __init__(
        self, app: ASGIApp, max_bytes: int, idle_timeout_s: float = 60.0
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes + _OVERHEAD
        self.idle_timeout_s = idle_timeout_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", ()):
            if name == b"content-length" and value.isdigit():
                if int(value) > self.max_bytes:
                    too_large = _TooLarge(self.max_bytes - _OVERHEAD)
                    await _refuse(send, scope.get("path", ""), too_large)
                    return
        received = 0
        complete = False

        async def counting_receive() -> Message:
            nonlocal received, complete
            if complete:  # after the body: a wait for the disconnect (streaming)
                return await receive()
            try:
                message = await asyncio.wait_for(receive(), self.idle_timeout_s)
            except TimeoutError:
                raise _Stalled(self.idle_timeout_s) from None
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise _TooLarge(self.max_bytes - _OVERHEAD)
                complete = not message.get("more_body", False)
            else:
                complete = True
            return message

        await _run_or_refuse(self.app, scope, counting_receive, send)
