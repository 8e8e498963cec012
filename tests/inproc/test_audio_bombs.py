"""Audio that lies about itself: refused from its header before any work, decoding
that stops at the limit, and memory that does not follow the declared length.

Each file is made here, small: a WAV whose header says 1 Hz (16,000 samples that
would resample to 4.4 hours), a FLAC holding 3 hours of digital silence in under
2 MB, MP3 and AAC streams cut in the middle of a frame (no Xing header or container
length to betray them).
"""

from __future__ import annotations

import subprocess
import sys
import wave
from pathlib import Path

import av
import httpx
import numpy as np
import pytest
from openai import BadRequestError

from dalston.audio import AudioLimits, decode_to_wav16k, probe
from dalston.errors import PayloadTooLarge
from tests.audio_fixtures import DATA
from tests.inproc.conftest import InProcess

SPEECH = DATA / "pv_es.wav"  # 8.7 s


def _wav(path: Path, rate: int, samples: int) -> Path:
    noise = np.random.default_rng(0).standard_normal(samples) * 3000
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(noise.astype("<i2").tobytes())
    return path


def _silent_flac(path: Path, seconds: float, rate: int = 44_100) -> Path:
    """Digital silence, stereo: FLAC stores each frame as a constant (a few bytes)."""
    with av.open(str(path), "w", format="flac") as out:
        stream = out.add_stream("flac", rate=rate, layout="stereo")
        size = 4096
        zeros = np.zeros((1, 2 * size), dtype=np.int16)
        for index in range(int(seconds * rate / size)):
            frame = av.AudioFrame.from_ndarray(zeros, format="s16", layout="stereo")
            frame.sample_rate = rate
            frame.pts = index * size
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return path


def _encode(path: Path, fmt: str, codec: str, **options: str) -> Path:
    """``SPEECH`` re-encoded; an MP3 without the Xing header that states its length."""
    with (
        av.open(str(SPEECH)) as src,
        av.open(str(path), "w", format=fmt, options=options) as out,
    ):
        stream = out.add_stream(codec, rate=16_000)
        for frame in src.decode(audio=0):
            frame.pts = None
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return path


def _cut(path: Path, fraction: float) -> bytes:
    data = path.read_bytes()
    return data[: int(len(data) * fraction)]


@pytest.fixture(scope="module")
def bombs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("bombs")
    return {
        "one_hz": _wav(folder / "one_hz.wav", rate=1, samples=16_000),
        "silent_3h": _silent_flac(folder / "silent.flac", seconds=3 * 3600),
        "mp3": _encode(folder / "speech.mp3", "mp3", "libmp3lame", write_xing="0"),
        "aac": _encode(folder / "speech.aac", "adts", "aac"),
    }


def _job_dirs(inproc: InProcess) -> set[str]:
    root = inproc.runtime.settings.artifacts_dir / "jobs"
    return {p.name for p in root.iterdir()} if root.exists() else set()


def _native_error(response: httpx.Response, status: int) -> dict[str, str]:
    assert response.status_code == status, response.text
    error: dict[str, str] = response.json()["error"]
    assert error["param"] == "file" and error["message"]
    return error


async def _submit(inproc: InProcess, name: str, body: bytes) -> httpx.Response:
    return await inproc.client.post(
        "/v1/audio/transcriptions/jobs", files={"file": (name, body)}
    )


def _status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field):
            return int(line.split()[1])
    raise AssertionError(f"{field} not in /proc/self/status")


def _restart_peak() -> None:
    """Reset this process's peak resident size (VmHWM) to its current one."""
    Path("/proc/self/clear_refs").write_text("5")


async def test_header_bombs_refused_before_any_work(
    inproc: InProcess, bombs: dict[str, Path]
) -> None:
    """Refused with memory flat: the server (this process) grows by no more
    than the uploads themselves (before: +5 GB for the WAV, +2.85 GB the FLAC)."""
    before = _job_dirs(inproc)
    resident = _status_kib("VmRSS:")
    _restart_peak()
    response = await _submit(inproc, "a.wav", bombs["one_hz"].read_bytes())
    error = _native_error(response, 415)
    assert "1 Hz" in error["message"] and "8000" in error["message"]

    flac = bombs["silent_3h"].read_bytes()
    assert len(flac) < 2_500_000
    error = _native_error(await _submit(inproc, "s.flac", flac), 413)
    assert "3 h 00 min" in error["message"]
    assert "DALSTON_MAX_AUDIO_DURATION_S" in error["message"]
    assert _job_dirs(inproc) == before  # nothing stored
    grown_mib = (_status_kib("VmHWM:") - resident) / 1024
    assert grown_mib < 64, grown_mib


