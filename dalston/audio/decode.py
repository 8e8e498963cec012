"""Any common container / codec to 16 kHz mono float32, or a clear reason why not."""

from __future__ import annotations

import wave
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np

from dalston.audio.downmix import StereoDownmix
from dalston.audio.header import (
    TRUNCATION_TOLERANCE_RATIO,
    check_wav_length,
    declared_duration,
    failure_reason,
    open_container,
    wav_data_undercounted,
)
from dalston.audio.limits import AudioLimits
from dalston.errors import InvalidRequest, UnsupportedMedia

SAMPLE_RATE = 16_000
# A stream that ends this much before its header says is called truncated.
_TRUNCATION_TOLERANCE_S = 0.25


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
        return open_container(path)
    except (av.error.FFmpegError, UnicodeDecodeError, ValueError) as exc:
        raise UnsupportedMedia(
            f"The file is not decodable audio: {failure_reason(exc)}", param="file"
        ) from exc


def probe(path: Path, limits: AudioLimits | None = None) -> AudioInfo:
    """Check that ``path`` holds decodable, complete audio within ``limits``; read
    its shape.

    The declared shape is checked before anything is read past the header. Then
    every packet is demuxed (cheap: no decoding) to find where the stream really
    ends, so a file cut short in transfer is refused instead of silently
    transcribed in part, and a stream longer than its header says is refused as
    soon as it passes the limit.
    """
    limits = limits or AudioLimits()
    with _open(path) as container:
        if not container.streams.audio:
            raise UnsupportedMedia("The file has no audio stream.", param="file")
        stream = container.streams.audio[0]
        ctx = stream.codec_context
        limits.check_shape(sample_rate=ctx.sample_rate or 0, channels=ctx.channels or 0)
        declared = declared_duration(container, stream)
        if declared:
            limits.check_duration(declared)
        end_s = 0.0
        decoded_any = False
        last: bytes = b""
        try:
            for packet in container.demux(stream):
                if packet.pts is not None and packet.duration and stream.time_base:
                    end_s = max(
                        end_s, float((packet.pts + packet.duration) * stream.time_base)
                    )
                    limits.check_duration(end_s)
                if not packet.size:
                    continue
                last = bytes(packet)
                if not decoded_any:
                    decoded_any = bool(packet.decode())
        except av.error.FFmpegError as exc:
            raise InvalidRequest(
                f"The audio is corrupt or truncated: {failure_reason(exc)}",
                param="file",
            ) from exc
        if container.format.name == "wav":
            with path.open("rb") as file:
                check_wav_length(file, path.stat().st_size)
        if not decoded_any:
            raise UnsupportedMedia(
                "The file holds no decodable audio frames.", param="file"
            )
        if _frame_cut_short(ctx.name, last):
            raise InvalidRequest(
                "The audio is truncated: its last frame is cut short.", param="file"
            )
        if (
            declared
            and end_s
            and end_s
            < declared
            - max(_TRUNCATION_TOLERANCE_S, declared * TRUNCATION_TOLERANCE_RATIO)
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


# MPEG audio frame headers: kbit/s by (version is MPEG-1, layer) and bitrate index.
_MPEG1_KBPS = {
    1: (0, 32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448),
    2: (0, 32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384),
    3: (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320),
}
_MPEG2_KBPS = {
    1: (0, 32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256),
    2: (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),
    3: (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),
}
_MPEG_RATES = {
    3: (44100, 48000, 32000),
    2: (22050, 24000, 16000),
    0: (11025, 12000, 8000),
}


def _frame_cut_short(codec: str, packet: bytes) -> bool:
    """Whether a self-delimiting frame (MPEG audio, ADTS AAC) holds fewer bytes
    than its own header announces: the file ended in the middle of it.

    Such streams carry no total length (an MP3 without a Xing header, raw AAC),
    so the last frame is the only witness of a file cut short.
    """
    expected = None
    if codec in ("mp1", "mp2", "mp3", "mp3float") and len(packet) >= 4:
        expected = _mpeg_frame_length(packet)
    elif codec == "aac" and len(packet) >= 7 and packet[0] == 0xFF:
        if packet[1] & 0xF6 == 0xF0:  # ADTS sync word, layer 0
            expected = ((packet[3] & 0x03) << 11) | (packet[4] << 3) | (packet[5] >> 5)
    return expected is not None and len(packet) < expected


def _mpeg_frame_length(header: bytes) -> int | None:
    if header[0] != 0xFF or header[1] & 0xE0 != 0xE0:
        return None
    version = (header[1] >> 3) & 0x03  # 3: MPEG-1, 2: MPEG-2, 0: MPEG-2.5
    layer = 4 - ((header[1] >> 1) & 0x03)  # 1, 2 or 3 (4: reserved)
    bitrate_index = header[2] >> 4
    rate_index = (header[2] >> 2) & 0x03
    padding = (header[2] >> 1) & 0x01
    if version == 1 or layer == 4 or rate_index == 3 or bitrate_index in (0, 15):
        return None  # reserved, or free format: no length in the header
    table = _MPEG1_KBPS if version == 3 else _MPEG2_KBPS
    bitrate = table[layer][bitrate_index] * 1000
    rate = _MPEG_RATES[version][rate_index]
    if layer == 1:
        return (12 * bitrate // rate + padding) * 4
    per_frame = 144 if version == 3 or layer == 2 else 72
    return per_frame * bitrate // rate + padding


def decode_to_mono(
    path: Path, sample_rate: int = SAMPLE_RATE, limits: AudioLimits | None = None
) -> tuple[np.ndarray, int]:
    """Decode, down-mix and resample to mono float32 in [-1, 1].

    Returns the samples and the source channel count.
    """
    samples, channels = _decode(path, sample_rate, keep_channels=False, limits=limits)
    return samples[0], channels


def decode_channels(
    path: Path, sample_rate: int = SAMPLE_RATE, limits: AudioLimits | None = None
) -> np.ndarray:
    """Decode and resample, keeping channels apart: shape (channels, samples)."""
    samples, _ = _decode(path, sample_rate, keep_channels=True, limits=limits)
    return samples


@dataclass(frozen=True)
class DecodedWav:
    source_channels: int
    channels: int  # kept in the WAV
    samples: int  # per channel

    @property
    def duration_s(self) -> float:
        return self.samples / SAMPLE_RATE


def decode_to_wav16k(
    path: Path,
    out: Path,
    *,
    keep_channels: bool = False,
    limits: AudioLimits | None = None,
) -> DecodedWav:
    """Decode, resample (and down-mix unless ``keep_channels``) into a 16 kHz PCM
    WAV, frame by frame: memory stays flat whatever the audio's length. A WAV
    already in that form is copied as it is (bit-exact, nothing decoded)."""
    limits = limits or AudioLimits()
    copied = _copy_prepared_wav(path, out, keep_channels=keep_channels, limits=limits)
    if copied is not None:
        return copied
    written = 0
    with _Frames(path, SAMPLE_RATE, keep_channels, limits) as frames:
        with wave.open(str(out), "wb") as sink:
            sink.setnchannels(frames.out_channels)
            sink.setsampwidth(2)
            sink.setframerate(SAMPLE_RATE)
            for chunk in frames:
                sink.writeframes(_to_pcm16(chunk))
                written += chunk.shape[1]
        if not written:
            raise UnsupportedMedia(
                "The file holds no decodable audio frames.", param="file"
            )
        return DecodedWav(
            source_channels=frames.source_channels,
            channels=frames.out_channels,
            samples=written,
        )


# Frames copied at a time from a WAV that is already 16 kHz 16-bit PCM.
_COPY_FRAMES = 1 << 16


def _copy_prepared_wav(
    path: Path, out: Path, *, keep_channels: bool, limits: AudioLimits
) -> DecodedWav | None:
    """A plain PCM WAV at 16 kHz, 16 bits, mono (or any channels, when they are
    kept): its samples copied into ``out`` chunk by chunk. ``None`` for anything
    else (other rates, widths or formats, stereo to mix down, an extensible or
    odd header the ``wave`` module does not read, no samples): decoded instead.
    The probe has already checked the file against its header."""
    with path.open("rb") as file:
        if file.read(4) == b"RIFF" and wav_data_undercounted(file, path.stat().st_size):
            return None  # samples past the header's count: FFmpeg reads them
    try:
        source = wave.open(str(path), "rb")
    except (wave.Error, EOFError, OSError):
        return None
    with source:
        channels = source.getnchannels()
        if (
            source.getframerate() != SAMPLE_RATE
            or source.getsampwidth() != 2
            or source.getcomptype() != "NONE"
            or source.getnframes() == 0
            or (channels != 1 and not keep_channels)
        ):
            return None
        cap = limits.max_output_samples(SAMPLE_RATE)
        written = 0
        with wave.open(str(out), "wb") as sink:
            sink.setnchannels(channels)
            sink.setsampwidth(2)
            sink.setframerate(SAMPLE_RATE)
            while chunk := source.readframes(_COPY_FRAMES):
                written += len(chunk) // (2 * channels)
                if written > cap:
                    raise limits.decoded_too_long()
                sink.writeframes(chunk)
    if not written:
        return None
    return DecodedWav(source_channels=channels, channels=channels, samples=written)


def _decode(
    path: Path,
    sample_rate: int,
    *,
    keep_channels: bool,
    limits: AudioLimits | None = None,
) -> tuple[np.ndarray, int]:
    with _Frames(path, sample_rate, keep_channels, limits) as frames:
        chunks = list(frames)
        if not chunks:
            raise UnsupportedMedia(
                "The file holds no decodable audio frames.", param="file"
            )
        samples = np.concatenate(chunks, axis=1).astype(np.float32, copy=False)
        return samples, frames.source_channels


class _Frames:
    """Resampled float32 chunks, shape (channels, n), of a file's first audio
    stream; stops with an error once the output passes ``limits``."""

    def __init__(
        self,
        path: Path,
        sample_rate: int,
        keep_channels: bool,
        limits: AudioLimits | None,
    ) -> None:
        self.limits = limits or AudioLimits()
        self.sample_rate = sample_rate
        self.container = _open(path)
        if not self.container.streams.audio:
            self.container.close()
            raise UnsupportedMedia("The file has no audio stream.", param="file")
        self.stream = self.container.streams.audio[0]
        ctx = self.stream.codec_context
        try:
            self.limits.check_shape(
                sample_rate=ctx.sample_rate or 0, channels=ctx.channels or 0
            )
        except BaseException:
            self.container.close()
            raise
        self.source_channels = ctx.channels or 1
        self.out_channels = self.source_channels if keep_channels else 1
        layout = ctx.layout.name if keep_channels else "mono"
        # Two channels are mixed here, not by FFmpeg (``downmix``: no clipping,
        # and a channel wired with its polarity inverted does not cancel the other).
        self.downmix = None
        if not keep_channels and self.source_channels == 2:
            self.downmix = StereoDownmix(sample_rate)
            layout = "stereo"
        self.resampler = av.AudioResampler(
            format="fltp", layout=layout, rate=sample_rate
        )

    def __enter__(self) -> _Frames:
        return self

    def __exit__(self, *exc: object) -> None:
        self.container.close()

    def __iter__(self) -> Iterator[np.ndarray]:
        if self.downmix is None:
            yield from self._resampled()
            return
        for chunk in self._resampled():
            yield from self.downmix.push(chunk)
        yield from self.downmix.finish()

    def _resampled(self) -> Iterator[np.ndarray]:
        cap = self.limits.max_output_samples(self.sample_rate)
        produced = 0
        try:
            for frame in self.container.decode(self.stream):
                for out in self.resampler.resample(frame):
                    chunk = out.to_ndarray()
                    produced += chunk.shape[1]
                    if produced > cap:
                        raise self.limits.decoded_too_long()
                    yield chunk
            for out in self.resampler.resample(None):
                yield out.to_ndarray()
        except av.error.FFmpegError as exc:
            raise InvalidRequest(
                f"The audio is corrupt or truncated: {failure_reason(exc)}",
                param="file",
            ) from exc


def _to_pcm16(planar: np.ndarray) -> bytes:
    return bytes((np.clip(planar.T, -1.0, 1.0) * 32767.0).astype("<i2").tobytes())


def write_wav16k(path: Path, samples: np.ndarray) -> None:
    """16 kHz PCM WAV from (samples,) or (channels, samples) float32."""
    planar = samples.reshape(1, -1) if samples.ndim == 1 else samples
    with wave.open(str(path), "wb") as out:
        out.setnchannels(planar.shape[0])
        out.setsampwidth(2)
        out.setframerate(SAMPLE_RATE)
        out.writeframes(_to_pcm16(planar))


def read_wav16k(path: Path) -> np.ndarray:
    """Samples of a WAV written by ``write_wav16k``: shape (channels, samples)."""
    with wave.open(str(path), "rb") as src:
        if src.getframerate() != SAMPLE_RATE or src.getsampwidth() != 2:
            raise ValueError(f"{path} is not 16 kHz 16-bit PCM")
        count = src.getnchannels()
        pcm = np.frombuffer(src.readframes(src.getnframes()), dtype="<i2")
    planar = pcm.reshape(-1, count).T
    out = np.empty(planar.shape, dtype=np.float32)  # one float copy, not two
    np.multiply(planar, np.float32(1 / 32768), out=out, casting="unsafe")
    return out


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
                f"The audio is corrupt or truncated: {failure_reason(exc)}",
                param="file",
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
