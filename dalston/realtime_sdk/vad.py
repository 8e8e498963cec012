"""Streaming Silero VAD: the ONNX model that ships inside faster-whisper, fed one
32 ms window at a time with its recurrent state carried between calls.

A stream too quiet for Silero (a microphone's gain set far too low) is raised for
it by the rule a quiet recording is raised by in batch
(``dalston.audio.vad.quiet_gain``), and what Whisper decodes is raised by the
same gain (``StreamingSession``): the same speech is heard through every door.
The stream's loudness is its loudest so far (of its last ``LEVEL_S``, measured
once it has run ``MIN_LEVEL_S``), so the gain only ever falls: a stream that has
once been at an ordinary level is never raised in a long pause, where it would
lift the room's noise and distant voices.

The state starts afresh after each block of ``RESTART_FRAMES`` windows with no
speech, counted from the stream's start, as in batch (``dalston.audio.vad``):
carried through a minute of hold music or a beep it can stay on "no speech"
through the words that follow. A stream and the same audio as a file get the
same probabilities.
"""

from __future__ import annotations

import threading
from collections import deque
from functools import cache

import numpy as np

from dalston.audio.vad import (
    QUIET_PROBABILITY,
    RESTART_FRAMES,
    gain_for_loudness,
    loudness,
)

WINDOW = 512  # samples at 16 kHz = 32 ms
_CONTEXT = 64
LEVEL_S = 60.0
MIN_LEVEL_S = 0.5
_WINDOWS_PER_S = 16000 / WINDOW


@cache
def _session() -> object:
    import onnxruntime
    from faster_whisper.vad import get_vad_model

    # One ONNX session for every stream; each stream keeps its own state.
    model = get_vad_model()
    session = model.session
    assert isinstance(session, onnxruntime.InferenceSession)
    return session


class StreamingVad:
    def __init__(self) -> None:
        self._session = _session()
        self._h = np.zeros((1, 1, 128), dtype=np.float32)
        self._c = np.zeros((1, 1, 128), dtype=np.float32)
        self._context = np.zeros(_CONTEXT, dtype=np.float32)
        self._pending = np.zeros(0, dtype=np.float32)
        self._lock = threading.Lock()
        # RMS of the stream's last windows, for its gain.
        self._levels: deque[float] = deque(maxlen=int(LEVEL_S * _WINDOWS_PER_S))
        self._loudest = 0.0
        self.gain = 1.0
        self._windows = 0  # windows run so far, for the restart blocks
        self._block_max = 0.0  # the highest probability in the current block

    def probabilities(self, samples: np.ndarray) -> np.ndarray:
        """Speech probability of each complete 512-sample window in the stream so
        far (samples left over wait for the next call)."""
        with self._lock:
            data = np.concatenate([self._pending, samples])
            count = len(data) // WINDOW
            self._pending = data[count * WINDOW :]
            self._update_gain(data[: count * WINDOW])
            gain = np.float32(self.gain)
            out = np.zeros(count, dtype=np.float32)
            for i in range(count):
                window = data[i * WINDOW : (i + 1) * WINDOW]
                batch = np.concatenate([self._context, window]).reshape(1, -1)
                if gain != 1:
                    batch = batch * gain
                prob, self._h, self._c = self._session.run(  # type: ignore[attr-defined]
                    None, {"input": batch, "h": self._h, "c": self._c}
                )
                self._context = window[-_CONTEXT:]
                out[i] = float(np.asarray(prob).reshape(-1)[0])
                self._restart_after_quiet(out[i])
            return out

    def _restart_after_quiet(self, probability: float) -> None:
        self._block_max = max(self._block_max, probability)
        self._windows += 1
        if self._windows % RESTART_FRAMES == 0:
            if self._block_max < QUIET_PROBABILITY:
                self._h = np.zeros_like(self._h)
                self._c = np.zeros_like(self._c)
            self._block_max = 0.0

    def _update_gain(self, windows: np.ndarray) -> None:
        if windows.size:
            frames = windows.reshape(-1, WINDOW).astype(np.float64)
            self._levels.extend(np.sqrt(np.mean(frames * frames, axis=1)).tolist())
        if len(self._levels) >= MIN_LEVEL_S * _WINDOWS_PER_S:
            recent = loudness(np.fromiter(self._levels, dtype=np.float64))
            self._loudest = max(self._loudest, recent)
            self.gain = gain_for_loudness(self._loudest)
