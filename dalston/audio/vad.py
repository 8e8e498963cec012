"""Silero VAD (the ONNX model inside faster-whisper) over audio of any length.

Silero over an hour at once holds ~700 MB of features and probabilities, so the
audio goes through it in chunks of ``CHUNK_S``; a region cut at a chunk edge ends
and restarts at the same instant and is joined again here. Within a chunk the
model runs ``RUN_FRAMES`` frames at a time, its state carried from run to run:
faster-whisper runs it 10,000 frames (320 s) at once, and those runs' activations
took ~245 MB at their peak (the largest part of a long job's memory).

Callers raise a very quiet recording first (``quiet_gain``: one gain for the
whole recording, so the pauses of an ordinary one are never raised to look like
speech).

Silero's recurrent state, carried over a long stretch of a steady sound (a beep,
a tone, music, noise), can stay on "no speech" through the speech that follows:
after a 3 s beep at -13 dBFS none of a 24 s recording's speech was heard, and its
transcript came back empty. So the state is started afresh after every
``RESTART_FRAMES`` (~2 s) of frames none of which sounded like speech (all under
``QUIET_PROBABILITY``): in a pause this changes nothing that matters (a fresh
state is what the recording's first frame gets), and it bounds how long a sound
can lead the state astray. (Started afresh every 10 s whatever it heard, in
2c16fdd, the state also moved the regions of ordinary speech, and diarization's
clustering with them.)
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

import numpy as np

from dalston.audio.decode import SAMPLE_RATE

if TYPE_CHECKING:
    from faster_whisper.vad import VadOptions

CHUNK_S = 600
WINDOW = 512  # samples per Silero frame
CONTEXT = 64  # samples of the frame before, given with each frame
RUN_FRAMES = 1024  # frames per model run (~33 s; the state is carried across)
RESTART_FRAMES = 64  # ~2 s of frames with no speech: the state starts afresh
QUIET_PROBABILITY = 0.35  # faster-whisper's default end-of-speech threshold

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
    restart: bool = True,
) -> list[tuple[int, int]]:
    """Speech as sorted ``(start, end)`` sample spans over consecutive ``chunks``
    (``(first sample, samples)``, as ``WavReader.chunks`` or ``Samples.chunks``
    give).

    ``join=False`` keeps spans that touch apart (a region cut at a chunk edge stays
    two), so none grows past ``options.max_speech_duration_s``. ``restart=False``:
    one state over each chunk, as faster-whisper runs it (see above)."""
    spans: list[tuple[int, int]] = []
    for offset, piece in chunks:
        if piece.size < SAMPLE_RATE // 10:  # Silero needs a few 32 ms frames
            continue
        probabilities = speech_probabilities(piece, restart=restart)
        for first, last in regions(probabilities, piece.size, options):
            start, end = offset + first, offset + last
            if join and spans and start <= spans[-1][1]:  # padding: they touch
                spans[-1] = (spans[-1][0], max(end, spans[-1][1]))
            elif end > start:
                spans.append((start, end))
    return spans


def speech_probabilities(
    samples: np.ndarray, run_frames: int = RUN_FRAMES, *, restart: bool = True
) -> np.ndarray:
    """Silero's speech probability of each ``WINDOW`` of ``samples`` (zero-padded
    by up to one more, as faster-whisper pads them), computed ``run_frames`` at a
    time. ``restart``: the state starts afresh after ``RESTART_FRAMES`` frames
    with no speech; otherwise one state over them all, the probabilities of
    faster-whisper's ``SileroVADModel`` over the padded samples."""
    from faster_whisper.vad import get_vad_model

    session = get_vad_model().session
    frames = samples.size // WINDOW + 1
    whole = samples.size // WINDOW
    rows = np.asarray(samples[: whole * WINDOW], np.float32).reshape(whole, WINDOW)
    last = np.zeros((1, WINDOW), np.float32)  # the rest, zero-padded
    last[0, : samples.size - whole * WINDOW] = samples[whole * WINDOW :]
    h = np.zeros((1, 1, 128), np.float32)
    c = np.zeros((1, 1, 128), np.float32)
    out = np.empty(frames, np.float32)
    step = min(run_frames, RESTART_FRAMES) if restart else run_frames
    for first in range(0, frames, step):
        end = min(frames, first + step)
        tail = last[: max(0, end - whole)]
        frame = np.concatenate([rows[first : min(end, whole)], tail])
        batch = np.empty((end - first, CONTEXT + WINDOW), np.float32)
        batch[:, CONTEXT:] = frame
        # Each frame comes with the end of the frame before (zeros for the first).
        batch[1:, :CONTEXT] = frame[:-1, -CONTEXT:]
        batch[0, :CONTEXT] = rows[first - 1, -CONTEXT:] if first else 0.0
        probabilities, h, c = session.run(None, {"input": batch, "h": h, "c": c})
        out[first:end] = np.asarray(probabilities).reshape(-1)
        if restart and end - first == RESTART_FRAMES:
            if out[first:end].max() < QUIET_PROBABILITY:
                h = np.zeros_like(h)
                c = np.zeros_like(c)
    return out


def regions(
    probabilities: np.ndarray, samples: int, options: VadOptions
) -> list[tuple[int, int]]:
    """Speech as ``(start, end)`` sample spans from frame ``probabilities`` over
    ``samples`` samples, as faster-whisper's ``get_speech_timestamps`` finds them
    (its thresholds, minimum silence, maximum length, minimum length and
    padding; tests/test_vad.py checks they are the same)."""
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
