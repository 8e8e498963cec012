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


def _wav(path: Path, pcm: np.ndarray, rate: int = 16_000) -> Path:
    """``pcm``: int16, shape (channels, samples)."""
    with wave.open(str(path), "wb") as out:
        out.setnchannels(pcm.shape[0])
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(np.ascontiguousarray(pcm.T).astype("<i2").tobytes())
    return path


def _samples(path: Path) -> tuple[np.ndarray, int]:
    with wave.open(str(path), "rb") as wav:
        pcm = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2")
        return pcm.reshape(-1, wav.getnchannels()).T, wav.getframerate()


_NOISE = (np.random.default_rng(1).standard_normal((2, 40_000)) * 4000).astype("<i2")


def test_a_wav_already_prepared_is_copied_bit_exact(tmp_path: Path) -> None:
    """16 kHz 16-bit mono (or its channels kept) passes through unchanged, where
    decoding to float and back would scale every sample by 32767/32768."""
    mono = _wav(tmp_path / "mono.wav", _NOISE[:1])
    decoded = decode_to_wav16k(mono, tmp_path / "m.wav")
    samples, rate = _samples(tmp_path / "m.wav")
    assert rate == 16_000 and (decoded.channels, decoded.samples) == (1, 40_000)
    assert np.array_equal(samples, _NOISE[:1])
    stereo = _wav(tmp_path / "stereo.wav", _NOISE)
    kept = decode_to_wav16k(stereo, tmp_path / "s.wav", keep_channels=True)
    samples, _ = _samples(tmp_path / "s.wav")
    assert (kept.source_channels, kept.channels) == (2, 2)
    assert np.array_equal(samples, _NOISE)


def test_other_wavs_are_decoded_mixed_and_resampled(tmp_path: Path) -> None:
    stereo = _wav(tmp_path / "stereo.wav", _NOISE)
    mixed = decode_to_wav16k(stereo, tmp_path / "mixed.wav")
    samples, _ = _samples(tmp_path / "mixed.wav")
    assert (mixed.source_channels, mixed.channels) == (2, 1)
    both = _NOISE.astype(np.float64).sum(axis=0)  # mixed, not one channel kept
    assert np.corrcoef(samples[0], both)[0, 1] > 0.999
    fast = _wav(tmp_path / "22k.wav", _NOISE[:1], rate=22_050)
    resampled = decode_to_wav16k(fast, tmp_path / "r.wav")
    samples, rate = _samples(tmp_path / "r.wav")
    assert rate == 16_000
    assert abs(resampled.samples - round(40_000 * 16_000 / 22_050)) <= 32
    assert samples.shape == (1, resampled.samples)


def test_a_copied_wav_is_held_to_the_duration_limit(tmp_path: Path) -> None:
    """Copying counts what it writes against the limit, as decoding does."""
    long = _wav(tmp_path / "long.wav", np.zeros((1, 16_000 * 40), dtype="<i2"))
    limits = AudioLimits(max_duration_s=10)
    with pytest.raises(PayloadTooLarge):
        decode_to_wav16k(long, tmp_path / "o.wav", limits=limits)


def _riff(pcm: bytes, declared: int, after: bytes = b"") -> bytes:
    """A 16 kHz mono 16-bit WAV whose data chunk declares ``declared`` bytes."""
    fmt = struct.pack("<HHIIHH", 1, 1, 16_000, 32_000, 2, 16)
    body = b"WAVEfmt " + struct.pack("<I", 16) + fmt
    body += b"data" + struct.pack("<I", declared) + pcm + after
    return b"RIFF" + struct.pack("<I", len(body)) + body


def _tone(seconds: float) -> bytes:
    t = np.arange(int(seconds * 16_000)) / 16_000
    return (np.sin(2 * np.pi * 440 * t) * 8000).astype("<i2").tobytes()


def test_samples_past_the_headers_count_are_kept(tmp_path: Path) -> None:
    """A recorder that stopped before it last rewrote its header: the data chunk
    counts 2 s of the 6 s that follow. All 6 s are the user's audio (FFmpeg and
    the ``wave`` module stopped at 2 s, and the job transcribed a third)."""
    pcm = _tone(6)
    path = tmp_path / "stale-header.wav"
    path.write_bytes(_riff(pcm, declared=64_000))
    read_header(path)  # accepted at submit (what it declares is its header's 2 s)
    assert probe(path).duration_s == pytest.approx(6, abs=0.01)
    out = tmp_path / "prepared.wav"
    assert decode_to_wav16k(path, out).samples == 6 * 16_000
    with wave.open(str(out)) as prepared:
        got = np.frombuffer(prepared.readframes(prepared.getnframes()), "<i2")
    assert np.abs(got.astype(int) - np.frombuffer(pcm, "<i2")).max() <= 1


def test_chunks_after_the_samples_are_not_read_as_samples(tmp_path: Path) -> None:
    """What legitimately follows a data chunk (LIST metadata, an ID3 tag) stays
    out of the audio; so do a few bytes of padding."""
    pcm = _tone(2)
    info = b"INFOISFT" + struct.pack("<I", 6) + b"dalstn"
    listed = b"LIST" + struct.pack("<I", len(info)) + info
    for name, after in {"list": listed, "padding": b"\0" * 7}.items():
        path = tmp_path / f"{name}.wav"
        path.write_bytes(_riff(pcm, declared=len(pcm), after=after))
        assert probe(path).duration_s == pytest.approx(2, abs=0.01), name
        out = tmp_path / f"{name}-prepared.wav"
        assert decode_to_wav16k(path, out).samples == 2 * 16_000, name
