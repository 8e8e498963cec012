"""Speech after a long silence or music is heard (``dalston.audio.vad.STATE_S``).

Silero carries a state from frame to frame; run over a whole recording at once (as
faster-whisper's VAD filter runs it), the state drifts in a minute of silence or
half a minute of music, and the speech that follows is partly missed: JFK's 11 s
after 60 s of digital silence lost "ask not", after 40 s of music "And so my"
too. Our VAD starts the state afresh every few seconds, and the whole-audio path
filters with it. The regions are otherwise found exactly as faster-whisper finds
them (``regions`` against ``get_speech_timestamps`` on the same probabilities).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from faster_whisper.vad import VadOptions, get_speech_timestamps

from dalston.audio import SAMPLE_RATE, decode_to_mono, write_wav16k
from dalston.audio.vad import regions, speech_probabilities, speech_timestamps
from dalston.eval.scoring import wer
from tests.audio_fixtures import DATA
from tests.server import ServerProcess, submit, wait_for_job

SPEECH = DATA / "whisper_jfk.flac"


def _speech() -> np.ndarray:
    samples, _ = decode_to_mono(SPEECH)
    return samples


def _music(seconds: float) -> np.ndarray:
    t = np.arange(int(SAMPLE_RATE * seconds)) / SAMPLE_RATE
    chords = sum(
        0.1 * np.sin(2 * np.pi * f * t) * (0.5 + 0.5 * np.sin(2 * np.pi * 0.5 * t + i))
        for i, f in enumerate((261.6, 329.6, 392.0, 523.3))
    )
    return np.asarray(chords, np.float32)


def _intros() -> dict[str, np.ndarray]:
    return {
        "silence": np.zeros(SAMPLE_RATE * 60, np.float32),
        "music": _music(40),
    }


def _heard(spans: list[tuple[int, int]], start: int, end: int) -> float:
    """Seconds of ``spans`` between samples ``start`` and ``end``."""
    return sum(max(0, min(b, end) - max(a, start)) for a, b in spans) / SAMPLE_RATE


@pytest.mark.parametrize("intro", ["silence", "music"])
def test_speech_after_a_long_intro_is_heard(intro: str) -> None:
    speech = _speech()
    lead = _intros()[intro]
    audio = np.concatenate([lead, speech])
    options = VadOptions()
    alone = _heard(speech_timestamps([(0, speech)], options), 0, speech.size)
    carried = [
        (int(s["start"]), int(s["end"])) for s in get_speech_timestamps(audio, options)
    ]
    fresh = speech_timestamps([(0, audio)], options)
    print(intro, alone, _heard(carried, lead.size, audio.size))
    assert alone > 10
    assert _heard(fresh, lead.size, audio.size) >= alone - 0.1
    assert _heard(fresh, 0, lead.size) < 0.5  # of the intro, the padding only


@pytest.mark.parametrize("intro", ["silence", "music"])
def test_a_live_stream_hears_the_speech_after_a_long_intro(intro: str) -> None:
    """The streaming VAD (fed 0.1 s at a time) restarts its state the same way:
    carried through the intro, it heard 136-156 of the 209 speech windows."""
    from dalston.realtime_sdk.vad import StreamingVad

    def speech_windows(audio: np.ndarray, skip: int) -> int:
        vad = StreamingVad()
        step = SAMPLE_RATE // 10
        heard = np.concatenate(
            [vad.probabilities(audio[i : i + step]) for i in range(0, audio.size, step)]
        )
        return int((heard[skip // 512 :] > 0.5).sum())

    speech = _speech()
    lead = _intros()[intro]
    alone = speech_windows(speech, 0)
    after = speech_windows(np.concatenate([lead, speech]), lead.size)
    assert alone > 180
    assert after >= 0.9 * alone, (after, alone)


def test_regions_are_found_as_faster_whisper_finds_them() -> None:
    """With one state over the recording, the same probabilities: the same
    regions as ``get_speech_timestamps``, whatever the options."""
    audio = np.concatenate([_speech(), np.zeros(SAMPLE_RATE * 3, np.float32)] * 3)
    probabilities = speech_probabilities(audio, float("inf"))
    for options in (
        VadOptions(),
        VadOptions(min_silence_duration_ms=160, speech_pad_ms=100),
        VadOptions(threshold=0.35, min_speech_duration_ms=250, speech_pad_ms=200),
        VadOptions(max_speech_duration_s=4, min_silence_duration_ms=500),
    ):
        expected = [
            (int(s["start"]), int(s["end"]))
            for s in get_speech_timestamps(audio, options)
        ]
        assert regions(probabilities, audio.size, options) == expected, options


@pytest.mark.parametrize("intro", ["silence", "music"])
def test_a_job_hears_the_speech_after_a_long_intro(
    server: ServerProcess, tmp_path: Path, intro: str
) -> None:
    """Through the whole-audio path (under DALSTON_VAD_BATCH_THRESHOLD_S)."""
    path = tmp_path / f"{intro}.wav"
    write_wav16k(path, np.concatenate([_intros()[intro], _speech()]))
    reference = SPEECH.with_suffix(".txt").read_text()
    with server.client() as client:
        job = wait_for_job(client, submit(client, path))
    assert job["status"] == "completed", job
    score = wer([reference], [job["text"] or ""])
    assert score <= 0.05, job["text"]
    assert job["segments"][0]["start"] >= _intros()[intro].size / SAMPLE_RATE - 0.5