async def test_bombs_in_the_other_dialects(
    inproc: InProcess, bombs: dict[str, Path]
) -> None:
    client = inproc.openai()
    with pytest.raises(BadRequestError) as caught:  # OpenAI says 400 for bad media
        await client.audio.transcriptions.create(
            model="whisper-1", file=("a.wav", bombs["one_hz"].read_bytes())
        )
    assert "sample rate" in caught.value.message

    response = await inproc.client.post(
        "/v1/speech-to-text",
        data={"model_id": "scribe_v1"},
        files={"file": ("s.flac", bombs["silent_3h"].read_bytes())},
    )
    assert response.status_code == 413, response.text
    detail = response.json()["detail"]
    assert detail["status"] and "3 h 00 min" in detail["message"]


async def test_frames_cut_short_are_refused(
    inproc: InProcess, bombs: dict[str, Path]
) -> None:
    """Only the last frame shows the cut, so the prepare stage (which reads the
    whole stream; submit reads the header) fails the job, as the input's fault."""
    for name in ("mp3", "aac"):
        whole = bombs[name].read_bytes()
        response = await _submit(inproc, f"whole.{name}", whole)
        assert response.status_code == 201, (name, response.text)
        assert (await inproc.wait(response.json()["id"]))["status"] == "completed"
        for fraction in (0.6, 0.6003):
            response = await _submit(inproc, f"cut.{name}", _cut(bombs[name], fraction))
            assert response.status_code == 201, (name, response.text)
            job = await inproc.wait(response.json()["id"])
            assert job["status"] == "failed", (name, fraction, job)
            assert "truncated" in job["error"], (name, fraction, job)


def test_decoding_stops_at_the_limit(tmp_path: Path) -> None:
    limits = AudioLimits(max_duration_s=3.0)
    with pytest.raises(PayloadTooLarge):
        probe(SPEECH, limits)
    out = tmp_path / "prepared.wav"
    with pytest.raises(PayloadTooLarge, match="decodes to more"):
        # The header check alone would refuse too: decode straight, as a stream
        # whose header understates its length would be.
        decode_to_wav16k(SPEECH, out, limits=limits)
    with wave.open(str(out), "rb") as partial:
        assert partial.getnframes() <= 4.0 * 16_000
    decoded = decode_to_wav16k(SPEECH, out, limits=AudioLimits())
    assert decoded.samples == pytest.approx(8.7 * 16_000, rel=0.02)
    assert decoded.source_channels == decoded.channels == 1


_PEAK = """
import sys
from pathlib import Path
from dalston.audio import AudioLimits, decode_to_wav16k

def kib(field):
    for line in open("/proc/self/status"):
        if line.startswith(field):
            return int(line.split()[1])

before = kib("VmRSS")
open("/proc/self/clear_refs", "w").write("5")  # reset the peak (VmHWM)
decode_to_wav16k(Path(sys.argv[1]), Path(sys.argv[2]), limits=AudioLimits())
print(kib("VmHWM") - before)
"""


def _peak_kib(source: Path, out: Path) -> int:
    done = subprocess.run(
        [sys.executable, "-c", _PEAK, str(source), str(out)],
        capture_output=True,
        text=True,
        check=True,
    )
    return int(done.stdout.strip())


def test_prepare_memory_is_flat_in_the_audio_length(tmp_path: Path) -> None:
    """Decoding 40 minutes takes no more memory than decoding 4: the WAV is
    written frame by frame (the whole-array decode held every sample twice)."""
    rate = 16_000
    tone = (np.sin(np.arange(rate) * 2 * np.pi * 220 / rate) * 8000).astype("<i2")
    short, long = tmp_path / "short.wav", tmp_path / "long.wav"
    for path, minutes in ((short, 4), (long, 40)):
        with wave.open(str(path), "wb") as out:
            out.setnchannels(1)
            out.setsampwidth(2)
            out.setframerate(rate)
            for _ in range(minutes * 60):
                out.writeframes(tone.tobytes())
    short_kib = _peak_kib(short, tmp_path / "a.wav")
    long_kib = _peak_kib(long, tmp_path / "b.wav")
    assert long_kib - short_kib < 20 * 1024, (short_kib, long_kib)
