"""``X-Request-ID`` on every response: the client's own id, echoed, or a new one.

A pure ASGI middleware (HTTP and WebSocket handshakes). An id the client sent is
echoed when it is sane (1-128 visible ASCII characters, no spaces); anything
else is replaced by a fresh UUID, so a header can never be used to inject text
into logs or responses. Handlers and the access log read it from
``request.state.request_id``. Responses made outside the middleware stack
(Starlette's last-resort 500) get it from the error handler (``errors.py``).
"""

from __future__ import annotations

import re
import uuid

from starlette.types import ASGIApp, Message, Receive, Scope, Send

HEADER = "x-request-id"
_SANE = re.compile(r"[!-~]{1,128}")


def request_id(scope: Scope) -> str | None:
    """The id given to this request or connection, once the middleware ran."""
    state = scope.get("state") or {}
    value = state.get("request_id")
    return value if isinstance(value, str) else None


def _chosen(scope: Scope) -> str:
    for name, value in scope.get("headers") or ():
        if name == HEADER.encode():
            text = value.decode("latin-1")
            if _SANE.fullmatch(text):
                return text
            break
    return uuid.uuid4().hex


class RequestId:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        rid = _chosen(scope)
        scope.setdefault("state", {})["request_id"] = rid
        header = (HEADER.encode(), rid.encode())

        async def send_with_id(message: Message) -> None:
            if message["type"] in (
                "http.response.start",
                "websocket.accept",
                "websocket.http.response.start",
            ):
                headers = list(message.get("headers") or ())
                if not any(name.lower() == header[0] for name, _ in headers):
                    headers.append(header)
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_id)
