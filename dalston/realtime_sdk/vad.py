"""Streaming Silero VAD: the ONNX model that ships inside faster-whisper, fed one
32 ms window at a time with its recurrent state carried between calls."""

from __future__ import annotations

import threading
from functools import cache

import numpy as np

WINDOW = 512  # samples at 16 kHz = 32 ms
_CONTEXT = 64


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

    def probabilities(self, samples: np.ndarray) -> np.ndarray:
        """Speech probability of each complete 512-sample window in the stream so
        far (samples left over wait for the next call)."""
        with self._lock:
            data = np.concatenate([self._pending, samples])
            count = len(data) // WINDOW
            self._pending = data[count * WINDOW :]
            out = np.zeros(count, dtype=np.float32)
            for i in range(count):
                window = data[i * WINDOW : (i + 1) * WINDOW]
                batch = np.concatenate([self._context, window]).reshape(1, -1)
                prob, self._h, self._c = self._session.run(  # type: ignore[attr-defined]
                    None, {"input": batch, "h": self._h, "c": self._c}
                )
                self._context = window[-_CONTEXT:]
                out[i] = float(np.asarray(prob).reshape(-1)[0])
            return out
