"""Incoming realtime audio: PCM s16le / f32le, mu-law, A-law at 8-48 kHz -> 16 kHz
mono float32, chunk by chunk (the resampler keeps its state between chunks)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import av
import numpy as np

from dalston.errors import InvalidRequest

TARGET_RATE = 16_000
MIN_RATE = 8_000
MAX_RATE = 48_000


class Encoding(StrEnum):
    PCM_S16LE = "pcm_s16le"
    PCM_F32LE = "pcm_f32le"
    MULAW = "mulaw"
    ALAW = "alaw"

    @property
    def sample_width(self) -> int:
        return {Encoding.PCM_S16LE: 2, Encoding.PCM_F32LE: 4}.get(self, 1)


@dataclass(frozen=True)
class AudioFormat:
    encoding: Encoding = Encoding.PCM_S16LE
    sample_rate: int = TARGET_RATE

    def __post_init__(self) -> None:
        if not MIN_RATE <= self.sample_rate <= MAX_RATE:
            raise InvalidRequest(
                f"sample_rate must be within {MIN_RATE}..{MAX_RATE} Hz, "
                f"not {self.sample_rate}.",
                param="sample_rate",
            )


def _mulaw_table() -> np.ndarray:
    codes = ~np.arange(256, dtype=np.uint8)
    sign = codes & 0x80
    exponent = (codes >> 4) & 0x07
    mantissa = codes & 0x0F
    magnitude = ((mantissa.astype(np.int32) << 3) + 0x84) << exponent
    values = np.where(sign, 0x84 - magnitude, magnitude - 0x84)
    return (values / 32768.0).astype(np.float32)


def _alaw_table() -> np.ndarray:
    codes = np.arange(256, dtype=np.uint8) ^ 0x55
    sign = codes & 0x80
    exponent = (codes >> 4) & 0x07
    mantissa = (codes & 0x0F).astype(np.int32)
    magnitude = np.where(
        exponent == 0, (mantissa << 4) + 8, ((mantissa << 4) + 0x108) << (exponent - 1)
    )
    values = np.where(sign, magnitude, -magnitude)
    return (values / 32768.0).astype(np.float32)


_MULAW = _mulaw_table()
_ALAW = _alaw_table()


class InvalidAudioFrame(InvalidRequest):
    """A frame that is not audio in the session's encoding; it is dropped."""


class AudioDecoder:
    """Stateful: keeps the resampler's filter across chunks.

    Every frame must hold whole samples of the session's encoding (an odd number
    of bytes is not 16-bit PCM), and float samples must be finite: anything else
    is refused (``InvalidAudioFrame``) rather than decoded as noise.
    """

    def __init__(self, fmt: AudioFormat) -> None:
        self.fmt = fmt
        self._resampler = (
            None
            if fmt.sample_rate == TARGET_RATE
            else av.AudioResampler(format="flt", layout="mono", rate=TARGET_RATE)
        )

    def decode(self, data: bytes) -> np.ndarray:
        encoding = self.fmt.encoding
        width = encoding.sample_width
        if len(data) % width:
            raise InvalidAudioFrame(
                f"An audio frame of {len(data)} bytes is not whole {encoding.value} "
                f"samples ({width} bytes each); the frame was dropped.",
                param="audio",
            )
        if not data:
            return np.zeros(0, dtype=np.float32)
        if encoding is Encoding.PCM_S16LE:
            samples = np.frombuffer(data, dtype="<i2").astype(np.float32) / 32768.0
        elif encoding is Encoding.PCM_F32LE:
            samples = np.frombuffer(data, dtype="<f4").astype(np.float32)
            if not np.isfinite(samples).all():
                raise InvalidAudioFrame(
                    "An audio frame holds samples that are not finite numbers "
                    "(NaN or infinity): it is not pcm_f32le audio; the frame was "
                    "dropped.",
                    param="audio",
                )
            samples = np.clip(samples, -1.0, 1.0)
        elif encoding is Encoding.MULAW:
            samples = _MULAW[np.frombuffer(data, dtype=np.uint8)]
        else:
            samples = _ALAW[np.frombuffer(data, dtype=np.uint8)]
        return self._resample(samples)

    def _resample(self, samples: np.ndarray) -> np.ndarray:
        if self._resampler is None:
            return samples
        frame = av.AudioFrame.from_ndarray(
            samples.reshape(1, -1), format="flt", layout="mono"
        )
        frame.sample_rate = self.fmt.sample_rate
        out = [f.to_ndarray().reshape(-1) for f in self._resampler.resample(frame)]
        return np.concatenate(out) if out else np.zeros(0, dtype=np.float32)
