"""Decoding windows of long audio: which speech no decoded segment covers."""

from __future__ import annotations

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
