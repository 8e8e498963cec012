"""Clients that stop sending, or send slowly on purpose (slowloris), hold no
connection for ever:

- request headers must all arrive within ``DALSTON_REQUEST_HEADER_TIMEOUT_S`` of
  the connection (or of the previous response), or the connection is closed;
- a request body that stops arriving (``DALSTON_UPLOAD_IDLE_TIMEOUT_S``) is cut
  off with a 408 in the dialect's shape, and its connection closed. A body that
  keeps coming, however slowly, is read to the end.

Raw sockets against a real server: a body idle timeout of 1 s, a header deadline
of 2 s.
"""

from __future__ import annotations

import http.client
import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.server import ServerProcess

IDLE_S = 1.0
HEADER_S = 2.0


@pytest.fixture(scope="module")
def slow_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    proc = ServerProcess(
        tmp_path_factory.mktemp("slow-upload"),
        env={
            "DALSTON_UPLOAD_IDLE_TIMEOUT_S": str(IDLE_S),
            "DALSTON_REQUEST_HEADER_TIMEOUT_S": str(HEADER_S),
            "DALSTON_ENGINES": "audio-prepare",
            "DALSTON_REALTIME_CAPACITY": "0",
        },
    )
    proc.start()
    yield proc
    proc.stop()


def _head(server: ServerProcess, path: str, content_type: str, length: int) -> bytes:
    return (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Authorization: Bearer {server.admin_key}\r\n"
        f"Content-Type: {content_type}\r\nContent-Length: {length}\r\n\r\n"
    ).encode()


def _answer(
    sock: socket.socket, timeout_s: float
) -> tuple[int, dict[str, str], bytes, float]:
    """The whole response (the server closes the connection after it) and when
    its first byte came."""
    sock.settimeout(timeout_s)
    data = sock.recv(65536)
    first = time.monotonic()
    while chunk := sock.recv(65536):
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    headers = dict(line.lower().split(": ", 1) for line in lines[1:])
    return int(lines[0].split()[1]), headers, body, first


MULTIPART = "multipart/form-data; boundary=b"
PART = (
    b'--b\r\nContent-Disposition: form-data; name="file"; filename="a.wav"\r\n\r\nRIFF'
)


@pytest.mark.parametrize(
    "path", ["/v1/audio/transcriptions", "/v1/audio/translations", "/v1/speech-to-text"]
)
def test_a_stalled_upload_is_cut_off_with_408(
    slow_server: ServerProcess, path: str
) -> None:
    with socket.create_connection(("127.0.0.1", slow_server.port)) as sock:
        sock.sendall(_head(slow_server, path, MULTIPART, 100_000) + PART)
        started = time.monotonic()
        status, headers, body, answered = _answer(sock, 30)
        waited = answered - started
    assert status == 408, body
    assert IDLE_S * 0.9 <= waited < IDLE_S + 5, waited
    # _answer read to the end: the server closed the connection after the 408.
    assert headers["content-type"] == "application/json"
    error = json.loads(body)
    if path.startswith("/v1/speech-to-text"):
        assert error["detail"]["status"] == "request_timeout", error
    else:
        assert error["error"]["code"] == "request_timeout", error
        assert "stopped arriving" in error["error"]["message"]


def test_a_slow_but_steady_body_is_read_to_the_end(
    slow_server: ServerProcess, tmp_path: Path
) -> None:
    body = json.dumps(
        {"url": "http://127.0.0.1:9/hook", "events": ["*"], "description": "slow"}
    ).encode()
    with socket.create_connection(("127.0.0.1", slow_server.port)) as sock:
        sock.sendall(_head(slow_server, "/v1/webhooks", "application/json", len(body)))
        # Four pieces 0.6 s apart: 1.8 s in all, never 1 s without a byte.
        for n in range(4):
            time.sleep(0.6)
            sock.sendall(body[n * len(body) // 4 : (n + 1) * len(body) // 4])
        sock.settimeout(30)
        head = sock.recv(65536)
    assert head.startswith(b"HTTP/1.1 201"), head[:300]


def _closed_after(sock: socket.socket, trickle: bytes) -> float:
    """Send ``trickle`` a byte every 0.2 s until the server closes the connection;
    how long after connecting that was."""
    started = time.monotonic()
    sock.settimeout(0.2)
    for byte in trickle:
        try:
            if sock.recv(1024) == b"":
                return time.monotonic() - started
        except TimeoutError:
            pass
        try:
            sock.sendall(bytes([byte]))
        except OSError:  # reset: closed
            return time.monotonic() - started
    sock.settimeout(10)
    try:
        assert sock.recv(1024) == b""
    except OSError:
        pass
    return time.monotonic() - started


@pytest.mark.parametrize("trickle", [b"", b"GET /health HTTP/1.1\r\nHost: x\r\n" * 3])
def test_headers_that_never_finish_lose_their_connection(
    slow_server: ServerProcess, trickle: bytes
) -> None:
    with socket.create_connection(("127.0.0.1", slow_server.port)) as sock:
        closed_s = _closed_after(sock, trickle)
    # Bytes that keep coming do not put the deadline off.
    assert HEADER_S * 0.9 <= closed_s < HEADER_S + 3, closed_s


def test_a_kept_connection_serves_requests_that_come_in_time(
    slow_server: ServerProcess,
) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", slow_server.port, timeout=10)
    try:
        for n in range(3):
            conn.request("GET", "/health")
            response = conn.getresponse()
            assert response.status == 200 and response.read()
            if n == 0:
                first = conn.sock
            assert conn.sock is first  # the same connection, kept
            time.sleep(HEADER_S / 4)  # each request well within the deadline
    finally:
        conn.close()


def test_headers_past_the_limit_get_431_and_lose_their_connection(
    slow_server: ServerProcess,
) -> None:
    # uvicorn kept every byte of an endless header (87 MB in 8 s: +170 MB RSS).
    with socket.create_connection(("127.0.0.1", slow_server.port)) as sock:
        sock.settimeout(10)
        try:
            sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 200_000)
        except OSError:
            pass  # closed while sending: the answer was written before
        status, _, body, _ = _answer(sock, 10)
    assert status == 431, body
    assert json.loads(body)["error"]["code"] == "headers_too_large"
    # Large but within the limit: served.
    conn = http.client.HTTPConnection("127.0.0.1", slow_server.port, timeout=10)
    try:
        conn.request("GET", "/health", headers={"X-Big": "a" * 30_000})
        assert conn.getresponse().status == 200
    finally:
        conn.close()
