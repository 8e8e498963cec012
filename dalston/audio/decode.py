"""Any common container / codec to 16 kHz mono float32, or a clear reason why not."""

from __future__ import annotations

import wave
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np

from dalston.errors import InvalidRequest, UnsupportedMedia

SAMPLE_RATE = 16_000
# A stream that ends this much before its header says is called truncated.
_TRUNCATION_TOLERANCE_S = 0.25
_TRUNCATION_TOLERANCE_RATIO = 0.02


@dataclass(frozen=True)
class AudioInfo:
    container: str
    codec: str
    sample_rate: int
    channels: int
    duration_s: float


def _open(path: Path) -> av.container.InputContainer:
    if path.stat().st_size == 0:
        raise InvalidRequest("The uploaded file is empty.", param="file")
    try:
        return av.open(str(path), mode="r")
    except (av.error.FFmpegError, UnicodeDecodeError, ValueError) as exc:
        raise UnsupportedMedia(
            f"The file is not decodable audio: {_reason(exc)}", param="file"
        ) from exc


def _reason(exc: BaseException) -> str:
    return getattr(exc, "strerror", None) or str(exc) or type(exc).__name__


def probe(path: Path) -> AudioInfo:
    """Check that ``path`` holds decodable, complete audio; read its shape.

    Demuxes every packet (cheap: no decoding) to find where the stream really ends,
    so a file cut short in transfer is refused instead of silently transcribed in part.
    """
    with _open(path) as container:
        if not container.streams.audio:
            raise UnsupportedMedia("The file has no audio stream.", param="file")
        stream = container.streams.audio[0]
        ctx = stream.codec_context
        declared = _declared_duration(container, stream)
        end_s = 0.0
        decoded_any = False
        try:
            for packet in container.demux(stream):
                if packet.pts is not None and packet.duration and stream.time_base:
                    end_s = max(
                        end_s, float((packet.pts + packet.duration) * stream.time_base)
                    )
                if not decoded_any and packet.size:
                    decoded_any = bool(packet.decode())
        except av.error.FFmpegError as exc:
            raise InvalidRequest(
                f"The audio is corrupt or truncated: {_reason(exc)}", param="file"
            ) from exc
        if container.format.name == "wav":
            _check_wav_length(path)
        if not decoded_any:
            raise UnsupportedMedia(
                "The file holds no decodable audio frames.", param="file"
            )
        if (
            declared
            and end_s
            and end_s
            < declared
            - max(_TRUNCATION_TOLERANCE_S, declared * _TRUNCATION_TOLERANCE_RATIO)
        ):
            raise InvalidRequest(
                f"The audio is truncated: its header says {declared:.2f} s but the "
                f"data ends at {end_s:.2f} s.",
                param="file",
            )
        return AudioInfo(
            container=container.format.name,
            codec=ctx.name,
            sample_rate=ctx.sample_rate or 0,
            channels=ctx.channels or 0,
            duration_s=end_s or declared or 0.0,
        )


def _check_wav_length(path: Path) -> None:
    """FFmpeg derives a WAV's duration from the file size, so read the RIFF header:
    a ``data`` chunk that promises more bytes than the file holds was cut short."""
    size = path.stat().st_size
    with path.open("rb") as f:
        if f.read(4) != b"RIFF":
            return
        f.seek(12)
        while True:
            header = f.read(8)
            if len(header) < 8:
                return
            chunk_id, chunk_size = header[:4], int.from_bytes(header[4:], "little")
            if chunk_id == b"data":
                # 0 and 0xFFFFFFFF mean "length unknown" (a streamed WAV).
                if chunk_size in (0, 0xFFFFFFFF):
                    return
                present = size - f.tell()
                if present < chunk_size * (1 - _TRUNCATION_TOLERANCE_RATIO):
                    raise InvalidRequest(
                        f"The audio is truncated: its WAV header promises {chunk_size} "
                        f"bytes of samples but the file holds {present}.",
                        param="file",
                    )
                return
            f.seek(chunk_size + (chunk_size & 1), 1)


def _declared_duration(
    container: av.container.InputContainer, stream: av.audio.stream.AudioStream
) -> float | None:
    if stream.duration and stream.time_base:
        return float(stream.duration * stream.time_base)
    if container.duration:
        return container.duration / av.time_base
    return None


def decode_to_mono(
    path: Path, sample_rate: int = SAMPLE_RATE
) -> tuple[np.ndarray, int]:
    """Decode, down-mix and resample to mono float32 in [-1, 1].

    Returns the samples and the source channel count.
    """
    samples, channels = _decode(path, sample_rate, keep_channels=False)
    return samples[0], channels


