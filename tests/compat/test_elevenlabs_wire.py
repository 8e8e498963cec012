"""The ElevenLabs dialect on the wire: SDK captures replayed byte for byte over a real
socket, misleading upload labels, and webhook delivery verified with the SDK's own
signature helper, all with the real model.

The other captures (get/delete, refused fields), tenant isolation and the errors in
ElevenLabs' shapes are checked in process: ``tests/inproc/test_elevenlabs_dialect.py``.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from elevenlabs.client import ElevenLabs

from dalston.eval.scoring import wer
from tests.server import ServerProcess

HERE = Path(__file__).resolve().parent
CAPTURES = HERE / "captures"
DATA = HERE.parent / "data"
JFK = DATA / "whisper_jfk.flac"


# --- captured SDK requests, replayed ------------------------------------------------
def _replay(server: ServerProcess, raw: bytes) -> tuple[int, Any]:
    """Send ``raw`` as it is, but for its Host and xi-api-key values."""
    head, sep, body = raw.partition(b"\r\n\r\n")
    lines = []
    for line in head.split(b"\r\n"):
        name = line.split(b":", 1)[0].strip().lower()
        if name == b"host":
            line = line.split(b":", 1)[0] + f": 127.0.0.1:{server.port}".encode()
        elif name == b"xi-api-key":
            line = line.split(b":", 1)[0] + b": " + server.admin_key.encode()
        lines.append(line)
    request = b"\r\n".join(lines) + sep + body
    with socket.create_connection(("127.0.0.1", server.port), timeout=60) as sock:
        sock.sendall(request)
        response = b""
        while b"\r\n\r\n" not in response:
            chunk = sock.recv(65536)
            assert chunk, response
            response += chunk
        status_head, _, rest = response.partition(b"\r\n\r\n")
        headers = {
            k.strip().lower(): v.strip()
            for k, _, v in (
                line.decode().partition(":") for line in status_head.split(b"\r\n")[1:]
            )
        }
        length = int(headers["content-length"])
        while len(rest) < length:
            chunk = sock.recv(65536)
            assert chunk
            rest += chunk
    status = int(status_head.split(b" ", 2)[1])
    assert headers["content-type"].startswith("application/json")
    return status, json.loads(rest[:length])


def _capture(name: str) -> bytes:
    return (CAPTURES / f"{name}.txt").read_bytes()


def _check_empty_chunk(body: dict[str, Any]) -> None:
    """The 0.1 s silent clip every capture carries: a valid, empty transcript."""
    assert body["language_code"] == "eng" and body["text"] == ""
    assert body["words"] == [] and 0 <= body["language_probability"] <= 1
    assert body["transcription_id"]
    assert body["audio_duration_secs"] == pytest.approx(0.1, abs=0.01)


@pytest.mark.parametrize("name", ["001", "010"])
def test_plain_captures_are_transcribed(server: ServerProcess, name: str) -> None:
    status, body = _replay(server, _capture(name))
    assert status == 200, body
    _check_empty_chunk(body)


def test_capture_asking_for_entities_is_transcribed(server: ServerProcess) -> None:
    """012: the JS SDK's repeated entity_detection parts."""
    status, body = _replay(server, _capture("012"))
    assert status == 200, body
    _check_empty_chunk(body)
    assert body["entities"] == []  # silence holds no entities


# --- upload labels -------------------------------------------------------------------
def test_upload_labels_are_not_trusted(server: ServerProcess) -> None:
    """Real audio under a misleading name and type is sniffed and transcribed."""
    eleven = ElevenLabs(api_key=server.admin_key, base_url=server.url)
    clip = DATA / "deepspeech_ldc93s1_8k.wav"
    result = eleven.speech_to_text.convert(
        model_id="scribe_v1", file=("photo.png", clip.read_bytes(), "image/png")
    )
    assert wer([clip.with_suffix(".txt").read_text()], [result.text]) <= 0.5


# --- webhooks -------------------------------------------------------------------------
class _Receiver(BaseHTTPRequestHandler):
    """Answers 503 to the first delivery, 200 afterwards; keeps what it got."""

    received: list[tuple[dict[str, str], bytes]]
    done: threading.Event

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.received.append((dict(self.headers.items()), body))
        first = len(self.received) == 1
        self.send_response(503 if first else 200)
        self.send_header("Content-Length", "0")
        self.end_headers()
        if not first:
            self.done.set()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[tuple[str, type[_Receiver]]]:
    handler = type(
        "Receiver", (_Receiver,), {"received": [], "done": threading.Event()}
    )
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/hook", handler
    httpd.shutdown()
    httpd.server_close()
    httpd.server_close()


