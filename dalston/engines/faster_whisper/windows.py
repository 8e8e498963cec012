"""Long audio cut into decoding windows at its pauses.

Whisper reads 30 s at a time. faster-whisper's batched pipeline packs speech from
anywhere in the file into 30 s chunks with the silences between cut out, and
decodes them without timestamps: on audio with many short turns, words at the
joins are lost and times are approximate. Here the windows are spans of the
recording as it is: Silero VAD finds the speech, and neighbouring speech joins one
window while the window stays within ``max_window_s`` and the pause before the
next speech is shorter than ``max_pause_s`` (a long silence always ends a window).
Speech longer than a window is split by the VAD at its quietest short pause. Each
window is then decoded with timestamps, several at once.

Within a window Whisper's timestamps sometimes jump over a whole utterance (most
often where the voice changes: tiny.en skipped 3-6 s turns in ~1 of 8 windows of
many-speaker audio), which sequential decoding, starting its windows elsewhere,
mostly hears. So each window keeps the speech the VAD found in it, and speech that
no decoded segment covers (``unheard``, ``MIN_GAP_S`` or longer) is decoded again
on its own.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from faster_whisper.vad import VadOptions

from dalston.audio import SAMPLE_RATE
from dalston.audio.vad import speech_timestamps

# Whisper's window is 30 s; a little under it leaves room for the VAD's padding
# and for half of a short pause on each side.
MAX_WINDOW_S = 28.0
# A pause at least this long always starts a new window: Whisper reads through a
# few seconds of silence inside a window (and gains the context on both sides),
# but a long one invites invented text. Shorter limits make many short windows:
# each costs a full 30 s encoder pass and is decoded without context (measured:
# 2 s gave 16-18 windows for 229 s of speech and lost 2.6 WER points on
# continuous speech; 6 s gave 9-10 windows and matched sequential decoding).
MAX_PAUSE_S = 6.0
# Speech regions are separated where the VAD hears this much silence, and keep
# this much of it on each side (soft word onsets and endings).
MIN_SILENCE_MS = 500
SPEECH_PAD_MS = 200
# Speech at least this long that no decoded segment covers is decoded again: a
# segment's bounds miss its words by a few hundred ms, not by a second.
MIN_GAP_S = 1.0
# Spans closer than this touch (a region clipped where a decoded span ends).
_TOUCH_S = 0.02


@dataclass(frozen=True)
class Window:
    start: float  # seconds
    end: float
    # The VAD's speech regions inside the window (seconds).
    speech: tuple[tuple[float, float], ...] = ()

    def as_clip(self) -> dict[str, float]:
        return {"start": self.start, "end": self.end}


def speech_windows(
    chunks: Iterable[tuple[int, np.ndarray]],
    *,
    max_window_s: float = MAX_WINDOW_S,
    max_pause_s: float = MAX_PAUSE_S,
    vad_threshold: float = 0.5,
) -> list[Window]:
    """The decoding windows of 16 kHz mono audio given as consecutive chunks
    (``(first sample, samples)``: ``WavReader.chunks``, or ``Samples.chunks`` for
    an array): no speech, no window."""
    regions = speech_timestamps(
        chunks,
        _vad_options(max_window_s, vad_threshold),
        join=False,  # each region stays within a window; the loop below joins
    )
    windows: list[tuple[int, int]] = []
    speech: list[list[tuple[int, int]]] = []
    limit = int(max_window_s * SAMPLE_RATE)
    pause = int(max_pause_s * SAMPLE_RATE)
    for start, end in regions:
        if windows:
            first, last = windows[-1]
            if end - first <= limit and start - last < pause:
                windows[-1] = (first, end)
                speech[-1].append((start, end))
                continue
        windows.append((start, end))
        speech.append([(start, end)])
    # Windows split only by their length meet in the middle of the short pause
    # between them: no stretch of audio near speech goes undecoded, whatever the
    # VAD made of it (a soft word in a pause it called silence).
    for i in range(len(windows) - 1):
        (a, b), (c, d) = windows[i], windows[i + 1]
        if c - b < pause:
            middle = (b + c) // 2
            windows[i], windows[i + 1] = (a, middle), (middle, d)
    return [
        Window(
            s / SAMPLE_RATE,
            e / SAMPLE_RATE,
            tuple((a / SAMPLE_RATE, b / SAMPLE_RATE) for a, b in regions),
        )
        for (s, e), regions in zip(windows, speech, strict=True)
    ]


def _vad_options(max_window_s: float, threshold: float) -> VadOptions:
    return VadOptions(
        threshold=threshold,
        min_silence_duration_ms=MIN_SILENCE_MS,
        speech_pad_ms=SPEECH_PAD_MS,
        max_speech_duration_s=max_window_s,
    )


def unheard_in(
    samples: np.ndarray,
    decoded: Sequence[tuple[float, float]],
    min_gap_s: float = MIN_GAP_S,
    *,
    precise: bool = True,
) -> list[Window]:
    """``unheard`` for audio decoded as a whole (no windows): the VAD listens
    only to the stretches no decoded span covers, so well-covered audio costs
    next to nothing (speech running on from a decoded span starts or ends where
    the stretch does, touching it)."""
    duration = len(samples) / SAMPLE_RATE
    spans: list[tuple[float, float]] = []
    cursor = 0.0
    for start, end in [*sorted(decoded), (duration, duration)]:
        if start - cursor >= min_gap_s:
            spans.append((cursor, start))
        cursor = max(cursor, end)
    windows = []
    for start, end in spans:
        first = round(start * SAMPLE_RATE)
        piece = samples[first : round(end * SAMPLE_RATE)]
        regions = speech_timestamps(
            [(first, piece)], _vad_options(MAX_WINDOW_S, 0.5), join=False
        )
        if regions:
            speech = tuple((a / SAMPLE_RATE, b / SAMPLE_RATE) for a, b in regions)
            windows.append(Window(start, end, speech))
    return unheard(windows, decoded, min_gap_s, precise=precise)


def unheard(
    windows: Sequence[Window],
    decoded: Iterable[tuple[float, float]],
    min_gap_s: float = MIN_GAP_S,
    *,
    precise: bool = True,
) -> list[Window]:
    """The windows' speech that none of the ``decoded`` spans (segments'
    ``(start, end)``, seconds) covers, in stretches of ``min_gap_s`` or more: new
    windows to decode on their own.

    ``precise``: the spans are the words' times (to a few hundred ms), so any
    uncovered part of a speech region counts. Otherwise they are Whisper's
    segment timestamps, which end a second or more early as often as not, and
    only regions that no span reaches or touches count, whole."""
    covered = sorted(decoded)
    gaps: list[Window] = []
    for window in windows:
        for start, end in window.speech:
            if not precise:
                touched = any(
                    a <= end + _TOUCH_S and b >= start - _TOUCH_S for a, b in covered
                )
                if not touched and end - start >= min_gap_s:
                    gaps.append(Window(start, end, ((start, end),)))
                continue
            cursor = start
            for a, b in covered:
                if b <= cursor:
                    continue
                if a >= end:
                    break
                if a - cursor >= min_gap_s:
                    gaps.append(Window(cursor, a, ((cursor, a),)))
                cursor = max(cursor, b)
                if cursor >= end:
                    break
            if end - cursor >= min_gap_s:
                gaps.append(Window(cursor, end, ((cursor, end),)))
    return gaps
