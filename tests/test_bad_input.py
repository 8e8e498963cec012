"""Bad input gets a clear 4xx in the native error shape, and leaves nothing behind."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.audio_fixtures import DATA, JFK
from tests.server import ServerProcess, wait_for_job

SMALL_LIMIT = 400_000


def _post(
    client: httpx.Client, files: dict | None = None, **data: str
) -> httpx.Response:
    return client.post("/v1/audio/transcriptions", files=files, data=data)


def _error(response: httpx.Response, status: int) -> dict[str, str]:
    assert response.status_code == status, response.text
    error: dict[str, str] = response.json()["error"]
    assert error["message"]
    return error


def _job_dirs(server: ServerProcess) -> set[str]:
    root = server.data_dir / "artifacts" / "jobs"
    return {p.name for p in root.iterdir()} if root.exists() else set()


@pytest.fixture(scope="module")
def strict_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """Small upload limit, private URLs refused (the production default)."""
    proc = ServerProcess(
        tmp_path_factory.mktemp("strict"),
        env={
            "DALSTON_MAX_UPLOAD_BYTES": str(SMALL_LIMIT),
            "DALSTON_ALLOW_PRIVATE_URLS": "false",
        },
    )
    proc.start()
    yield proc
    proc.stop()


def test_empty_file(client: httpx.Client) -> None:
    error = _error(_post(client, files={"file": ("empty.wav", b"")}), 400)
    assert "empty" in error["message"]


def test_non_audio_bytes(client: httpx.Client) -> None:
    junk = b"%PDF-1.4 this is not audio at all\n" * 200
    error = _error(_post(client, files={"file": ("doc.wav", junk)}), 415)
    assert error["code"] == "unsupported_media"


def test_truncated_audio(client: httpx.Client, tmp_path: Path) -> None:
    whole = (DATA / "wenet_ls_1995_1837_0001.wav").read_bytes()
    cut = whole[: len(whole) // 2]  # the header still promises the full length
    error = _error(_post(client, files={"file": ("cut.wav", cut)}), 400)
    assert "truncated" in error["message"]
    flac = JFK.read_bytes()
    error = _error(
        _post(client, files={"file": ("cut.flac", flac[: len(flac) // 3])}), 400
    )
    assert "truncated" in error["message"]


def test_unknown_model_and_unsupported_language(client: httpx.Client) -> None:
    audio = JFK.read_bytes()
    error = _error(
        _post(client, files={"file": ("a.flac", audio)}, model="nope-9"), 400
    )
    assert error["param"] == "model" and "nope-9" in error["message"]
    error = _error(
        _post(
            client,
            files={"file": ("a.flac", audio)},
            model="whisper-tiny.en",
            language="fr",
        ),
        400,
    )
    # The English-only model with French: the refusal names the model to use.
    assert error["param"] == "language" and "whisper-base" in error["message"]
    error = _error(
        _post(client, files={"file": ("a.flac", audio)}, timestamps_granularity="ms"),
        400,
    )
    assert error["param"] == "timestamps_granularity"


def test_neither_file_nor_url(client: httpx.Client) -> None:
    error = _error(_post(client, model="whisper-tiny.en"), 400)
    assert "file" in error["message"] and "audio_url" in error["message"]


def test_unknown_stage_option_is_refused_not_ignored(client: httpx.Client) -> None:
    response = _post(
        client,
        files={"file": ("a.flac", JFK.read_bytes())},
        speaker_detection="diarise",
    )
    error = _error(response, 400)
    assert error["param"] == "speaker_detection"


def test_bad_input_leaves_nothing_behind(
    client: httpx.Client, server: ServerProcess
) -> None:
    before = _job_dirs(server)
    _post(client, files={"file": ("x.wav", b"not audio" * 100)})
    _post(client, files={"file": ("a.flac", JFK.read_bytes())}, model="nope")
    assert _job_dirs(server) == before


def test_upload_over_limit_is_413(strict_server: ServerProcess) -> None:
    big = b"\0" * (SMALL_LIMIT + 200_000)
    with strict_server.client() as client:
        error = _error(_post(client, files={"file": ("big.wav", big)}), 413)
        assert error["code"] == "payload_too_large"

        # Without Content-Length (chunked), the limit holds as the bytes arrive.
        def chunks() -> Iterator[bytes]:
            boundary = b"--xyz\r\n"
            yield boundary + b'Content-Disposition: form-data; name="file"; '
            yield b'filename="big.wav"\r\nContent-Type: audio/wav\r\n\r\n'
            for _ in range(20):
                yield b"\0" * 50_000
            yield b"\r\n--xyz--\r\n"

        response = client.post(
            "/v1/audio/transcriptions",
            content=chunks(),
            headers={"Content-Type": "multipart/form-data; boundary=xyz"},
        )
        _error(response, 413)
        # A file under the limit still works.
        small = (DATA / "deepspeech_ldc93s1_8k.wav").read_bytes()
        assert _post(client, files={"file": ("s.wav", small)}).status_code == 201


class _AudioHandler(http.server.SimpleHTTPRequestHandler):
    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, directory=str(DATA), **kwargs)  # type: ignore[arg-type]

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def audio_host() -> Iterator[str]:
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _AudioHandler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def test_audio_url_is_fetched(client: httpx.Client, audio_host: str) -> None:
    response = _post(client, audio_url=f"{audio_host}/whisper_jfk.flac")
    assert response.status_code == 201, response.text
    job = wait_for_job(client, response.json()["id"])
    assert job["status"] == "completed"
    assert "country" in job["text"]
    error = _error(_post(client, audio_url=f"{audio_host}/missing.flac"), 400)
    assert "404" in error["message"]


def test_private_url_is_refused_by_default(
    strict_server: ServerProcess, audio_host: str
) -> None:
    with strict_server.client() as client:
        error = _error(_post(client, audio_url=f"{audio_host}/whisper_jfk.flac"), 400)
        assert "private" in error["message"]
        error = _error(_post(client, audio_url="file:///etc/passwd"), 400)
        assert error["param"] == "audio_url"
