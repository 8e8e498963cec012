"""What a container's header says about its audio: read at submit, cheaply.

The request path reads only this: the container is opened, its first audio
stream's parameters and declared duration are read and checked against the
``AudioLimits``, and a WAV whose ``data`` chunk promises more bytes than the file
holds is refused. Nothing is demuxed past what FFmpeg reads to identify the
streams, and nothing is decoded, so a submit costs about the same for a minute
or an hour of audio.

What only the whole file can tell (a stream that ends before its header says,
a last frame cut short, frames that do not decode) is checked by
``dalston.audio.probe`` in the prepare stage, where a failure fails the job.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import av

from dalston.audio.limits import AudioLimits
from dalston.errors import InvalidRequest, UnsupportedMedia

# A WAV ``data`` chunk may fall this short of its declared size (a writer's
# rounding) before the file is called truncated.
TRUNCATION_TOLERANCE_RATIO = 0.02
# How much of a WAV file FFmpeg reads to identify its streams: the header says
# all it needs (FFmpeg's WAV reader walks the chunks itself, however far the
# ``data`` chunk is). Opening a 1.5 s WAV took 2.7-5.2 ms at FFmpeg's default
# (5 MB), 1.3-2.3 ms at 32 KB and 0.2-0.3 ms at 4 KB, with the same stream
# parameters and duration for every WAV of the corpus and tests/data and every
# codec FFmpeg writes in WAV (PCM 8-64 bit, float, A-law, mu-law, ADPCM, MP3,
# RF64); a job opens its audio three times (submit, probe, decode).
_WAV_PROBE_BYTES = 4096


def open_container(source: Path | BinaryIO) -> av.container.InputContainer:
    """FFmpeg's view of ``source`` (a path, or a seekable binary file at 0)."""
    if isinstance(source, Path):
        with source.open("rb") as file:
            head = file.read(12)
            undercounted = head[:4] == b"RIFF" and wav_data_undercounted(
                file, source.stat().st_size
            )
        target: str | BinaryIO = str(source)
    else:
        head = source.read(12)
        undercounted = head[:4] == b"RIFF" and wav_data_undercounted(
            source, source.seek(0, os.SEEK_END)
        )
        source.seek(0)
        target = source
    wav = head[:4] in (b"RIFF", b"RF64") and head[8:12] == b"WAVE"
    options = {"probesize": str(_WAV_PROBE_BYTES)} if wav else {}
    if undercounted:
        options["ignore_length"] = "1"  # the samples run to the end of the file
    return av.open(target, mode="r", options=options or None)


# Bytes after a WAV's ``data`` chunk fewer than this are padding, not samples.
_UNDERCOUNT_MIN_BYTES = 64


def wav_data_undercounted(file: BinaryIO, size: int) -> bool:
    """Whether a RIFF WAV's ``data`` chunk is followed by more bytes than its
    header counts that are no chunk of their own: samples written after the
    header was last updated (a recorder stopped before it rewrote the header).
    FFmpeg and the ``wave`` module stop where the header says; those samples
    are the user's audio too. Leaves the file position anywhere."""
    file.seek(12)
    while True:
        header = file.read(8)
        if len(header) < 8:
            return False
        chunk_id, chunk_size = header[:4], int.from_bytes(header[4:], "little")
        if chunk_id == b"data":
            if chunk_size in (0, 0xFFFFFFFF):
                return False  # "length unknown": read to the end already
            end = file.tell() + chunk_size + (chunk_size & 1)
            if size - end < _UNDERCOUNT_MIN_BYTES:
                return False
            file.seek(end)
            return not _is_chunk(file.read(8), size - end)
        file.seek(chunk_size + (chunk_size & 1), os.SEEK_CUR)


def _is_chunk(header: bytes, room: int) -> bool:
    """A RIFF chunk header: a printable four-character id and a size that fits."""
    if len(header) < 8:
        return False
    size = int.from_bytes(header[4:], "little")
    return all(32 <= b < 127 for b in header[:4]) and 8 + size <= room


