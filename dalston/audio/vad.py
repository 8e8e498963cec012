"""Silero VAD (the ONNX model inside faster-whisper) over audio of any length.

Silero over an hour at once holds ~700 MB of features and probabilities, so the
audio goes through it in chunks of ``CHUNK_S``; a region cut at a chunk edge ends
and restarts at the same instant and is joined again here. Callers raise a very
quiet recording first (``quiet_gain``: one gain for the whole recording, so the
pauses of an ordinary one are never raised to look like speech).
"""

from __future__ import annotations

from collections.abc import Iterable
from math import inf
from typing import TYPE_CHECKING

import numpy as np

from dalston.audio.decode import SAMPLE_RATE

if TYPE_CHECKING:
    from faster_whisper.vad import VadOptions

CHUNK_S = 600

# Silero hears level as well as speech. In a recording made with the microphone's
# gain far too low (its loudest 1 % of 30 ms frames at -74 dBFS) it finds no speech
# at all, where Whisper transcribes every word (at -64 dBFS it still finds it).
# Audio that quiet is raised to QUIET_TARGET_DBFS before the VAD listens: the whole
# recording by one gain, measured on all of it. Louder audio is left as it is:
# raising every quiet recording (the corpus' far-field meetings sit at -40 to -25
# dBFS) to a common level made diarization worse (DER 0.258 -> 0.270, more false
# alarms).
#
# A recording's level is that of its loudest 1 % of frames, but of no more than its
# loudest LOUDEST_S: an hour in a quiet room with a minute of ordinary speech has
# its speech in under 1 % of its frames, and its loudest 1 % would be the room:
# such a recording was raised ~30 dB, its speech driven to +15 dBFS (far past full
# scale) and the room's noise lifted to -35 dBFS.
QUIET_DBFS = -50.0
QUIET_TARGET_DBFS = -30.0
MAX_GAIN_DB = 50.0
LOUDEST_S = 2.0
_FRAME = SAMPLE_RATE * 30 // 1000
_LOUDEST_FRAMES = LOUDEST_S * SAMPLE_RATE / _FRAME
_SILENT_RMS = 1e-6  # -120 dBFS: digital silence stays silence

# Silero carries a state from frame to frame, and after half a minute or more
# without speech (silence, music) it drifts and stops hearing the speech that
# follows: 60 s of digital silence before JFK's 11 s lost 2.5 s of it ("ask not"),
# 30-60 s of music 4 s. Its state is started afresh every STATE_S seconds, each run
# warmed up on the LEAD_S before it (faster-whisper's own VAD runs it over the whole
# recording at once).
STATE_S = 10.0
LEAD_S = 1.0
WINDOW = 512  # samples per Silero frame


def frame_levels(samples: np.ndarray) -> np.ndarray:
    """RMS of each whole 30 ms frame."""
    usable = len(samples) // _FRAME * _FRAME
    frames = samples[:usable].reshape(-1, _FRAME)
    energy = np.einsum("ij,ij->i", frames, frames).astype(np.float64)  # no copy
    return np.asarray(np.sqrt(energy / _FRAME))


def quiet_gain(samples: np.ndarray) -> float:
    """The gain that lifts a very quiet recording to a level the VAD hears
    (1 for any other)."""
    return gain_for_levels(frame_levels(samples))


def quiet_gain_of(chunks: Iterable[tuple[int, np.ndarray]]) -> float:
    """``quiet_gain`` of audio read chunk by chunk (``WavReader.chunks``)."""
    levels = [frame_levels(piece) for _, piece in chunks]
    return gain_for_levels(np.concatenate(levels) if levels else np.zeros(0))


def loudness(levels: np.ndarray) -> float:
    """How loud audio of these frame ``levels`` is: its loudest 1 % (RMS), or its
    loudest ``LOUDEST_S`` where that is less."""
    if not levels.size:
        return 0.0
    return float(
        np.percentile(levels, max(99.0, 100 * (1 - _LOUDEST_FRAMES / levels.size)))
    )


def gain_for_levels(levels: np.ndarray) -> float:
    return gain_for_loudness(loudness(levels))


def gain_for_loudness(loud: float) -> float:
    """The gain for audio of ``loudness`` ``loud``: 1 unless it is very quiet."""
    if loud < _SILENT_RMS or 20 * np.log10(loud) >= QUIET_DBFS:
        return 1.0
    return float(min(10 ** (QUIET_TARGET_DBFS / 20) / loud, 10 ** (MAX_GAIN_DB / 20)))


