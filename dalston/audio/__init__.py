"""Audio probing and decoding with PyAV (FFmpeg bundled in the wheel)."""

from dalston.audio.decode import (
    SAMPLE_RATE,
    AudioInfo,
    Pcm16Chunk,
    decode_channels,
    decode_pcm16,
    decode_to_mono,
    iter_pcm16,
    probe,
    read_wav16k,
    write_wav16k,
)

__all__ = [
    "SAMPLE_RATE",
    "AudioInfo",
    "Pcm16Chunk",
    "decode_channels",
    "decode_pcm16",
    "decode_to_mono",
    "iter_pcm16",
    "probe",
    "read_wav16k",
    "write_wav16k",
]
