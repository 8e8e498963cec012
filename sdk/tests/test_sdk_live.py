"""Both clients against a real server with the real tiny.en model: corpus speech
transcribed (WER asserted), exports, errors, and realtime from a WAV file."""

from __future__ import annotations

import asyncio
import functools
import json
import threading
from collections.abc import AsyncIterator, Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from conftest import DATA
from dalston_sdk import (
    AsyncDalston,
    AuthenticationError,
    Dalston,
    Final,
    NotFoundError,
    Partial,
    SessionBegin,
    SessionEnd,
    SpeechStart,
    Transcript,
    UnsupportedMediaError,
    ValidationError,
    read_audio,
)

from dalston.eval.scoring import wer
from tests.server import ServerProcess

pytestmark = pytest.mark.model

CLIPS = [DATA / "pv_ls_1272_128104_0000.wav", DATA / "wenet_ls_1995_1837_0001.wav"]
MAX_WER = 0.15


def reference(path: Path) -> str:
    return path.with_suffix(".txt").read_text().strip()


def test_sync_transcription_of_corpus_speech(sdk_server: ServerProcess) -> None:
    progress: list[int] = []
    with Dalston(sdk_server.url, api_key=sdk_server.admin_key) as client:
        jobs = [
            client.transcribe(
                clip,
                language="en",
                on_upload_progress=lambda sent, total: progress.append(sent),
            )
            for clip in CLIPS
        ]
    assert all(job.status == "completed" for job in jobs), [j.error for j in jobs]
    score = wer([reference(c) for c in CLIPS], [job.text or "" for job in jobs])
    assert score < MAX_WER, [job.text for job in jobs]
    assert all(job.words and job.segments for job in jobs)
    assert progress and progress[-1] == CLIPS[-1].stat().st_size


async def test_async_transcription_of_corpus_speech(sdk_server: ServerProcess) -> None:
    async with AsyncDalston(sdk_server.url, api_key=sdk_server.admin_key) as client:
        created = [
            await client.transcribe(clip, language="en", wait=False) for clip in CLIPS
        ]
        jobs = [await client.wait(job.id, timeout=180) for job in created]
        srt = await client.export(jobs[0].id, "srt")
    assert all(job.status == "completed" for job in jobs), [j.error for j in jobs]
    score = wer([reference(c) for c in CLIPS], [job.text or "" for job in jobs])
    assert score < MAX_WER, [job.text for job in jobs]
    assert "-->" in srt


def test_transcribe_from_a_url(sdk_server: ServerProcess) -> None:
    """``audio_url=``: the server fetches the file (private URLs are allowed in
    the test server)."""
    clip = CLIPS[0]
    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(clip.parent))
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{httpd.server_address[1]}/{clip.name}"
        with Dalston(sdk_server.url, api_key=sdk_server.admin_key) as client:
            job = client.transcribe(audio_url=url, language="en", name="from-url")
    finally:
        httpd.shutdown()
        httpd.server_close()
    assert job.status == "completed", job.error
    assert job.display_name == "from-url"
    assert wer([reference(clip)], [job.text or ""]) < MAX_WER


def test_exports_of_a_real_transcript(sdk_server: ServerProcess) -> None:
    clip = CLIPS[0]
    with Dalston(sdk_server.url, api_key=sdk_server.admin_key) as client:
        job = client.transcribe(clip, language="en")
        srt = client.export(job.id, "srt", max_line_length=30, max_lines=1)
        vtt = client.export(job.id, "vtt")
        txt = client.export(job.id, "txt")
        body = json.loads(client.export(job.id, "json"))
    assert srt.startswith("1\n") and "-->" in srt
    assert all(
        len(line) <= 30 for line in srt.splitlines() if line and "-->" not in line
    )
    assert vtt.startswith("WEBVTT")
    assert wer([reference(clip)], [txt]) < MAX_WER
    assert wer([reference(clip)], [body["text"]]) < MAX_WER and body["segments"]


def test_sync_pages(sdk_server: ServerProcess) -> None:
    with Dalston(sdk_server.url, api_key=sdk_server.admin_key) as client:
        for clip in CLIPS:
            client.transcribe(clip, language="en", wait=False)
        page = client.list_jobs(limit=1)
        every = list(client.iter_jobs(page_size=1))
    assert page.has_more and page.cursor and len(page.jobs) == 1
    assert len(every) >= 2 and len({j.id for j in every}) == len(every)
    assert every[0].id == page.jobs[0].id


def test_sync_errors(sdk_server: ServerProcess, tmp_path: Path) -> None:
    with Dalston(sdk_server.url, api_key="dk_wrong") as bad:
        with pytest.raises(AuthenticationError):
            bad.list_jobs()
    with Dalston(sdk_server.url, api_key=sdk_server.admin_key) as client:
        with pytest.raises(NotFoundError):
            client.get_job("00000000-0000-0000-0000-000000000000")
        with pytest.raises((UnsupportedMediaError, ValidationError)) as caught:
            client.transcribe(b"this is not audio" * 100, filename="x.wav")
        assert caught.value.status_code in (400, 415)
        with pytest.raises(ValidationError):
            client.transcribe(CLIPS[0], timestamps_granularity="sometimes")  # type: ignore[arg-type]


