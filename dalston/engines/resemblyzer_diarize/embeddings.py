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

from dalston.audio import SAMPLE_RATE, MonoSource, Samples

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


def level_gain(source: MonoSource, regions: Sequence[tuple[float, float]]) -> float:
    """The gain that raises a quiet recording to Resemblyzer's training level,
    measured on speech (1 for one already at or above it).

    The mel features are linear power, so level matters; measuring over silence as
    well would over-amplify sparse speech. Read span by span from the source.
    """
    spans = [(int(s * SAMPLE_RATE), int(e * SAMPLE_RATE)) for s, e in regions]
    spans = spans or [(0, source.frames)]
    energy, count = 0.0, 0
    for a, b in spans:
        for first in range(a, b, SAMPLE_RATE * 60):  # a minute at a time
            piece = source.read(first, min(b, first + SAMPLE_RATE * 60))
            energy += float(np.dot(piece, piece))
            count += piece.size
    rms = float(np.sqrt(energy / max(count, 1)))
    if rms <= 1e-9:
        return 1.0
    gain = 10 ** ((TARGET_DBFS - 20 * np.log10(rms)) / 20)
    return float(max(gain, 1.0))


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
                mel_spectrogram(Samples(np.zeros(SAMPLE_RATE, dtype=np.float32)))
                self._model = model
            return self._model

    def embed(
        self,
        source: MonoSource,
        windows: Sequence[Window],
        check_cancelled: Callable[[], None] = lambda: None,
        gain: float = 1.0,
    ) -> np.ndarray:
        """L2-normalised embeddings of ``windows`` of ``source`` scaled by ``gain``,
        shape ``(len(windows), 256)``."""

        model = self.load()
        if not windows:
            return np.zeros((0, 256), dtype=np.float32)
        total = mel_frame_count(source)
        spans = [_frames(w, total) for w in windows]
        out = np.zeros((len(windows), 256), dtype=np.float32)
        # Features a block of about a minute at a time (windows by start), so
        # only that block's mel is held whatever the recording's length.
        order = sorted(range(len(windows)), key=lambda i: spans[i][0])
        block: list[int] = []
        for index in [*order, None]:
            if index is not None and (
                not block or spans[index][0] < spans[block[0]][0] + MEL_CHUNK_FRAMES
            ):
                block.append(index)
                continue
            first = spans[block[0]][0]
            last = max(spans[i][1] for i in block)
            mel = mel_spectrogram(source, check_cancelled, gain, first, last)
            self._embed_block(model, mel, first, block, spans, out, check_cancelled)
            block = [] if index is None else [index]
        return out

    @staticmethod
    def _embed_block(
        model: Any,
        mel: np.ndarray,
        offset: int,
        indices: list[int],
        spans: Sequence[tuple[int, int]],
        out: np.ndarray,
        check_cancelled: Callable[[], None],
    ) -> None:
        import torch

        # The LSTM takes one length per batch: group windows of equal length.
        by_length: dict[int, list[int]] = {}
        for index in indices:
            first, last = spans[index]
            by_length.setdefault(last - first, []).append(index)
        for group in by_length.values():
            for start in range(0, len(group), BATCH_SIZE):
                check_cancelled()
                chunk = group[start : start + BATCH_SIZE]
                batch = np.stack(
                    [mel[spans[i][0] - offset : spans[i][1] - offset] for i in chunk]
                )
                with torch.inference_mode():
                    out[chunk] = model(torch.from_numpy(batch)).numpy()


def mel_frame_count(source: MonoSource) -> int:
    from resemblyzer import hparams

    return 1 + source.frames // (SAMPLE_RATE * hparams.mel_window_step // 1000)


def mel_spectrogram(
    source: MonoSource,
    check_cancelled: Callable[[], None] = lambda: None,
    gain: float = 1.0,
    first_frame: int = 0,
    last_frame: int | None = None,
) -> np.ndarray:
    """Resemblyzer's features (power mel, not log), frames of 10 ms, of frames
    ``[first_frame, last_frame)`` (default: all): ``(T, 40)``.

    The same as ``resemblyzer.audio.wav_to_mel_spectrogram`` (a centred STFT over
    zero-padded audio) of the samples times ``gain``, computed a minute at a time
    from spans read from ``source``: one STFT over an hour of audio would hold
    ~1 GB of complex spectrum, and the hour itself 230 MB as float32.
    """
    import librosa
    from resemblyzer import hparams

    n_fft = SAMPLE_RATE * hparams.mel_window_length // 1000
    hop = SAMPLE_RATE * hparams.mel_window_step // 1000
    half = n_fft // 2
    frames = mel_frame_count(source)  # what center=True gives
    end = frames if last_frame is None else min(last_frame, frames)
    chunks = []
    for first in range(first_frame, end, MEL_CHUNK_FRAMES):
        check_cancelled()
        last = min(first + MEL_CHUNK_FRAMES, end)
        # Frame f is centred on sample f * hop: it reads [f*hop - half, f*hop + half).
        start, stop = first * hop - half, (last - 1) * hop + n_fft - half
        piece = source.read(max(start, 0), max(stop, 0))
        piece = np.pad(piece, (max(-start, 0), stop - max(start, 0) - piece.size))
        if gain != 1.0:
            piece = piece * np.float32(gain)
        mel = librosa.feature.melspectrogram(
            y=piece.astype(np.float32, copy=False),
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
