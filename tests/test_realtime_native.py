"""Native realtime WebSocket on real speech, streamed at real-time pace.

Refusals and protocol errors are checked in process:
``tests/inproc/test_realtime_protocol.py``.
"""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import websockets

from dalston.eval.scoring import wer
from tests.audio_fixtures import DATA, JFK
from tests.realtime_client import mulaw8k, of_type, pcm16, stream
from tests.server import ServerProcess

LIBRI = DATA / "mfa_ls_61_70968_0000.flac"


def _ref(path: Path) -> str:
    return path.with_suffix(".txt").read_text()


def _ws(server: ServerProcess, query: str = "") -> str:
    return f"ws://127.0.0.1:{server.port}/v1/audio/transcriptions/stream?{query}"


def _auth(server: ServerProcess) -> dict[str, str]:
    return {"Authorization": f"Bearer {server.admin_key}"}


def test_vad_stream_gives_partials_and_finals(server: ServerProcess) -> None:
    audio = pcm16(JFK) + pcm16(LIBRI)
    result = asyncio.run(
        stream(
            _ws(server, "language=en&word_timestamps=true"),
            audio,
            headers=_auth(server),
        )
    )
    kinds = [m["type"] for _, m in result["messages"]]
    assert kinds[0] == "session.begin" and kinds[-1] == "session.end"
    assert result["close_code"] == 1000
    finals = of_type(result, "transcript.final")
    said = " ".join(f["text"] for f in finals)
    assert wer([_ref(JFK) + " " + _ref(LIBRI)], [said]) <= 0.15, said
    assert of_type(result, "transcript.partial"), "no partial while speech went on"
    assert of_type(result, "vad.speech_start") and of_type(result, "vad.speech_end")
    # Word times are relative to the session start and increase.
    starts = [w["start"] for f in finals for w in f["words"]]
    assert starts == sorted(starts) and starts[-1] > 11.0
    end = of_type(result, "session.end")[0]
    assert end["total_audio_seconds"] == pytest.approx(len(audio) / 32000, abs=0.05)
    assert end["transcript"] == said


def test_manual_commit_and_mulaw_8k(server: ServerProcess) -> None:
    query = "language=en&enable_vad=false&encoding=mulaw&sample_rate=8000"
    result = asyncio.run(
        stream(
            _ws(server, query),
            mulaw8k(LIBRI),
            bytes_per_second=8000,
            commit_at_end=True,
            headers=_auth(server),
        )
    )
    finals = of_type(result, "transcript.final")
    assert len(finals) == 1, finals  # nothing committed before the manual commit
    assert wer([_ref(LIBRI)], [finals[0]["text"]]) <= 0.15, finals


def test_session_is_recorded_with_audio(server: ServerProcess) -> None:
    result = asyncio.run(
        stream(
            _ws(server, "store_audio=true&interim_results=false"),
            pcm16(LIBRI),
            headers=_auth(server),
        )
    )
    session_id = of_type(result, "session.begin")[0]["session_id"]
    assert not of_type(result, "transcript.partial")
    with server.client() as client:
        record = client.get(f"/v1/realtime/sessions/{session_id}").json()
        assert record["status"] == "completed" and record["has_audio"]
        assert record["protocol"] == "native"
        listed = client.get("/v1/realtime/sessions").json()["sessions"]
        assert session_id in {s["id"] for s in listed}
        transcript = client.get(f"/v1/realtime/sessions/{session_id}/transcript").json()
        assert wer([_ref(LIBRI)], [transcript["text"]]) <= 0.15
        audio = client.get(f"/v1/realtime/sessions/{session_id}/audio")
        assert audio.content[:4] == b"RIFF"
        assert client.delete(f"/v1/realtime/sessions/{session_id}").status_code == 204
        assert client.get(f"/v1/realtime/sessions/{session_id}").status_code == 404


async def _first_messages(
    url: str, headers: dict[str, str], send: list[object]
) -> tuple[list[dict], int | None]:
    received: list[dict] = []
    async with websockets.connect(url, additional_headers=headers) as ws:
        for item in send:
            await ws.send(item)  # type: ignore[arg-type]
        try:
            async for raw in ws:
                received.append(json.loads(raw))
                if len(received) >= 1 + len(send):
                    break
        except websockets.ConnectionClosed:
            pass
        if not send:
            await asyncio.wait_for(ws.wait_closed(), 10)
        return received, ws.close_code


def test_token_and_scope(server: ServerProcess) -> None:
    with server.client() as client:
        token = client.post("/auth/tokens", json={"scopes": ["realtime"]}).json()[
            "token"
        ]
    result = asyncio.run(stream(_ws(server, f"token={token}"), pcm16(LIBRI)))
    assert of_type(result, "transcript.final")
    _, code = asyncio.run(_first_messages(_ws(server, f"token={token}"), {}, []))
    assert code == 4001  # single use


@pytest.fixture(scope="module")
def one_slot_server(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[ServerProcess]:
    proc = ServerProcess(
        tmp_path_factory.mktemp("one-slot"), env={"DALSTON_REALTIME_CAPACITY": "1"}
    )
    proc.start()
    yield proc
    proc.stop()


def _status(server: ServerProcess) -> dict[str, int]:
    with server.client() as client:
        body: dict[str, int] = client.get("/v1/realtime/status").json()
        return body


def test_full_router_refuses_and_vanished_client_frees_slot(
    one_slot_server: ServerProcess,
) -> None:
    server = one_slot_server
    url = _ws(server)

    async def scenario() -> None:
        first = await websockets.connect(url, additional_headers=_auth(server))
        begin = json.loads(await first.recv())
        assert begin["type"] == "session.begin"
        assert _status(server)["available"] == 0
        msgs, code = await _first_messages(url, _auth(server), [])
        assert code == 4503 and msgs[0]["code"] == "no_capacity"
        # The client vanishes without a close handshake.
        first.transport.abort()  # type: ignore[attr-defined]

    asyncio.run(scenario())
    for _ in range(100):
        if _status(server)["available"] == 1:
            break
        asyncio.run(asyncio.sleep(0.1))
    assert _status(server)["available"] == 1
    result = asyncio.run(stream(url, pcm16(LIBRI), headers=_auth(server)))
    assert of_type(result, "transcript.final")
    with httpx.Client(base_url=server.url, headers=_auth(server)) as client:
        sessions = client.get("/v1/realtime/sessions").json()["sessions"]
    assert "disconnected" in {s["status"] for s in sessions}


def test_port_is_free_of_leaks() -> None:
    # Guard for the helper above: a raw socket to an unused port is refused.
    with socket.socket() as sock:
        assert sock.connect_ex(("127.0.0.1", 9)) != 0
