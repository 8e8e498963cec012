"""Bad input gets a clear 4xx in the native error shape, and leaves nothing behind."""

from __future__ import annotations

import http.server
import json
import os
import threading
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import openai
import pytest

from dalston.services.request import TranscriptionRequest
from tests.audio_fixtures import DATA, JFK
from tests.inproc.conftest import InProcess, fast_settings, running

SMALL_LIMIT = 400_000


async def _post(
    client: httpx.AsyncClient, files: dict[str, Any] | None = None, **data: str
) -> httpx.Response:
    return await client.post("/v1/audio/transcriptions", files=files, data=data)


def _error(response: httpx.Response, status: int) -> dict[str, str]:
    assert response.status_code == status, response.text
    error: dict[str, str] = response.json()["error"]
    assert error["message"]
    return error


def _job_dirs(inproc: InProcess) -> set[str]:
    root = inproc.runtime.settings.artifacts_dir / "jobs"
    return {p.name for p in root.iterdir()} if root.exists() else set()


@pytest.fixture(scope="module")
async def strict(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[InProcess]:
    """Small upload limit, private URLs refused (the production default)."""
    settings = fast_settings(
        tmp_path_factory.mktemp("strict"),
        max_upload_bytes=SMALL_LIMIT,
        allow_private_urls=False,
    )
    async for state in running(settings):
        yield state


async def test_empty_file(inproc: InProcess) -> None:
    error = _error(await _post(inproc.client, files={"file": ("empty.wav", b"")}), 400)
    assert "empty" in error["message"]


async def test_non_audio_bytes(inproc: InProcess) -> None:
    junk = b"%PDF-1.4 this is not audio at all\n" * 200
    error = _error(await _post(inproc.client, files={"file": ("doc.wav", junk)}), 415)
    assert error["code"] == "unsupported_media"


async def test_truncated_wav_is_refused_from_its_header(inproc: InProcess) -> None:
    whole = (DATA / "wenet_ls_1995_1837_0001.wav").read_bytes()
    cut = whole[: len(whole) // 2]  # the header still promises the full length
    before = _job_dirs(inproc)
    error = _error(await _post(inproc.client, files={"file": ("cut.wav", cut)}), 400)
    assert "truncated" in error["message"]
    assert _job_dirs(inproc) == before


async def test_truncated_flac_fails_its_job(inproc: InProcess) -> None:
    """Only the whole stream shows that a FLAC ends early: submit reads the header
    and answers 201, the prepare stage fails the job with the reason."""
    flac = JFK.read_bytes()
    response = await _post(
        inproc.client, files={"file": ("cut.flac", flac[: len(flac) // 3])}
    )
    assert response.status_code == 201, response.text
    job = await inproc.wait(response.json()["id"])
    assert job["status"] == "failed", job
    assert "truncated" in job["error"] and "11.00 s" in job["error"], job
    prepare = job["stages"][0]
    assert prepare["stage"] == "prepare" and "truncated" in prepare["error"]
    assert prepare["retries"] == 0  # the input's fault: not tried again


async def test_truncated_flac_is_a_client_error_in_the_sync_dialects(
    inproc: InProcess,
) -> None:
    """OpenAI and ElevenLabs wait for the job: its input failing prepare is a 400
    in their shape (as at submit), not a 500."""
    flac = JFK.read_bytes()
    cut = ("cut.flac", flac[: len(flac) // 3])
    with pytest.raises(openai.BadRequestError) as caught:
        await inproc.openai().audio.transcriptions.create(model="whisper-1", file=cut)
    assert caught.value.param == "file"
    assert "truncated" in caught.value.message
    response = await inproc.client.post(
        "/v1/speech-to-text", data={"model_id": "scribe_v1"}, files={"file": cut}
    )
    assert response.status_code == 400, response.text
    detail = response.json()["detail"]
    assert set(detail) == {"status", "message"} and "truncated" in detail["message"]
    # Streamed (SSE): the answer started before the job failed, so the refusal
    # comes as the stream's error event, with the same status and words.
    response = await inproc.client.post(
        "/v1/audio/transcriptions",
        data={"model": "whisper-1", "stream": "true"},
        files={"file": cut},
    )
    assert response.status_code == 200, response.text
    events = [
        json.loads(line.removeprefix("data: "))
        for line in response.text.splitlines()
        if line.startswith("data: ")
    ]
    assert len(events) == 1, events
    error = events[0]["error"]
    assert error["type"] == "invalid_request_error" and "truncated" in error["message"]


async def test_unknown_model_and_unsupported_language(inproc: InProcess) -> None:
    files = {"file": ("a.flac", JFK.read_bytes())}
    error = _error(await _post(inproc.client, files=files, model="nope-9"), 400)
    assert error["param"] == "model" and "nope-9" in error["message"]
    response = await _post(
        inproc.client, files=files, model="whisper-tiny.en", language="fr"
    )
    error = _error(response, 400)
    # The English-only model with French: the refusal names the model to use.
    assert error["param"] == "language" and "whisper-base" in error["message"]
    response = await _post(inproc.client, files=files, timestamps_granularity="ms")
    assert _error(response, 400)["param"] == "timestamps_granularity"


async def test_a_language_whisper_does_not_know_is_refused_in_every_dialect(
    inproc: InProcess,
) -> None:
    """'xx' has the shape of a code but names no language the model knows: each
    door refuses it before a job exists (it used to pass, and the job failed in
    the transcribe stage: a 500 through the OpenAI door); the codes Whisper knows
    under another name are taken."""
    before = _job_dirs(inproc)
    flac = JFK.read_bytes()
    error = _error(
        await _post(inproc.client, files={"file": ("a.flac", flac)}, language="xx"),
        400,
    )
    assert error["param"] == "language" and "'xx'" in error["message"]
    with pytest.raises(openai.BadRequestError) as caught:
        await inproc.openai().audio.transcriptions.create(
            model="whisper-1", file=("a.flac", flac), language="xx"
        )
    assert caught.value.param == "language"
    response = await inproc.client.post(
        "/v1/speech-to-text",
        data={"model_id": "scribe_v1", "language_code": "xx"},
        files={"file": ("a.flac", flac)},
    )
    assert response.status_code in (400, 422), response.text
    assert "language_code" in response.text
    assert _job_dirs(inproc) == before
    # ISO 639-3, a region, an old code: languages Whisper knows by another name.
    for given, known in (("eng", "en"), ("en_US", "en"), ("jv", "jw"), ("iw", "he")):
        assert TranscriptionRequest.model_validate({"language": given}).language == (
            known
        )
        response = await _post(
            inproc.client,
            files={"file": ("a.flac", flac)},
            language=given,
            model="whisper-base",
        )
        assert response.status_code == 201, (given, response.text)


async def test_nan_and_infinity_are_not_numbers(inproc: InProcess) -> None:
    """'nan' and 'inf' parse as floats and pass any bound check; a whole number
    from 'inf' overflowed (a 500)."""
    files = {"file": ("a.flac", JFK.read_bytes())}
    for field, value, extra in (
        ("num_speakers", "inf", {"speaker_detection": "diarize"}),
        ("max_speakers", "-inf", {"speaker_detection": "diarize"}),
        ("temperature", "nan", {"model": "whisper-1"}),
        ("temperature", "Infinity", {"model": "whisper-1"}),
    ):
        response = await _post(inproc.client, files=files, **{field: value, **extra})
        error = _error(response, 400)
        assert error["param"] == field and "must be a number" in error["message"]


async def test_a_wav_with_no_samples_is_refused_at_submit_in_every_dialect(
    inproc: InProcess,
) -> None:
    """A WAV header and nothing after it (a recorder stopped at once): every door
    refuses it from the header, the native one too (it used to answer 201 and
    fail the job in prepare), as a media error in the dialect's shape."""
    header = (DATA / "wenet_ls_1995_1837_0001.wav").read_bytes()[:44]
    assert header[36:40] == b"data"
    for size in (0, 0xFFFFFFFF):  # empty, or "length unknown" (streamed)
        empty = header[:40] + size.to_bytes(4, "little")
        before = _job_dirs(inproc)
        files = {"file": ("empty.wav", empty)}
        error = _error(await _post(inproc.client, files=files), 415)
        assert (
            error["code"] == "unsupported_media" and "no decodable" in error["message"]
        )
        with pytest.raises(openai.BadRequestError) as caught:
            await inproc.openai().audio.transcriptions.create(
                model="whisper-1", file=("empty.wav", empty)
            )
        assert "no decodable" in caught.value.message
        response = await inproc.client.post(
            "/v1/speech-to-text", data={"model_id": "scribe_v1"}, files=files
        )
        assert response.status_code == 415, response.text
        assert "no decodable" in response.json()["detail"]["message"]
        assert _job_dirs(inproc) == before


def _multipart_without_filename(fields: dict[str, bytes]) -> tuple[bytes, str]:
    """A multipart body whose parts carry no filename (curl ``-F file=<a.wav``)."""
    boundary = "dalston-test-boundary"
    disposition = 'Content-Disposition: form-data; name="{}"'
    body = b"".join(
        f"--{boundary}\r\n{disposition.format(name)}\r\n\r\n".encode() + value + b"\r\n"
        for name, value in fields.items()
    )
    return body + f"--{boundary}--\r\n".encode(), boundary


async def test_audio_sent_without_a_filename_is_explained_in_every_door(
    inproc: InProcess,
) -> None:
    """Audio in a part without a filename is a text field to the form parser: a
    short one was refused as "must be a file upload", one over 1 MB with the
    parser's "Part exceeded maximum size of 1024KB.". Both now say to send a
    filename, in the dialect's shape."""
    audio = (DATA / "wenet_ls_1995_1837_0001.wav").read_bytes()
    big = audio * (1_100_000 // len(audio) + 1)
    doors = {
        "/v1/audio/transcriptions": {},
        "/v1/speech-to-text": {"model_id": b"scribe_v1"},
        "/v1/audio/translations": {"model": b"whisper-1"},
    }
    for path, extra in doors.items():
        for payload in (audio, big):
            body, boundary = _multipart_without_filename({**extra, "file": payload})
            response = await inproc.client.post(
                path,
                content=body,
                headers={"content-type": f"multipart/form-data; boundary={boundary}"},
            )
            # ElevenLabs answers its field errors as FastAPI's 422 list.
            allowed = {400, 422} if path == "/v1/speech-to-text" else {400}
            assert response.status_code in allowed, (path, response.text)
            error = response.json().get("error") or response.json()["detail"]
            if isinstance(error, list):
                error = {"message": error[0]["msg"], "param": error[0]["loc"][-1]}
            assert "filename" in error["message"], (path, error)
            if payload is audio:  # parsed as a field: the field is named
                assert error["param"] == "file", (path, error)


async def test_neither_file_nor_url(inproc: InProcess) -> None:
    error = _error(await _post(inproc.client, model="whisper-tiny.en"), 400)
    assert "file" in error["message"] and "audio_url" in error["message"]


async def test_unknown_stage_option_is_refused_not_ignored(inproc: InProcess) -> None:
    response = await _post(
        inproc.client,
        files={"file": ("a.flac", JFK.read_bytes())},
        speaker_detection="diarise",
    )
    assert _error(response, 400)["param"] == "speaker_detection"


async def test_bad_input_leaves_nothing_behind(inproc: InProcess) -> None:
    before = _job_dirs(inproc)
    await _post(inproc.client, files={"file": ("x.wav", b"not audio" * 100)})
    await _post(inproc.client, files={"file": ("a.flac", JFK.read_bytes())}, model="no")
    assert _job_dirs(inproc) == before


async def test_upload_over_limit_is_413(strict: InProcess) -> None:
    big = b"\0" * (SMALL_LIMIT + 200_000)
    error = _error(await _post(strict.client, files={"file": ("big.wav", big)}), 413)
    assert error["code"] == "payload_too_large"

    # Without Content-Length (chunked), the limit holds as the bytes arrive.
    async def chunks() -> AsyncIterator[bytes]:
        yield b'--xyz\r\nContent-Disposition: form-data; name="file"; '
        yield b'filename="big.wav"\r\nContent-Type: audio/wav\r\n\r\n'
        for _ in range(20):
            yield b"\0" * 50_000
        yield b"\r\n--xyz--\r\n"

    response = await strict.client.post(
        "/v1/audio/transcriptions",
        content=chunks(),
        headers={"Content-Type": "multipart/form-data; boundary=xyz"},
    )
    _error(response, 413)
    # A file under the limit still works.
    small = (DATA / "deepspeech_ldc93s1_8k.wav").read_bytes()
    response = await _post(
        strict.client, files={"file": ("s.wav", small)}, language="en"
    )
    assert response.status_code == 201, response.text


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
    httpd.server_close()


async def test_audio_url_is_fetched(inproc: InProcess, audio_host: str) -> None:
    url = f"{audio_host}/whisper_jfk.flac"
    response = await _post(inproc.client, audio_url=url, language="en")
    assert response.status_code == 201, response.text
    job = await inproc.wait(response.json()["id"])
    assert job["status"] == "completed"
    # The fetched clip (11 s of JFK) reached the engines.
    assert job["audio_duration_seconds"] == pytest.approx(11.0, abs=0.1), job
    error = _error(await _post(inproc.client, audio_url=f"{audio_host}/x.flac"), 400)
    assert "404" in error["message"]


async def test_private_url_is_refused_by_default(
    strict: InProcess, audio_host: str
) -> None:
    url = f"{audio_host}/whisper_jfk.flac"
    error = _error(await _post(strict.client, audio_url=url), 400)
    assert "not a public address" in error["message"]
    assert "127.0.0.1" not in error["message"]
    error = _error(await _post(strict.client, audio_url="file:///etc/passwd"), 400)
    assert error["param"] == "audio_url"


async def test_a_url_that_does_not_parse_is_refused_in_every_door(
    inproc: InProcess,
) -> None:
    """An unclosed IPv6 bracket made ``urlsplit`` raise: a 500 in each door."""
    for url in ("http://[::1", "http://[x]/a.wav"):
        error = _error(await _post(inproc.client, audio_url=url), 400)
        assert error["param"] == "audio_url" and "not valid" in error["message"]
        error = _error(
            await _post(
                inproc.client,
                files={"file": ("a.flac", JFK.read_bytes())},
                webhook_url=url,
            ),
            400,
        )
        assert error["param"] == "webhook_url", error
        endpoint = await inproc.client.post(
            "/v1/webhooks", json={"url": url, "events": ["*"]}
        )
        assert _error(endpoint, 400)["param"] == "url"
        eleven = await inproc.client.post(
            "/v1/speech-to-text",
            data={"model_id": "scribe_v1", "cloud_storage_url": url},
        )
        assert eleven.status_code == 400, eleven.text
        assert "not valid" in eleven.json()["detail"]["message"]


@pytest.mark.skipif(
    not os.path.exists("/dev/full"), reason="/dev/full is a Linux device"
)
async def test_a_full_disk_is_507_in_every_door_and_keeps_nothing(
    inproc: InProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The upload's copy into storage fails with the kernel's ENOSPC (written to
    /dev/full): it was a 500 "Internal server error." and left the job's folder
    behind. Now a 507 in the dialect's shape, with Retry-After, and no trace."""
    storage = inproc.runtime.storage

    def full_disk(key: str, source: Any) -> int:
        storage._path(key).parent.mkdir(parents=True, exist_ok=True)  # type: ignore[attr-defined]
        with open("/dev/full", "wb", buffering=0) as out:
            return out.write(source.read())

    monkeypatch.setattr(storage, "_write_atomic", full_disk)
    before = _job_dirs(inproc)
    audio = JFK.read_bytes()
    native = await _post(inproc.client, files={"file": ("a.flac", audio)})
    error = _error(native, 507)
    assert error["code"] == "insufficient_storage" and "space" in error["message"]
    assert native.headers["retry-after"]
    with pytest.raises(openai.InternalServerError) as caught:
        await inproc.openai().audio.transcriptions.create(
            model="whisper-1", file=("a.flac", audio)
        )
    assert caught.value.status_code == 507
    eleven = await inproc.client.post(
        "/v1/speech-to-text",
        data={"model_id": "scribe_v1"},
        files={"file": ("a.flac", audio)},
    )
    assert eleven.status_code == 507, eleven.text
    assert eleven.json()["detail"]["status"] == "insufficient_storage"
    assert _job_dirs(inproc) == before
    monkeypatch.undo()
    assert (await _post(inproc.client, files={"file": ("a.flac", audio)})).is_success


def test_what_counts_as_a_full_disk() -> None:
    import errno
    import sqlite3

    from sqlalchemy.exc import OperationalError

    from dalston.errors import storage_full

    assert storage_full(OSError(errno.ENOSPC, "No space left on device"))
    assert storage_full(OSError(errno.EDQUOT, "Disk quota exceeded"))
    full = sqlite3.OperationalError("database or disk is full")
    assert storage_full(OperationalError("INSERT ...", {}, full))

    class DiskFull(Exception):  # asyncpg's DiskFullError carries its SQLSTATE
        sqlstate = "53100"

    assert storage_full(OperationalError("INSERT ...", {}, DiskFull()))
    try:
        try:
            raise OSError(errno.ENOSPC, "No space left on device")
        except OSError as cause:
            raise RuntimeError("copy failed") from cause
    except RuntimeError as wrapped:
        assert storage_full(wrapped)
    assert not storage_full(OSError(errno.EACCES, "Permission denied"))
    assert not storage_full(ValueError("no"))
