"""Decoding windows of long audio: which speech no decoded segment covers."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from dalston.engines.faster_whisper.windows import MIN_GAP_S, Window, unheard


def _window(*speech: tuple[float, float]) -> Window:
    return Window(speech[0][0], speech[-1][1], speech)


def test_speech_every_segment_misses_is_unheard() -> None:
    window = _window((0.0, 10.0), (10.6, 14.0), (14.5, 26.0))
    # The timestamps jump from 10.7 to 18.1: 18.1 - 10.7 of speech is unheard,
    # less the pause the VAD left out (14.0 - 14.5).
    gaps = unheard([window], [(0.1, 10.7), (18.1, 26.0)])
    assert [(g.start, g.end) for g in gaps] == [(10.7, 14.0), (14.5, 18.1)]
    assert all(g.speech == ((g.start, g.end),) for g in gaps)


def test_short_misses_and_covered_speech_are_not() -> None:
    window = _window((0.0, 10.0), (12.0, 20.0))
    # Segment bounds a little off Whisper's words, a pause in between, and the
    # segments out of order: nothing to decode again.
    near = MIN_GAP_S - 0.05
    assert unheard([window], [(12.0 + near, 20.0), (near, 10.0 - near)]) == []
    assert unheard([window], [(0.0, 20.0)]) == []


def test_a_window_with_no_segment_is_unheard_whole() -> None:
    first, second = _window((0.0, 5.0)), _window((40.0, 43.0), (44.0, 50.0))
    gaps = unheard([first, second], [(0.0, 5.0)])
    assert [(g.start, g.end) for g in gaps] == [(40.0, 43.0), (44.0, 50.0)]
    # A segment reaching into the window from before it covers its start.
    gaps = unheard([second], [(30.0, 41.0), (47.0, 49.5)])
    assert [(g.start, g.end) for g in gaps] == [(41.0, 43.0), (44.0, 47.0)]


def test_whole_audio_listens_only_where_nothing_was_decoded() -> None:
    from dalston.audio import SAMPLE_RATE, decode_to_mono
    from dalston.engines.faster_whisper.windows import unheard_in
    from tests.conftest import DATA

    speech, _ = decode_to_mono(DATA / "sb_lj050_0131.wav")
    pause = np.zeros(2 * SAMPLE_RATE, dtype=np.float32)
    audio = np.concatenate([speech, pause, speech])
    second = (len(speech) + len(pause)) / SAMPLE_RATE
    length = len(speech) / SAMPLE_RATE
    # Both utterances decoded: nothing to do (the pause between has no speech).
    assert unheard_in(audio, [(0.1, length), (second + 0.1, second + length)]) == []
    # The second one skipped: found where the VAD hears it.
    gaps = unheard_in(audio, [(0.1, length)])
    assert gaps[0].start == pytest.approx(second, abs=0.5)
    assert gaps[-1].end == pytest.approx(second + length, abs=0.5)
    assert sum(g.end - g.start for g in gaps) > 0.8 * length


def test_segment_timestamps_count_only_regions_nothing_reaches() -> None:
    # Without word times a segment's end is Whisper's timestamp, often a second
    # or more early: speech running on from it is not a skipped turn.
    window = _window((0.0, 10.0), (11.0, 14.0), (14.5, 20.0))
    decoded = [(0.1, 8.5), (17.0, 20.0)]
    precise = unheard([window], decoded)
    assert [(g.start, g.end) for g in precise] == [
        (8.5, 10.0),
        (11.0, 14.0),
        (14.5, 17.0),
    ]
    coarse = unheard([window], decoded, precise=False)
    assert [(g.start, g.end) for g in coarse] == [(11.0, 14.0)]
    # Whole audio: the stretch after 3.65 s is speech running on from the segment.
    from dalston.audio import decode_to_mono
    from dalston.engines.faster_whisper.windows import unheard_in
    from tests.conftest import DATA

    speech, _ = decode_to_mono(DATA / "sb_lj050_0131.wav")
    assert unheard_in(speech, [(0.1, 3.0)], precise=False) == []
    assert unheard_in(speech, [(0.1, 3.0)]) != []


# --- groups of windows decoded side by side (engine._side_by_side) ------------------


def _group(
    name: str, n: int, log: list[str], wait: threading.Event | None = None
) -> Iterator[str]:
    """A group's segments, decoded lazily (by the thread that reads it)."""
    for i in range(n):
        if i == 0 and wait is not None:
            assert wait.wait(10), "the groups were not decoded side by side"
        log.append(f"{name}{i}:{threading.current_thread().name}")
        yield f"{name}{i}"