@pytest.fixture(scope="module")
def tuned_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """Webhook secrets derived from a server secret, fast retries, and a
    synchronous wait too short for any real transcription."""
    proc = ServerProcess(
        tmp_path_factory.mktemp("tuned-server"),
        env={
            "DALSTON_WEBHOOK_SECRET": "server-side-secret",
            "DALSTON_WEBHOOK_MAX_ATTEMPTS": "3",
            "DALSTON_WEBHOOK_BACKOFF_S": "0.2",
            "DALSTON_SYNC_TIMEOUT_S": "0.05",
        },
    )
    proc.start()
    yield proc
    proc.stop()


def test_webhook_delivery_is_signed_retried_and_verifiable(
    tuned_server: ServerProcess, receiver: tuple[str, type[_Receiver]]
) -> None:
    url, handler = receiver
    eleven = ElevenLabs(api_key=tuned_server.admin_key, base_url=tuned_server.url)
    created = eleven.webhooks.create(
        settings={"auth_type": "hmac", "name": "test", "webhook_url": url}  # type: ignore[arg-type]
    )
    secret = created.webhook_secret
    assert secret and created.webhook_id
    listed = eleven.webhooks.list(include_usages=True).webhooks
    assert [(w.webhook_id, w.webhook_url) for w in listed] == [
        (created.webhook_id, url)
    ]

    started = time.monotonic()
    with JFK.open("rb") as audio:
        accepted = eleven.speech_to_text.convert(
            model_id="scribe_v1",
            file=audio,
            webhook=True,
            webhook_id=created.webhook_id,
            webhook_metadata={"job": "j-42", "tags": {"team": "qa"}},
            additional_formats=[{"format": "txt"}],  # type: ignore[list-item]
        )
    assert time.monotonic() - started < 2.5  # answered before transcription ends
    answer = accepted.model_dump()
    assert answer["request_id"] and answer["message"]
    transcription_id = answer["transcription_id"]

    assert handler.done.wait(60), handler.received
    assert len(handler.received) == 2  # the 503 was retried
    headers, raw = handler.received[-1]
    event = eleven.webhooks.construct_event(
        raw.decode(), headers["ElevenLabs-Signature"], secret
    )
    assert event["type"] == "speech_to_text_transcription"
    data = event["data"]
    assert data["request_id"] == answer["request_id"]
    assert data["transcription_id"] == transcription_id
    assert data["status"] == "completed" and data["error"] is None
    assert data["webhook_metadata"] == {"job": "j-42", "tags": {"team": "qa"}}
    transcription = data["transcription"]
    reference = (DATA / "whisper_jfk.txt").read_text()
    assert wer([reference], [transcription["text"]]) <= 0.1
    assert transcription["words"] and transcription["transcription_id"] == (
        transcription_id
    )
    assert transcription["additional_formats"][0]["requested_format"] == "txt"
    # The result stays available (enable_logging defaults to true).
    fetched = eleven.speech_to_text.transcripts.get(transcription_id)
    assert fetched.text == transcription["text"]  # type: ignore[union-attr]

    # Without webhook_id: every speech_to_text webhook; zero retention: purged
    # once delivered.
    with (DATA / "deepspeech_ldc93s1_8k.wav").open("rb") as audio:
        accepted = eleven.speech_to_text.convert(
            model_id="scribe_v1", file=audio, webhook=True, enable_logging=False
        )
    gone_id = accepted.model_dump()["transcription_id"]
    # Purged: the job answers 404 and nothing of it is stored (the objects go
    # first, the row last; the wait covers both).
    deadline = time.monotonic() + 60
    stored = tuned_server.data_dir / "artifacts" / "jobs" / gone_id
    with tuned_server.client() as client:
        while (
            client.get(f"/v1/audio/transcriptions/{gone_id}").status_code != 404
            or stored.exists()
        ):
            assert time.monotonic() < deadline
            time.sleep(0.2)
    headers, raw = handler.received[-1]
    event = eleven.webhooks.construct_event(
        raw.decode(), headers["ElevenLabs-Signature"], secret
    )
    assert event["data"]["transcription_id"] == gone_id
    assert event["data"]["transcription"]["text"]
