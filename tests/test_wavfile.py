"""Reading spans of the prepared audio, and the VAD over it in chunks."""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path

import numpy as np
import pytest

from dalston.audio import SAMPLE_RATE, Samples, WavReader, decode_to_mono, write_wav16k
from dalston.audio.decode import read_wav16k
from dalston.audio.vad import speech_timestamps
from tests.conftest import DATA


def test_spans_channels_and_the_mix_match_the_whole_file(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    stereo = rng.uniform(-0.5, 0.5, (2, SAMPLE_RATE * 3)).astype(np.float32)
    write_wav16k(tmp_path / "a.wav", stereo)
    whole = read_wav16k(tmp_path / "a.wav")
    with WavReader(tmp_path / "a.wav") as wav:
        assert (wav.channels, wav.frames, wav.duration) == (2, 3 * SAMPLE_RATE, 3.0)
        assert np.array_equal(wav.read(100, 900, channel=1), whole[1, 100:900])
        mix = wav.read(SAMPLE_RATE, 2 * SAMPLE_RATE)
        assert mix.dtype == np.float32
        np.testing.assert_allclose(mix, whole[:, SAMPLE_RATE : 2 * SAMPLE_RATE].mean(0))
        # Spans are clipped to the file; chunks cover it once, in order.
        assert wav.read(3 * SAMPLE_RATE - 10, 10**9, channel=0).size == 10
        assert wav.read(-5, 0).size == 0
        pieces = list(wav.chunks(1.25, channel=0))
        assert [first for first, _ in pieces] == [0, 20000, 40000]
        assert np.array_equal(np.concatenate([p for _, p in pieces]), whole[0])


def test_not_16k_pcm_is_refused(tmp_path: Path) -> None:
    import wave

    with wave.open(str(tmp_path / "b.wav"), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(8000)
        out.writeframes(b"\0\0" * 800)
    with pytest.raises(ValueError, match="16 kHz"):
        WavReader(tmp_path / "b.wav")


def test_chunked_vad_finds_what_one_pass_finds() -> None:
    """Speech found chunk by chunk is the speech found in one pass, give or take
    the VAD's own window at a chunk edge; ``join=False`` keeps a region cut at
    an edge as two that touch."""
    from faster_whisper.vad import VadOptions

    speech = Samples(decode_to_mono(DATA / "mfa_cold_corpus.wav")[0])  # 26 s
    options = VadOptions(threshold=0.5, min_silence_duration_ms=500)
    whole = speech_timestamps(speech.chunks(600), options)
    cut = speech_timestamps(speech.chunks(10), options)
    apart = speech_timestamps(speech.chunks(10), options, join=False)

    def covered(spans: list[tuple[int, int]]) -> int:
        return sum(end - start for start, end in spans)

    assert abs(covered(cut) - covered(whole)) < 0.05 * covered(whole)
    assert len(apart) >= len(cut)
    assert all(a[1] <= b[0] for a, b in pairwise(apart))
