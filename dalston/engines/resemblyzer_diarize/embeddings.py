"""Speaker embeddings (Resemblyzer d-vectors) of short windows over the speech.

Resemblyzer's LSTM reads a mel spectrogram of any length; it was trained on 1.6 s
partials. Shorter windows resolve speaker changes better but embed less reliably,
so speech is cut into ``window_s`` windows every ``hop_s``; a region shorter than
a window is embedded whole when it is at least ``min_window_s`` long.
"""

from __future__ import annotations

import threading
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from dalston.audio import SAMPLE_RATE

FRAMES_PER_SECOND = 100  # Resemblyzer's mel hop is 10 ms
TARGET_DBFS = -30.0  # the level Resemblyzer normalises its training audio to
BATCH_SIZE = 32
MEL_CHUNK_FRAMES = 6000  # one minute of features per STFT


@dataclass(frozen=True)
class WindowOptions:
    window_s: float = 1.5
    hop_s: float = 0.75
    min_window_s: float = 0.4


@dataclass(frozen=True)
class Window:
    start: float
    end: float

    @property
    def centre(self) -> float:
        return (self.start + self.end) / 2


def sliding_windows(
    regions: Sequence[tuple[float, float]], options: WindowOptions = WindowOptions()
) -> list[Window]:
    """Windows over each speech region; the last one is aligned to the region end."""
    windows: list[Window] = []
    for start, end in regions:
        length = end - start
        if length < options.min_window_s:
            continue  # too short to embed; resegmentation labels it from neighbours
        if length <= options.window_s:
            windows.append(Window(start, end))
            continue
        count = int(np.ceil((length - options.window_s) / options.hop_s)) + 1
        hop = (length - options.window_s) / (count - 1)  # spread evenly to the end
        windows.extend(
            Window(start + i * hop, start + i * hop + options.window_s)
            for i in range(count)
        )
    return windows


def normalise_level(
    samples: np.ndarray, regions: Sequence[tuple[float, float]]
) -> np.ndarray:
    """Raise quiet recordings to Resemblyzer's training level, measured on speech.

    The mel features are linear power, so level matters; measuring over silence as
    well would over-amplify sparse speech.
    """
    spans = [(int(s * SAMPLE_RATE), int(e * SAMPLE_RATE)) for s, e in regions]
    spans = spans or [(0, samples.size)]
    # Summed span by span: a copy of an hour's speech would cost a GB.
    energy = sum(float(np.dot(samples[a:b], samples[a:b])) for a, b in spans)
    count = sum(samples[a:b].size for a, b in spans)
    rms = float(np.sqrt(energy / max(count, 1)))
    if rms <= 1e-9:
        return samples
    gain = 10 ** ((TARGET_DBFS - 20 * np.log10(rms)) / 20)
    return samples * np.float32(gain) if gain > 1 else samples


class SpeakerEncoder:
    """Resemblyzer's VoiceEncoder: loaded once on first use, shared by threads."""

    def __init__(self, threads: int = 1) -> None:
        # Inference threads per process; more than the cores we own slows it ~20x.
        self.threads = max(1, threads)
        self._lock = threading.Lock()
        self._model: Any = None

    def load(self) -> Any:
        with self._lock:
            if self._model is None:
                import torch

                with warnings.catch_warnings():
                    # resemblyzer imports a scipy module deprecated since 1.8.
                    warnings.simplefilter("ignore", DeprecationWarning)
                    from resemblyzer import VoiceEncoder

                torch.set_num_threads(self.threads)
                model = VoiceEncoder("cpu", verbose=False)
                model.eval()
                # The first mel spectrogram pays librosa's one-off setup (~1 s).
                mel_spectrogram(np.zeros(SAMPLE_RATE, dtype=np.float32))
                self._model = model
            return self._model

    def embed(
        self,
        samples: np.ndarray,
        windows: Sequence[Window],
        check_cancelled: Callable[[], None] = lambda: None,
    ) -> np.ndarray:
        """L2-normalised embeddings, shape ``(len(windows), 256)``."""
        import torch

        model = self.load()
        if not windows:
            return np.zeros((0, 256), dtype=np.float32)
        mel = mel_spectrogram(samples, check_cancelled)
        spans = [_frames(w, len(mel)) for w in windows]
        out = np.zeros((len(windows), 256), dtype=np.float32)
        # The LSTM takes one length per batch: group windows of equal length.
        by_length: dict[int, list[int]] = {}
        for index, (first, last) in enumerate(spans):
            by_length.setdefault(last - first, []).append(index)
        for indices in by_length.values():
            for offset in range(0, len(indices), BATCH_SIZE):
                check_cancelled()
                chunk = indices[offset : offset + BATCH_SIZE]
                batch = np.stack([mel[spans[i][0] : spans[i][1]] for i in chunk])
                with torch.inference_mode():
                    vectors = model(torch.from_numpy(batch)).numpy()
                out[chunk] = vectors
        return out


def mel_spectrogram(
    samples: np.ndarray, check_cancelled: Callable[[], None] = lambda: None
) -> np.ndarray:
    """Resemblyzer's features (power mel, not log), frames of 10 ms: ``(T, 40)``.

    The same as ``resemblyzer.audio.wav_to_mel_spectrogram`` (a centred STFT over
    zero-padded audio), computed a minute at a time: one STFT over an hour of
    audio would hold ~1 GB of complex spectrum.
    """
    import librosa
    from resemblyzer import hparams

    n_fft = SAMPLE_RATE * hparams.mel_window_length // 1000
    hop = SAMPLE_RATE * hparams.mel_window_step // 1000
    padded = np.pad(samples.astype(np.float32, copy=False), n_fft // 2)
    frames = 1 + len(samples) // hop  # what center=True gives
    step = MEL_CHUNK_FRAMES
    chunks = []
    for first in range(0, frames, step):
        check_cancelled()
        last = min(first + step, frames)
        piece = padded[first * hop : (last - 1) * hop + n_fft]
        mel = librosa.feature.melspectrogram(
            y=piece,
            sr=SAMPLE_RATE,
            n_fft=n_fft,
            hop_length=hop,
            n_mels=hparams.mel_n_channels,
            center=False,
        )
        chunks.append(mel.astype(np.float32).T)
    return np.concatenate(chunks) if chunks else np.zeros((0, 40), np.float32)


def _frames(window: Window, total: int) -> tuple[int, int]:
    # Length from the duration, not from two roundings: equal windows batch together.
    length = max(1, round((window.end - window.start) * FRAMES_PER_SECOND))
    first = min(round(window.start * FRAMES_PER_SECOND), max(0, total - length))
    return first, min(first + length, total)