def test_realtime_from_a_wav_file(sdk_server: ServerProcess) -> None:
    clip = CLIPS[0]
    with Dalston(sdk_server.url, api_key=sdk_server.admin_key) as client:
        with client.realtime(language="en", word_timestamps=True) as session:
            events = list(session.stream_file(clip, realtime=True))
        record = client.get_session(session.session_id or "")
    kinds = [type(e) for e in events]
    assert kinds[0] is SessionBegin and kinds[-1] is SessionEnd
    assert SpeechStart in kinds and Partial in kinds
    finals = [e for e in events if isinstance(e, Final)]
    assert finals and all(f.words for f in finals)
    text = " ".join(f.text for f in finals)
    assert wer([reference(clip)], [text]) < MAX_WER, text
    assert wer([reference(clip)], [session.transcript]) < MAX_WER
    assert record.id == session.session_id


async def test_async_realtime_with_a_token_and_manual_commit(
    sdk_server: ServerProcess,
) -> None:
    clip = CLIPS[1]
    async with AsyncDalston(sdk_server.url, api_key=sdk_server.admin_key) as client:
        session = client.realtime(
            language="en", enable_vad=False, interim_results=False, use_token=True
        )
        assert "Authorization" not in session.headers
        async with session:
            audio, rate = read_audio(clip)
            assert rate == 16000
            step = 3200
            for i in range(0, len(audio), step):
                await session.send_audio(audio[i : i + step])
            await session.commit()
            await session.end()
            events = [event async for event in session]
        transcript = await _stored_transcript(client, session.session_id or "")
    finals = [e for e in events if isinstance(e, Final)]
    assert finals and not any(isinstance(e, Partial) for e in events)
    assert wer([reference(clip)], [" ".join(f.text for f in finals)]) < MAX_WER
    assert wer([reference(clip)], [transcript.text]) < MAX_WER


async def test_async_realtime_as_fast_as_allowed(sdk_server: ServerProcess) -> None:
    """``realtime=False``: the file goes as fast as the socket takes it; the
    session still ends with every final, and the record can be deleted."""
    clip = CLIPS[1]
    async with AsyncDalston(sdk_server.url, api_key=sdk_server.admin_key) as client:
        async with client.realtime(language="en") as session:
            events = [e async for e in session.stream_file(clip, realtime=False)]
        assert isinstance(events[-1], SessionEnd)
        text = " ".join(e.text for e in events if isinstance(e, Final))
        assert wer([reference(clip)], [text]) < MAX_WER, text
        session_id = session.session_id or ""
        page = await client.list_sessions(limit=100)
        assert session_id in {s.id for s in page.sessions}
        await client.delete_session(session_id)
        with pytest.raises(NotFoundError):
            await client.get_session(session_id)


async def test_stream_any_iterator_of_pcm(sdk_server: ServerProcess) -> None:
    """``stream(chunks)``: a generator (advanced off the event loop in the async
    session) and an async generator."""
    clip = CLIPS[0]
    audio, _ = read_audio(clip)

    def chunks() -> Iterator[bytes]:
        for i in range(0, len(audio), 3200):
            yield audio[i : i + 3200]

    async def achunks() -> AsyncIterator[bytes]:
        for chunk in chunks():
            yield chunk

    async with AsyncDalston(sdk_server.url, api_key=sdk_server.admin_key) as client:
        for source in (chunks(), achunks()):
            async with client.realtime(language="en") as session:
                events = [e async for e in session.stream(source)]
            assert isinstance(events[-1], SessionEnd)
            assert wer([reference(clip)], [session.transcript]) < MAX_WER
    with Dalston(sdk_server.url, api_key=sdk_server.admin_key) as sync_client:
        with sync_client.realtime(language="en") as sync_session:
            finals = [e for e in sync_session.stream(chunks()) if isinstance(e, Final)]
    assert finals == sync_session.finals
    assert wer([reference(clip)], [sync_session.transcript]) < MAX_WER


async def _stored_transcript(client: AsyncDalston, session_id: str) -> Transcript:
    """The session's stored transcript (written just after the session ends)."""
    for _ in range(50):
        try:
            return await client.session_transcript(session_id)
        except NotFoundError:
            await asyncio.sleep(0.1)
    return await client.session_transcript(session_id)


def test_realtime_refusals(sdk_server: ServerProcess) -> None:
    with Dalston(sdk_server.url, api_key="dk_wrong") as bad:
        with pytest.raises(AuthenticationError):
            with bad.realtime():
                pass
    with Dalston(sdk_server.url, api_key=sdk_server.admin_key) as client:
        with pytest.raises(ValidationError):
            with client.realtime(sample_rate=4000):
                pass
        with pytest.raises(ValueError, match="Hz"):
            with client.realtime(sample_rate=8000) as session:
                list(session.stream_file(CLIPS[0]))