def speech_timestamps(
    chunks: Iterable[tuple[int, np.ndarray]],
    options: VadOptions,
    *,
    join: bool = True,
    fresh_state: bool = True,
) -> list[tuple[int, int]]:
    """Speech as sorted ``(start, end)`` sample spans over consecutive ``chunks``
    (``(first sample, samples)``, as ``WavReader.chunks`` or ``Samples.chunks``
    give).

    ``join=False`` keeps spans that touch apart (a region cut at a chunk edge stays
    two), so none grows past ``options.max_speech_duration_s``. ``fresh_state=False``
    runs Silero with one state over each chunk, as faster-whisper does (see
    ``STATE_S``)."""
    spans: list[tuple[int, int]] = []
    for offset, piece in chunks:
        if piece.size < SAMPLE_RATE // 10:  # Silero needs a few 32 ms frames
            continue
        probabilities = speech_probabilities(piece, STATE_S if fresh_state else inf)
        for first, last in regions(probabilities, piece.size, options):
            start, end = offset + first, offset + last
            if join and spans and start <= spans[-1][1]:  # padding: they touch
                spans[-1] = (spans[-1][0], max(end, spans[-1][1]))
            elif end > start:
                spans.append((start, end))
    return spans


def speech_probabilities(samples: np.ndarray, state_s: float = STATE_S) -> np.ndarray:
    """Silero's speech probability of each ``WINDOW`` of ``samples`` (and of one
    more, zero-padded, as faster-whisper counts them), its state started afresh
    every ``state_s`` seconds, each run warmed up on the ``LEAD_S`` before it."""
    from faster_whisper.vad import get_vad_model

    model = get_vad_model()
    frames = samples.size // WINDOW + 1
    padded = np.zeros(frames * WINDOW, np.float32)
    padded[: samples.size] = samples
    step = frames if state_s == inf else max(1, round(state_s * SAMPLE_RATE / WINDOW))
    lead = round(LEAD_S * SAMPLE_RATE / WINDOW)
    out = np.empty(frames, np.float32)
    for first in range(0, frames, step):
        begin = max(0, first - lead)
        end = min(frames, first + step)
        run = np.asarray(model(padded[begin * WINDOW : end * WINDOW])).reshape(-1)
        out[first:end] = run[first - begin :]
    return out


def regions(
    probabilities: np.ndarray, samples: int, options: VadOptions
) -> list[tuple[int, int]]:
    """Speech as ``(start, end)`` sample spans from frame ``probabilities``, as
    faster-whisper's ``get_speech_timestamps`` finds them (the same thresholds,
    minimum silence, maximum length, minimum length and padding)."""
    rate = SAMPLE_RATE
    on = options.threshold
    off = (
        options.neg_threshold
        if options.neg_threshold is not None
        else max(on - 0.15, 0.01)
    )
    pad = rate * options.speech_pad_ms / 1000
    min_speech = rate * options.min_speech_duration_ms / 1000
    min_silence = rate * options.min_silence_duration_ms / 1000
    max_speech = rate * options.max_speech_duration_s - WINDOW - 2 * pad
    short_silence = rate * 98 / 1000  # a pause a too-long region may be cut at
    found: list[list[int]] = []
    start: int | None = None
    silence_from = 0  # where the current pause began (0: none)
    last_pause_end = next_start = 0  # a place to cut a region grown too long
    for i, probability in enumerate(probabilities):
        here = WINDOW * i
        if probability >= on and silence_from:
            silence_from = 0
            if next_start < last_pause_end:
                next_start = here
        if probability >= on and start is None:
            start = here
            continue
        if start is not None and here - start > max_speech:
            if last_pause_end:
                found.append([start, last_pause_end])
                start = None if next_start < last_pause_end else next_start
            else:
                found.append([start, here])
                start = None
            last_pause_end = next_start = silence_from = 0
            if start is None:
                continue
        if probability < off and start is not None:
            if not silence_from:
                silence_from = here
            if here - silence_from > short_silence:
                last_pause_end = silence_from
            if here - silence_from < min_silence:
                continue
            if silence_from - start > min_speech:
                found.append([start, silence_from])
            start = None
            last_pause_end = next_start = silence_from = 0
    if start is not None and samples - start > min_speech:
        found.append([start, samples])
    for i, span in enumerate(found):
        if i == 0:
            span[0] = int(max(0, span[0] - pad))
        if i < len(found) - 1:
            after = found[i + 1]
            gap = after[0] - span[1]
            if gap < 2 * pad:
                span[1] += int(gap // 2)
                after[0] = int(max(0, after[0] - gap // 2))
            else:
                span[1] = int(min(samples, span[1] + pad))
                after[0] = int(max(0, after[0] - pad))
        else:
            span[1] = int(min(samples, span[1] + pad))
    return [(a, b) for a, b in found]