@dataclass(frozen=True)
class AudioHeader:
    container: str
    codec: str
    sample_rate: int
    channels: int
    # What the container states; None when it states nothing (a raw stream).
    declared_duration_s: float | None


def read_header(
    source: Path | BinaryIO, limits: AudioLimits | None = None
) -> AudioHeader:
    """The header of ``source`` (a path, or a seekable binary file positioned
    anywhere), checked against ``limits``; the file position is left at 0.

    Raises ``InvalidRequest`` for an empty or cut WAV file, ``UnsupportedMedia``
    for bytes that are not audio or hold no audio stream, and the limits' errors
    for a shape or declared length outside them.
    """
    limits = limits or AudioLimits()
    if isinstance(source, Path):
        with source.open("rb") as file:
            return _read(file, limits)
    try:
        return _read(source, limits)
    finally:
        source.seek(0)


def _read(file: BinaryIO, limits: AudioLimits) -> AudioHeader:
    size = file.seek(0, os.SEEK_END)
    if size == 0:
        raise InvalidRequest("The uploaded file is empty.", param="file")
    file.seek(0)
    try:
        container = open_container(file)
    except (av.error.FFmpegError, UnicodeDecodeError, ValueError) as exc:
        raise UnsupportedMedia(
            f"The file is not decodable audio: {failure_reason(exc)}", param="file"
        ) from exc
    with container:
        if not container.streams.audio:
            raise UnsupportedMedia("The file has no audio stream.", param="file")
        stream = container.streams.audio[0]
        ctx = stream.codec_context
        sample_rate, channels = ctx.sample_rate or 0, ctx.channels or 0
        limits.check_shape(sample_rate=sample_rate, channels=channels)
        declared = declared_duration(container, stream)
        if declared:
            limits.check_duration(declared)
        fmt = container.format.name
    if fmt == "wav":
        check_wav_length(file, size)
    return AudioHeader(
        container=fmt,
        codec=ctx.name,
        sample_rate=sample_rate,
        channels=channels,
        declared_duration_s=declared or None,
    )


def failure_reason(exc: BaseException) -> str:
    """FFmpeg's words for why a file did not open or demux."""
    return getattr(exc, "strerror", None) or str(exc) or type(exc).__name__


def declared_duration(
    container: av.container.InputContainer, stream: av.audio.stream.AudioStream
) -> float | None:
    """The stream's duration as its container states it, in seconds."""
    if stream.duration and stream.time_base:
        return float(stream.duration * stream.time_base)
    if container.duration:
        return container.duration / av.time_base
    return None


def check_wav_length(file: BinaryIO, size: int) -> None:
    """FFmpeg derives a WAV's duration from the file size, so read the RIFF header:
    a ``data`` chunk that promises more bytes than the file holds was cut short,
    and one with no bytes at all holds no audio."""
    file.seek(0)
    if file.read(4) != b"RIFF":
        return
    file.seek(12)
    while True:
        header = file.read(8)
        if len(header) < 8:
            return
        chunk_id, chunk_size = header[:4], int.from_bytes(header[4:], "little")
        if chunk_id == b"data":
            present = size - file.tell()
            if present <= 0 and chunk_size in (0, 0xFFFFFFFF):
                # A header and nothing after it (what a recorder leaves when it
                # stops at once): refused now, not by a job that fails later.
                raise UnsupportedMedia(
                    "The file holds no decodable audio frames.", param="file"
                )
            # 0 and 0xFFFFFFFF mean "length unknown" (a streamed WAV).
            if chunk_size in (0, 0xFFFFFFFF):
                return
            if present < chunk_size * (1 - TRUNCATION_TOLERANCE_RATIO):
                raise InvalidRequest(
                    f"The audio is truncated: its WAV header promises {chunk_size} "
                    f"bytes of samples but the file holds {present}.",
                    param="file",
                )
            return
        file.seek(chunk_size + (chunk_size & 1), os.SEEK_CUR)