def decode_channels(path: Path, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """Decode and resample, keeping channels apart: shape (channels, samples)."""
    samples, _ = _decode(path, sample_rate, keep_channels=True)
    return samples


def _decode(
    path: Path, sample_rate: int, *, keep_channels: bool
) -> tuple[np.ndarray, int]:
    chunks: list[np.ndarray] = []
    with _open(path) as container:
        if not container.streams.audio:
            raise UnsupportedMedia("The file has no audio stream.", param="file")
        stream = container.streams.audio[0]
        channels = stream.codec_context.channels or 1
        layout = stream.codec_context.layout.name if keep_channels else "mono"
        resampler = av.AudioResampler(format="fltp", layout=layout, rate=sample_rate)
        try:
            for frame in container.decode(stream):
                chunks.extend(out.to_ndarray() for out in resampler.resample(frame))
            chunks.extend(out.to_ndarray() for out in resampler.resample(None))
        except av.error.FFmpegError as exc:
            raise InvalidRequest(
                f"The audio is corrupt or truncated: {_reason(exc)}", param="file"
            ) from exc
    if not chunks:
        raise UnsupportedMedia(
            "The file holds no decodable audio frames.", param="file"
        )
    return np.concatenate(chunks, axis=1).astype(np.float32, copy=False), channels


def write_wav16k(path: Path, samples: np.ndarray) -> None:
    """16 kHz PCM WAV from (samples,) or (channels, samples) float32."""
    planar = samples.reshape(1, -1) if samples.ndim == 1 else samples
    pcm = (np.clip(planar.T, -1.0, 1.0) * 32767.0).astype("<i2")
    with wave.open(str(path), "wb") as out:
        out.setnchannels(planar.shape[0])
        out.setsampwidth(2)
        out.setframerate(SAMPLE_RATE)
        out.writeframes(pcm.tobytes())


def read_wav16k(path: Path) -> np.ndarray:
    """Samples of a WAV written by ``write_wav16k``: shape (channels, samples)."""
    with wave.open(str(path), "rb") as src:
        if src.getframerate() != SAMPLE_RATE or src.getsampwidth() != 2:
            raise ValueError(f"{path} is not 16 kHz 16-bit PCM")
        count = src.getnchannels()
        pcm = np.frombuffer(src.readframes(src.getnframes()), dtype="<i2")
    return (pcm.reshape(-1, count).T.astype(np.float32)) / 32768.0


@dataclass(frozen=True)
class Pcm16Chunk:
    """Decoded samples at the source's own rate: int16, shape (channels, samples)."""

    samples: np.ndarray
    sample_rate: int


def iter_pcm16(path: Path) -> Iterator[Pcm16Chunk]:
    """Decode without resampling or mixing, one chunk per decoded frame.

    Each source sample maps to one output sample, so an edit over a time span
    leaves every other sample as it was. 16-bit PCM passes through bit-exact;
    other sample formats are converted the way FFmpeg's swresample does (wider
    integers keep their top 16 bits, floats are scaled by 32768, rounded and
    clipped), so a lossless 16-bit source round-trips exactly.
    """
    with _open(path) as container:
        if not container.streams.audio:
            raise UnsupportedMedia("The file has no audio stream.", param="file")
        stream = container.streams.audio[0]
        shape: tuple[int, int] | None = None
        try:
            for frame in container.decode(stream):
                samples = _frame_to_int16(frame)
                if shape is None:
                    shape = (frame.sample_rate, samples.shape[0])
                elif shape != (frame.sample_rate, samples.shape[0]):
                    raise InvalidRequest(
                        "The audio changes its sample rate or channel count "
                        "mid-stream.",
                        param="file",
                    )
                yield Pcm16Chunk(samples=samples, sample_rate=frame.sample_rate)
        except av.error.FFmpegError as exc:
            raise InvalidRequest(
                f"The audio is corrupt or truncated: {_reason(exc)}", param="file"
            ) from exc
        if shape is None:
            raise UnsupportedMedia(
                "The file holds no decodable audio frames.", param="file"
            )


def decode_pcm16(path: Path) -> tuple[np.ndarray, int]:
    """All of ``iter_pcm16``: int16 (channels, samples) and the sample rate."""
    chunks = list(iter_pcm16(path))
    return np.concatenate([c.samples for c in chunks], axis=1), chunks[0].sample_rate


def _frame_to_int16(frame: av.AudioFrame) -> np.ndarray:
    channels = len(frame.layout.channels) or 1
    data: np.ndarray = frame.to_ndarray()
    if not frame.format.is_planar:  # packed: one row of interleaved samples
        data = data.reshape(-1, channels).T
    kind = frame.format.name.rstrip("p")
    if kind == "s16":
        pcm = data
    elif kind in ("s32", "s64"):
        pcm = data >> (data.dtype.itemsize * 8 - 16)
    elif kind == "u8":
        pcm = (data.astype(np.int16) - 128) << 8
    elif kind in ("flt", "dbl"):
        pcm = np.clip(np.rint(data * 32768.0), -32768, 32767)
    else:
        raise UnsupportedMedia(
            f"Unsupported decoded sample format {frame.format.name}.", param="file"
        )
    # Always a fresh, writable array: callers edit samples in place.
    return np.array(pcm, dtype=np.int16)
