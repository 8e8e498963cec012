"""The HTTP connection protocol the servers run: uvicorn's (httptools), with a
deadline on request headers.

uvicorn closes a connection left idle after a response (its keep-alive timeout),
but not one that never finishes a request's headers: a client that connects and
says nothing, or sends its headers a byte at a time (slowloris), held its
connection for ever, and enough of them hold every file descriptor. Here a
request's headers must all arrive within ``header_timeout_s`` of the connection
(or of the previous response), or the connection is closed. Bodies have their
own idle timeout (``limits.BodySizeLimit``).
"""

from __future__ import annotations

import asyncio
from typing import Any


def http_protocol(header_timeout_s: float) -> Any:
    """uvicorn's ``http=`` option: the httptools protocol with the deadline, or
    ``"auto"`` where httptools is not installed."""
    try:
        from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
    except ImportError:  # uvicorn without its [standard] extras
        return "auto"

    class HeaderDeadline(HttpToolsProtocol):
        _deadline: asyncio.TimerHandle | None = None

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
            self._deadline = self.loop.call_later(header_timeout_s, self._expire)

        def _disarm(self) -> None:
            if self._deadline is not None:
                self._deadline.cancel()
                self._deadline = None

        def _expire(self) -> None:
            self._deadline = None
            if not self.transport.is_closing():
                self.transport.close()

    return HeaderDeadline
