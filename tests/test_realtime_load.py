"""Four sessions at once on one worker, each streaming corpus speech at real-time
pace: every utterance gets a final, and the finals' WER is within 5 points of
raw faster-whisper's on the same clips (decoded whole, in this process). Again
with the sessions' partials batched together (``DALSTON_REALTIME_BATCH_SIZE``,
off by default on CPU), four sessions of one recording in step on one decode
thread, so that their partials queue together."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
import websockets

from dalston.audio.decode import decode_to_mono
from dalston.catalog.packaged import tiny_en_path
from dalston.eval.scoring import wer
from tests.audio_fixtures import DATA
from tests.server import ServerProcess

CLIPS = [
    DATA / "mfa_cold_corpus.wav",
    DATA / "lhotse_ls_2412_153948_0000.flac",
    DATA / "whisper_jfk.flac",
    DATA / "wenet_ls_1995_1837_0001.mp3",
]


def _samples(path: Path) -> np.ndarray:
    samples, _ = decode_to_mono(path, 16000)
    return samples


async def _stream(
    server: ServerProcess, samples: np.ndarray, chunk_s: float, start_at: float
) -> list[dict[str, Any]]:
    """Streams ``samples`` at real-time pace, ``chunk_s`` of audio at a time, the
    first chunk at ``start_at`` (the event loop's clock)."""
    pcm = (np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes()
    ws = await websockets.connect(
        f"ws://127.0.0.1:{server.port}/v1/audio/transcriptions/stream?language=en",
        additional_headers={"Authorization": f"Bearer {server.admin_key}"},
        max_size=None,
    )
    events: list[dict[str, Any]] = []

    async def read() -> None:
        async for raw in ws:
            events.append(json.loads(raw))

    reader = asyncio.create_task(read())
    step = int(chunk_s * 16000) * 2
    loop = asyncio.get_running_loop()
    await asyncio.sleep(max(start_at - loop.time(), 0))
    for n, i in enumerate(range(0, len(pcm), step)):
        await ws.send(pcm[i : i + step])
        ahead = start_at + (n + 1) * chunk_s - loop.time()
        if ahead > 0:
            await asyncio.sleep(ahead)
    await ws.send(json.dumps({"type": "end"}))
    await asyncio.wait_for(reader, 120)
    return events


@pytest.fixture(scope="module")
def batching_server(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[ServerProcess]:
    proc = ServerProcess(
        tmp_path_factory.mktemp("batching-server"),
        env={"DALSTON_REALTIME_BATCH_SIZE": "4", "DALSTON_REALTIME_THREADS": "1"},
    )
    proc.start()
    yield proc
    proc.stop()


def test_four_sessions_at_real_time_pace(server: ServerProcess) -> None:
    _sessions(server, CLIPS, chunk_s=0.1)


def test_four_sessions_with_partials_batched(batching_server: ServerProcess) -> None:
    # Four listeners to one recording, in step: their partials fall due
    # together, one takes the decode thread and the others wait for it side by
    # side. (Four different recordings' partials wait together only by chance,
    # which a fast machine or a speculative final holding the thread can make
    # rare: one CI run had none.)
    sessions = _sessions(batching_server, [CLIPS[1]] * 4, chunk_s=0.1)
    # Partials are best effort: one that finds the decode thread busy is skipped
    # and the session's cadence backs off. On a 2-core AVX2-only EPYC one of the
    # four sessions had none in a whole clip (fresh-clone CI, twice), so the
    # test asks for partials in two of them: a batch needs at least two.
    with_partials = sum(
        any(e["type"] == "transcript.partial" for e in events) for events in sessions
    )
    assert with_partials >= 2, with_partials
    metrics = httpx.get(f"http://127.0.0.1:{batching_server.port}/metrics").text
    counts = {
        line.split('le="')[1].split('"')[0]: float(line.rsplit(" ", 1)[1])
        for line in metrics.splitlines()
        if line.startswith("dalston_realtime_decode_batch_size_bucket")
    }
    # Decodes that served more than one session's partial happened.
    assert counts["+Inf"] > counts["1.0"], counts


def _sessions(
    server: ServerProcess, clips: list[Path], *, chunk_s: float
) -> list[list[dict[str, Any]]]:
    audio = [_samples(c) for c in clips]
    references = [c.with_suffix(".txt").read_text() for c in clips]

    async def all_four() -> list[list[dict[str, Any]]]:
        # Time to connect them all before the first chunk: their sends line up.
        start_at = asyncio.get_running_loop().time() + 1.0
        return await asyncio.gather(
            *(_stream(server, a, chunk_s, start_at) for a in audio)
        )

    sessions = asyncio.run(all_four())
    hypotheses = []
    for clip, events in zip(clips, sessions, strict=True):
        kinds = [e["type"] for e in events]
        assert "error" not in kinds, (
            clip.name,
            [e for e in events if e["type"] == "error"],
        )
        assert kinds[-1] == "session.end", (clip.name, kinds[-5:])
        finals = [e for e in events if e["type"] == "transcript.final"]
        # Every utterance the VAD closed got its final (the last one may be
        # closed by the end of the stream instead).
        assert finals, (clip.name, kinds)
        assert len(finals) >= kinds.count("vad.speech_end"), (clip.name, kinds)
        hypotheses.append(" ".join(f["text"] for f in finals))

    from faster_whisper import WhisperModel

    model = WhisperModel(str(tiny_en_path()), device="cpu", compute_type="int8")
    raw = []
    for samples in audio:
        segments, _ = model.transcribe(samples, language="en", vad_filter=True)
        raw.append(" ".join(s.text.strip() for s in segments))
    live_wer, raw_wer = wer(references, hypotheses), wer(references, raw)
    assert live_wer <= raw_wer + 0.05, (live_wer, raw_wer, hypotheses, raw)
    return sessions
