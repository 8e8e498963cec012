"""``audio.vad``: Silero run a bounded number of frames at a time gives what
faster-whisper's VAD gives over the whole audio at once (its probabilities, its
regions), without the memory: faster-whisper's model runs 10,000 frames at once
and those runs' activations held ~245 MB."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
from faster_whisper.vad import VadOptions, get_speech_timestamps, get_vad_model

from dalston.audio import SAMPLE_RATE, decode_to_mono
from dalston.audio.vad import WINDOW, regions, speech_probabilities, speech_timestamps
from tests.audio_fixtures import non_speech
from tests.conftest import DATA

CLIPS = ("whisper_jfk.flac", "pyannote_sample.wav", "pv_fr.wav", "mfa_cold_corpus.wav")


def _meeting() -> np.ndarray:
    """The clips joined by pauses of 0.3-3 s, and a little noise (every kind of
    region edge: short pauses, long ones, noise)."""
    rng = np.random.default_rng(3)
    parts: list[np.ndarray] = []
    for name in CLIPS:
        parts.append(decode_to_mono(DATA / name)[0])
        pause = int(rng.uniform(0.3, 3.0) * SAMPLE_RATE)
        parts.append(rng.normal(0, 1e-3, pause).astype(np.float32))
    return np.concatenate(parts)


@pytest.fixture(scope="module")
def meeting() -> np.ndarray:
    return _meeting()


@pytest.mark.parametrize("frames", [None, 2000], ids=["any-length", "whole-frames"])
def test_probabilities_are_faster_whispers(
    meeting: np.ndarray, frames: int | None
) -> None:
    """Run 100 frames at a time (the state and each frame's context carried
    from run to run), the probabilities are those of one run over it all."""
    if frames is not None:
        meeting = meeting[: frames * WINDOW]
    ours = speech_probabilities(meeting, run_frames=100, restart=False)
    padded = np.pad(meeting, (0, WINDOW - meeting.size % WINDOW))
    theirs = np.asarray(get_vad_model()(padded)).reshape(-1)
    assert ours.shape == theirs.shape
    np.testing.assert_allclose(ours, theirs, atol=1e-4)
    assert (theirs > 0.5).mean() > 0.5  # mostly speech: the comparison means something


OPTIONS = [
    VadOptions(),
    VadOptions(min_silence_duration_ms=500, speech_pad_ms=200),
    VadOptions(threshold=0.35, min_silence_duration_ms=160, speech_pad_ms=0),
    VadOptions(max_speech_duration_s=6, min_silence_duration_ms=300),
    VadOptions(threshold=0.6, neg_threshold=0.2, min_speech_duration_ms=600),
]


@pytest.mark.parametrize("options", OPTIONS, ids=range(len(OPTIONS)))
def test_regions_are_faster_whispers(meeting: np.ndarray, options: VadOptions) -> None:
    theirs = [
        (s["start"], s["end"])
        for s in get_speech_timestamps(meeting, options, sampling_rate=SAMPLE_RATE)
    ]
    ours = speech_timestamps([(0, meeting)], options, join=False, restart=False)
    assert len(theirs) >= 3
    assert ours == theirs
    probabilities = speech_probabilities(meeting, restart=False)
    assert regions(probabilities, meeting.size, options) == theirs


def _rss_mb() -> float:
    text = Path("/proc/self/status").read_text()
    kb = next(int(x.split()[1]) for x in text.splitlines() if x.startswith("VmRSS"))
    return kb / 1024


@contextmanager
def _peak_rss_mb() -> Iterator[list[float]]:
    """The process's highest RSS (MB), sampled every 10 ms while the block runs,
    in the list it yields (filled when the block ends)."""
    peak = [_rss_mb()]
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            peak[0] = max(peak[0], _rss_mb())
            time.sleep(0.01)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    try:
        yield peak
    finally:
        stop.set()
        thread.join()


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs /proc")
def test_ten_minutes_take_little_memory(meeting: np.ndarray) -> None:
    """A 10-minute chunk (the size callers give) adds under 100 MB over its own
    samples and probabilities: faster-whisper's VAD added ~245 MB."""
    ten = np.resize(meeting, 600 * SAMPLE_RATE)
    speech_probabilities(ten[: 60 * SAMPLE_RATE])  # the model loaded
    before = _rss_mb()  # after the chunk exists
    with _peak_rss_mb() as peak:
        spans = speech_timestamps([(0, ten)], VadOptions())
    added = peak[0] - before
    print(f"\nVAD over 10 min: +{added:.0f} MB")
    assert spans
    assert added < 100, added


@pytest.mark.parametrize(
    ("sound", "seconds"),
    [
        ("tone", 3),  # a beep: a voicemail, a test tone
        ("tone", 15),
        ("music", 15),
        ("pink_noise", 15),
        ("clicks", 15),
        ("silence", 15),
    ],
)
def test_speech_after_a_sound_is_heard(sound: str, seconds: float) -> None:
    """Speech that follows a steady sound is heard as it is alone. With one
    state carried over it all (faster-whisper's way) none of this recording's
    24 s of speech was heard after a 3 s beep at -13 dBFS, 0.9 s after pink
    noise, 5.9 s after music, 19.4 s after 15 s of digital silence."""
    speech, _ = decode_to_mono(DATA / "mfa_cold_corpus.wav")
    intro = non_speech(seconds)[sound].astype(np.float32)
    pause = np.zeros(SAMPLE_RATE // 2, dtype=np.float32)
    options = VadOptions()

    def heard(samples: np.ndarray, restart: bool = True) -> float:
        spans = speech_timestamps([(0, samples)], options, restart=restart)
        return sum(end - start for start, end in spans) / SAMPLE_RATE

    alone = heard(speech)
    assert alone > 20
    after = np.concatenate([intro, pause, speech])
    assert heard(after) == pytest.approx(alone, rel=0.05)
    if (sound, seconds) == ("tone", 3):
        assert heard(after, restart=False) < 0.5 * alone  # what it was


def test_a_stream_hears_a_sound_then_speech_as_a_file_does() -> None:
    """The live VAD starts its state afresh by the same rule: the same
    probabilities as the file's, frame for frame, speech after a tone included
    (with one state carried over it all, none of it was heard)."""
    from dalston.realtime_sdk.vad import StreamingVad

    speech, _ = decode_to_mono(DATA / "mfa_cold_corpus.wav")
    intro = non_speech(15)["tone"].astype(np.float32)
    samples = np.concatenate([intro, np.zeros(SAMPLE_RATE // 2, np.float32), speech])
    vad = StreamingVad()
    live = np.concatenate(
        [vad.probabilities(samples[i : i + 1600]) for i in range(0, samples.size, 1600)]
    )
    batch = speech_probabilities(samples)
    np.testing.assert_allclose(live, batch[: live.size], atol=1e-4)
    after = slice(intro.size // WINDOW + 16, None)
    assert (live[after] > 0.5).mean() > 0.4
    assert (speech_probabilities(samples, restart=False)[after] > 0.5).mean() < 0.05
