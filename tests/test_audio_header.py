"""The submit-time header read: cheap whatever the audio's length, and it refuses
what a header can tell (empty, not audio, no audio stream, out of limits)."""

from __future__ import annotations

import io
import struct
import wave
from pathlib import Path

import av
import numpy as np
import pytest

from dalston.audio import AudioLimits, decode_to_wav16k, probe, read_header
from dalston.errors import InvalidRequest, PayloadTooLarge, UnsupportedMedia
from tests.audio_fixtures import JFK


class _Counting(io.BytesIO):
    """A file object that counts the bytes read from it."""

    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.bytes_read = 0

    def read(self, size: int | None = -1, /) -> bytes:
        chunk = super().read(size)
        self.bytes_read += len(chunk)
        return chunk

    def readinto(self, buffer: bytearray | memoryview, /) -> int:  # type: ignore[override]
        count = super().readinto(buffer)
        self.bytes_read += count
        return count


def _flac(seconds: float, rate: int = 16_000) -> bytes:
    noise = np.random.default_rng(0).standard_normal(int(seconds * rate)) * 3000
    pcm = noise.astype("<i2").reshape(1, -1)
    out = io.BytesIO()
    with av.open(out, "w", format="flac") as container:
        stream = container.add_stream("flac", rate=rate, layout="mono")
        assert isinstance(stream, av.audio.stream.AudioStream)
        for start in range(0, pcm.shape[1], 4096):
            frame = av.AudioFrame.from_ndarray(
                np.ascontiguousarray(pcm[:, start : start + 4096]),
                format="s16",
                layout="mono",
            )
            frame.sample_rate = rate
            frame.pts = start
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return out.getvalue()


def test_reads_the_header_not_the_stream() -> None:
    data = _flac(120.0)  # about 3.8 MB of noise
    source = _Counting(data)
    header = read_header(source)
    assert header.container == "flac" and header.codec == "flac"
    assert (header.sample_rate, header.channels) == (16_000, 1)
    assert header.declared_duration_s == pytest.approx(120.0, abs=0.01)
    assert source.bytes_read < len(data) // 4, (source.bytes_read, len(data))
    assert source.tell() == 0  # ready to be stored


def test_a_stream_cut_short_passes_the_header_and_fails_the_probe(
    tmp_path: Path,
) -> None:
    whole = JFK.read_bytes()
    cut = tmp_path / "cut.flac"
    cut.write_bytes(whole[: len(whole) // 3])
    assert read_header(cut).declared_duration_s == pytest.approx(11.0, abs=0.01)
    with pytest.raises(InvalidRequest, match="truncated"):
        probe(cut)


def test_refuses_what_a_header_tells(tmp_path: Path) -> None:
    with pytest.raises(InvalidRequest, match="empty"):
        read_header(io.BytesIO(b""))
    with pytest.raises(UnsupportedMedia, match="not decodable audio"):
        read_header(io.BytesIO(b"%PDF-1.4 not audio\n" * 100))
    with pytest.raises(PayloadTooLarge, match="DALSTON_MAX_AUDIO_DURATION_S"):
        read_header(io.BytesIO(_flac(5.0)), AudioLimits(max_duration_s=3.0))
    one_hz = tmp_path / "one_hz.wav"
    with wave.open(str(one_hz), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(1)
        out.writeframes(b"\0\0" * 100)
    with pytest.raises(UnsupportedMedia, match="1 Hz"):
        read_header(one_hz)
    cut_wav = tmp_path / "cut.wav"
    with wave.open(str(cut_wav), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(16_000)
        out.writeframes(b"\0\0" * 16_000)
    cut_wav.write_bytes(cut_wav.read_bytes()[:16_000])
    with pytest.raises(InvalidRequest, match="truncated"):
        read_header(cut_wav)


def _wav_with_chunk_before_data(chunk: bytes, seconds: float, rate: int) -> bytes:
    """A PCM WAV with a large chunk (``JUNK``, as broadcast WAV writers pad)
    between ``fmt `` and ``data``."""
    t = np.arange(int(seconds * rate)) / rate
    pcm = (np.sin(2 * np.pi * 440 * t) * 8000).astype("<i2").tobytes()
    fmt = struct.pack("<HHIIHH", 1, 1, rate, rate * 2, 2, 16)
    body = (
        b"WAVE"
        + b"fmt "
        + struct.pack("<I", len(fmt))
        + fmt
        + b"JUNK"
        + struct.pack("<I", len(chunk))
        + chunk
        + b"data"
        + struct.pack("<I", len(pcm))
        + pcm
    )
    return b"RIFF" + struct.pack("<I", len(body)) + body


def test_a_wav_is_read_from_its_header_with_a_large_chunk_first(
    tmp_path: Path,
) -> None:
    """WAVs open reading a small start of the file (FFmpeg's probe size cut to
    32 KB: the header holds everything); a chunk larger than that before the
    audio is still stepped over, and every sample decoded."""
    data = _wav_with_chunk_before_data(b"\0" * 200_000, 3.0, 22_050)
    source = _Counting(data)
    header = read_header(source)
    assert (header.container, header.codec) == ("wav", "pcm_s16le")
    assert (header.sample_rate, header.channels) == (22_050, 1)
    assert header.declared_duration_s == pytest.approx(3.0, abs=0.01)
    assert source.tell() == 0
    path = tmp_path / "padded.wav"
    path.write_bytes(data)
    assert probe(path).duration_s == pytest.approx(3.0, abs=0.01)
    decoded = decode_to_wav16k(path, tmp_path / "out.wav")
    assert decoded.samples == 48_000