def _announced(segments: Iterator[str], began: threading.Event) -> Iterator[str]:
    for segment in segments:
        began.set()
        yield segment


def test_groups_side_by_side_come_in_order_prepared_one_ahead() -> None:
    from dalston.engines.faster_whisper.engine import _side_by_side

    log: list[str] = []
    pulled: list[str] = []
    b_began = threading.Event()

    def groups() -> Iterator[Iterator[str]]:
        sizes = {"a": 3, "b": 1, "c": 2, "d": 3, "e": 1}
        for name, n in sizes.items():
            pulled.append(name)
            if name == "a":  # a waits until b has begun: they run at once
                yield _group(name, n, log, wait=b_began)
            elif name == "b":
                yield _announced(_group(name, n, log), b_began)
            else:
                yield _group(name, n, log)

    out = []
    for segment in _side_by_side(groups(), 2, lambda: None):
        out.append(segment)
        # The group being read, the other thread's, and one more prepared.
        assert pulled.index(pulled[-1]) - pulled.index(segment[0]) <= 2
    assert out == ["a0", "a1", "a2", "b0", "c0", "c1", "d0", "d1", "d2", "e0"]
    assert all(":dalston-windows" in entry for entry in log)


def test_a_failing_group_fails_the_whole_and_stops_the_rest() -> None:
    from dalston.engines.faster_whisper.engine import _side_by_side

    log: list[str] = []
    cancelled = threading.Event()

    def checkpoint() -> None:
        if cancelled.is_set():
            raise RuntimeError("cancelled")

    def slow(name: str) -> Iterator[str]:
        for segment in _group(name, 50, log):
            time.sleep(0.01)
            yield segment

    groups = iter([slow("a"), slow("b"), slow("c")])
    out = []
    with pytest.raises(RuntimeError, match="cancelled"):
        for segment in _side_by_side(groups, 2, checkpoint):
            out.append(segment)
            cancelled.set()
    assert out == ["a0"]
    assert len(log) < 20  # a, b and c stopped at their next segment, not at 150


def test_one_at_a_time_decodes_in_the_callers_thread() -> None:
    from dalston.engines.faster_whisper.engine import _side_by_side

    log: list[str] = []
    groups = iter([_group("a", 2, log), _group("b", 1, log)])
    assert list(_side_by_side(groups, 1, lambda: None)) == ["a0", "a1", "b0"]
    here = threading.current_thread().name
    assert all(entry.endswith(f":{here}") for entry in log)


def test_a_groups_windows_are_read_without_the_pauses_between(tmp_path: Path) -> None:
    """Windows minutes apart are read end to end (a second apart), and each
    decoded segment goes back to its own window's time, even one that starts a
    little before its clip (faster-whisper rounds times to the millisecond)."""
    from faster_whisper.transcribe import Segment

    from dalston.audio import SAMPLE_RATE, WavReader, write_wav16k
    from dalston.engines.faster_whisper.engine import Layout, _read_windows

    # Each second of the recording holds its own number: where a sample came
    # from can be read off it.
    seconds = 600
    write_wav16k(
        tmp_path / "r.wav",
        np.repeat(np.arange(seconds, dtype=np.float32) / 1000, SAMPLE_RATE),
    )
    windows = [_window((10.0, 30.0)), _window((300.0, 310.5)), _window((590.0, 600.0))]
    with WavReader(tmp_path / "r.wav") as wav:
        audio, layout = _read_windows(wav, None, windows)
    assert audio.size == (20 + 10.5 + 10 + 2) * SAMPLE_RATE  # not 590 s
    for window in windows:
        clip = layout.clip(window)
        first = int(clip["start"] * SAMPLE_RATE)
        piece = audio[first : int(clip["end"] * SAMPLE_RATE)]
        assert piece.size == round((window.end - window.start) * SAMPLE_RATE)
        assert piece[0] * 1000 == pytest.approx(window.start, abs=0.1)
        assert piece[-1] * 1000 == pytest.approx(np.ceil(window.end) - 1, abs=0.1)
        # A segment 2 s into the clip, and one "starting" 1 ms before it.
        for into in (2.0, -0.001):
            start = round(clip["start"] + into, 3)
            seg = Segment(0, 0, start, start + 1, "x", [], 0, 0, 0, None, 0)
            back = layout.to_recording(seg)
            assert back.start == pytest.approx(window.start + into, abs=1e-3)
    assert Layout.from_sample(0).to_recording(seg) == seg
