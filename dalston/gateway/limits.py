"""ASGI middleware that refuses request bodies over the upload limit with a 413,
counting bytes as they arrive, so an oversize upload is never spooled whole."""

from __future__ import annotations

import json

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dalston.gateway.errors import ELEVENLABS_PREFIXES, error_body

# Multipart framing and form fields around the file itself.
_OVERHEAD = 64 * 1024


class _TooLarge(HTTPException):
    """An HTTPException, so FastAPI's body parsing re-raises it untouched and the
    app's handler renders it as a 413 in the native shape."""

    def __init__(self, limit: int) -> None:
        super().__init__(
            413, f"The request body exceeds the {limit} byte upload limit."
        )


class BodySizeLimit:
    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes + _OVERHEAD

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", ()):
            if name == b"content-length" and value.isdigit():
                if int(value) > self.max_bytes:
                    await self._refuse(send, scope.get("path", ""))
                    return
        received = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise _TooLarge(self.max_bytes - _OVERHEAD)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except _TooLarge:
            if not started:
                await self._refuse(send, scope.get("path", ""))

    async def _refuse(self, send: Send, path: str) -> None:
        limit = self.max_bytes - _OVERHEAD
        message = f"The request body exceeds the {limit} byte upload limit."
        payload: dict[str, object]
        if path.startswith(ELEVENLABS_PREFIXES):
            payload = {"detail": {"status": "payload_too_large", "message": message}}
        else:
            payload = error_body("payload_too_large", message, "file", 413)
        body = json.dumps(payload).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
