"""The HTTP connection protocol the servers run: uvicorn's (httptools), with a
deadline on request headers.

uvicorn closes a connection left idle after a response (its keep-alive timeout),
but not one that never finishes a request's headers: a client that connects and
says nothing, or sends its headers a byte at a time (slowloris), held its
connection for ever, and enough of them hold every file descriptor. Here a
request's headers must all arrive within ``header_timeout_s`` of the connection
(or of the previous response), or the connection is closed. Nor did uvicorn
bound the headers' size (87 MB of one header value in 8 s grew the server by
170 MB): past ``MAX_HEADER_BYTES`` a request gets a 431 and its connection is
closed. Bodies have their own limits (``limits.BodySizeLimit``).
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from dalston.gateway.errors import error_body

# The request line and headers of one request (nginx allows 4 x 8 KiB, Node
# 16 KiB): generous for cookies and tokens.
MAX_HEADER_BYTES = 64 * 1024
_LINGER_S = 2.0
_TOO_LARGE = json.dumps(
    error_body(
        "headers_too_large",
        f"The request line and headers exceed {MAX_HEADER_BYTES} bytes.",
        status=431,
    )
).encode()
_TOO_LARGE_RESPONSE = (
    b"HTTP/1.1 431 Request Header Fields Too Large\r\n"
    b"content-type: application/json\r\n"
    b"content-length: " + str(len(_TOO_LARGE)).encode() + b"\r\n"
    b"connection: close\r\n\r\n" + _TOO_LARGE
)


def http_protocol(header_timeout_s: float) -> Any:
    """uvicorn's ``http=`` option: the httptools protocol with the deadline, or
    ``"auto"`` where httptools is not installed."""
    try:
        from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
    except ImportError:  # uvicorn without its [standard] extras
        return "auto"

    class HeaderDeadline(HttpToolsProtocol):
        _deadline: asyncio.TimerHandle | None = None
        _header_bytes = 0  # received while this request's headers are awaited

        _discarding = False  # refused: what still comes is read and dropped

        def data_received(self, data: bytes) -> None:
            if self._discarding:
                return
            awaiting = self._deadline is not None
            super().data_received(data)
            if not awaiting or self._deadline is None:  # headers done meanwhile
                return
            self._header_bytes += len(data)
            if self._header_bytes > MAX_HEADER_BYTES:
                self._refuse_headers()

        def _refuse_headers(self) -> None:
            """The 431, then a lingering close: closed at once with unread bytes
            from the client, the socket would send a reset, and the client lose
            the answer; so it is half-closed and reads what still comes (for
            ``_LINGER_S`` at most) before closing."""
            self._disarm()
            if self.transport.is_closing():
                return
            self._discarding = True
            self.transport.write(_TOO_LARGE_RESPONSE)
            if self.transport.can_write_eof():
                self.transport.write_eof()
            self.loop.call_later(_LINGER_S, self._close)

        def _close(self) -> None:
            if not self.transport.is_closing():
                self.transport.close()

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._arm()

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

        def on_headers_complete(self) -> None:
            self._disarm()
            super().on_headers_complete()

        def on_response_complete(self) -> None:
            super().on_response_complete()
            if not self.transport.is_closing() and not self.pipeline:
                self._arm()  # the next request's headers, on a kept connection

        def _arm(self) -> None:
            self._disarm()
            self._header_bytes = 0
            self._deadline = self.loop.call_later(header_timeout_s, self._expire)

        def _disarm(self) -> None:
            if self._deadline is not None:
                self._deadline.cancel()
                self._deadline = None

        def _expire(self) -> None:
            self._deadline = None
            self._close()

    return HeaderDeadline
