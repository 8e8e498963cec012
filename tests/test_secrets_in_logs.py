"""No credential reaches the server's log: tokens and keys that clients put in
query strings (browsers, older clients) are redacted from uvicorn's access log
and its WebSocket lines, whether they were accepted, refused or never used."""

from __future__ import annotations

import secrets
import time

import httpx
import websockets.sync.client

from dalston.gateway.log_redaction import REDACTED, redact
from tests.server import ServerProcess


def test_query_credentials_are_redacted() -> None:
    line = (
        '127.0.0.1:5 - "GET /v1/x?model=a&token=tk_abc&API_KEY=dk_1&keyterms=k'
        '&xi_api_key=s HTTP/1.1" 200'
    )
    assert redact(line) == (
        f'127.0.0.1:5 - "GET /v1/x?model=a&token={REDACTED}&API_KEY={REDACTED}'
        f'&keyterms=k&xi_api_key={REDACTED} HTTP/1.1" 200'
    )


def test_server_log_holds_no_token_or_key(server: ServerProcess) -> None:
    with server.client() as client:
        created = client.post("/auth/tokens", json={"ttl": 60, "scopes": ["jobs:read"]})
        assert created.status_code == 201, created.text
        used = created.json()["token"]
        unused = client.post("/auth/tokens", json={"ttl": 60}).json()["token"]
    fake_key = "dk_" + secrets.token_urlsafe(24)
    bogus = "tk_" + secrets.token_urlsafe(24)
    with httpx.Client(base_url=server.url) as anon:
        assert anon.get("/v1/audio/transcriptions", params={"token": used}).is_success
        refused = anon.get(
            "/v1/audio/transcriptions", params={"token": bogus, "api_key": fake_key}
        )
        assert refused.status_code == 401
    ws_url = server.url.replace("http", "ws") + "/v1/audio/transcriptions/stream"
    try:  # refused in the protocol's own way: an error event, then a close
        with websockets.sync.client.connect(
            f"{ws_url}?api_key={fake_key}&token={bogus}"
        ) as ws:
            ws.recv(timeout=10)
    except (websockets.exceptions.WebSocketException, TimeoutError):
        pass
    time.sleep(0.5)  # the access log line is written after the response
    log = server.log_path.read_text(errors="replace")
    assert "/v1/audio/transcriptions?token=" + REDACTED in log
    assert "Logging error" not in log
    for secret in (used, unused, fake_key, bogus):
        assert secret not in log
